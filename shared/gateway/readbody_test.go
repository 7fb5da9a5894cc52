package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawExchange writes head and body to the gateway over one TCP connection, half-closes it when
// closeWrite is set, and returns the response.
func rawExchange(t *testing.T, addr, head, body string, closeWrite bool) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestReadBodyByDeclaredLength pins how a request body is read, through net/http's own server: a
// declared length is read exactly (the request is served), a body that ends before its declared
// length is a 400 that says the body could not be read (and Gemini is not called), and a chunked
// body is cut off at the limit with a 413.
func TestReadBodyByDeclaredLength(t *testing.T) {
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	g := newGateway(t, up, nil) // MaxBodyBytes 1 MiB
	addr := strings.TrimPrefix(g.srv.URL, "http://")
	body := `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`
	head := func(extra string) string {
		return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey +
			"\r\nContent-Type: application/json\r\n" + extra + "\r\n"
	}

	resp, b := rawExchange(t, addr, head(fmt.Sprintf("Content-Length: %d\r\n", len(body))), body, false)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `"chat.completion"`) {
		t.Errorf("declared length: %d %s", resp.StatusCode, b)
	}
	calls := up.calls.Load()

	resp, b = rawExchange(t, addr, head(fmt.Sprintf("Content-Length: %d\r\n", len(body)+10)), body, true)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "could not read the request body") {
		t.Errorf("body shorter than declared: %d %s", resp.StatusCode, b)
	}
	if n := up.calls.Load(); n != calls {
		t.Errorf("Gemini was called for a body shorter than declared")
	}

	big := strings.Repeat("x", 1<<20+1)
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big)
	resp, b = rawExchange(t, addr, head("Transfer-Encoding: chunked\r\n"), chunked, false)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(b, "limit of 1048576 bytes") {
		t.Errorf("chunked body over the limit: %d %.200s", resp.StatusCode, b)
	}
}
