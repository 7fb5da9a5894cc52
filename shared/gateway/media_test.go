package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/media"
)

// mediaServer is a loopback media host. Paths: /slow… hold the request until the client goes,
// /missing… answer 404, /page… serve HTML, anything else a PNG-looking body of ?size= bytes
// (default 1 KiB). It counts requests, requests in flight and requests that saw their context
// end.
type mediaServer struct {
	srv                       *httptest.Server
	hits, inFlight, cancelled atomic.Int64
}

func newMediaServer(t *testing.T) *mediaServer {
	m := &mediaServer{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		m.inFlight.Add(1)
		defer m.inFlight.Add(-1)
		switch {
		case strings.HasPrefix(r.URL.Path, "/slow"):
			<-r.Context().Done()
			m.cancelled.Add(1)
		case strings.HasPrefix(r.URL.Path, "/missing"):
			w.WriteHeader(http.StatusNotFound)
		case strings.HasPrefix(r.URL.Path, "/page"):
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>not an image</html>")
		default:
			size, err := strconv.Atoi(r.URL.Query().Get("size"))
			if err != nil {
				size = 1 << 10
			}
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(pngOf(size))
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// pngOf returns size bytes that start like a PNG.
func pngOf(size int) []byte {
	b := bytes.Repeat([]byte{0xA5, 0x3C, 0x7E}, size/3+1)[:size]
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

// imageRequest is a chat request whose one user message has a text part and an image_url part
// per URL.
func imageRequest(urls ...string) string {
	parts := []map[string]any{{"type": "text", "text": "Compare"}}
	for _, u := range urls {
		parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": u}})
	}
	b, _ := json.Marshal(map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": parts}}})
	return string(b)
}

// fetching sets a fetcher that may reach loopback, with opts.
func fetching(opts media.Options) func(*gateway.Options) {
	return func(o *gateway.Options) {
		opts.AllowPrivate = true
		o.Fetcher = media.NewFetcher(opts)
		o.FetchHTTPMedia = true
	}
}

// TestMediaBudgetsRefusedBeforeUpstream pins the per-request budgets: too many URLs is a 413
// naming the limit before any fetch, too many bytes in all a 413 naming the limit; Gemini is
// never called.
func TestMediaBudgetsRefusedBeforeUpstream(t *testing.T) {
	ms := newMediaServer(t)
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	g := newGateway(t, up, fetching(media.Options{MaxURLs: 2, MaxTotalBytes: 1 << 20, Concurrency: 1}))

	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(ms.srv.URL+"/a.png", ms.srv.URL+"/b.png", ms.srv.URL+"/c.png"))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "limit of 2") || !strings.Contains(string(b), "request_too_large") {
		t.Errorf("3 URLs at a limit of 2: %d %s", resp.StatusCode, b)
	}
	if n := ms.hits.Load(); n != 0 {
		t.Errorf("media server saw %d requests for a refused count, want 0", n)
	}

	big := ms.srv.URL + "/big.png?size=" + strconv.Itoa(600<<10)
	resp = rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(big, big))
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "limit of 1048576 bytes") {
		t.Errorf("2 × 600 KiB at a total of 1 MiB: %d %s", resp.StatusCode, b)
	}
	if n := up.calls.Load(); n != 0 {
		t.Errorf("Gemini was called %d times for refused requests", n)
	}
}

// TestFetchedImageIsSentAsItsDataURI pins the streamed base64 path: an image fetched from a URL
// reaches Gemini byte for byte as the same image sent as a data URI (the established path), for
// a small image and for one large enough that the data URI is lifted.
func TestFetchedImageIsSentAsItsDataURI(t *testing.T) {
	ms := newMediaServer(t)
	var mu sync.Mutex
	var raw [][]byte
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		raw = append(raw, b)
		mu.Unlock()
		jsonResponse(thoughtfulAnswer)(w, r)
	})
	g := newGateway(t, up, fetching(media.Options{}))
	for _, size := range []int{1000, 300 << 10} {
		dataURI := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngOf(size))
		for _, u := range []string{dataURI, ms.srv.URL + "/img?size=" + strconv.Itoa(size)} {
			resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(u))
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("size %d: %d %s", size, resp.StatusCode, b)
			}
		}
		mu.Lock()
		viaData, viaURL := raw[len(raw)-2], raw[len(raw)-1]
		mu.Unlock()
		if !bytes.Equal(viaData, viaURL) {
			t.Errorf("size %d: upstream bodies differ (%d bytes via data URI, %d via URL)", size, len(viaData), len(viaURL))
		}
	}
}

// TestSlowMediaIsTheClientsError pins issue 12 item 4: an image_url slower than the media
// timeout is a 400 that says it could not be fetched in time and names the part, not a 504
// "Gemini did not answer in time"; Gemini is not called.
func TestSlowMediaIsTheClientsError(t *testing.T) {
	ms := newMediaServer(t)
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	g := newGateway(t, up, fetching(media.Options{Timeout: 200 * time.Millisecond}))
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest("data:image/png;base64,iVBORw0KGgo=", ms.srv.URL+"/slow.png"))
	b, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error struct{ Message, Code, Param string }
	}
	_ = json.Unmarshal(b, &eb)
	if resp.StatusCode != http.StatusBadRequest || eb.Error.Code != "invalid_request" || eb.Error.Param != "messages[0].content[2]" ||
		!strings.Contains(eb.Error.Message, "in time") {
		t.Errorf("slow media: %d %s", resp.StatusCode, b)
	}
	if n := up.calls.Load(); n != 0 {
		t.Errorf("Gemini was called %d times", n)
	}
}

// TestMediaURLsAreRedactedInLogs pins issue 12 item 5: a failed media URL's userinfo, query and
// fragment never reach the log (or the error body), whether the fetch failed, timed out, was
// refused by the address guard, or served something that is not media.
func TestMediaURLsAreRedactedInLogs(t *testing.T) {
	ms := newMediaServer(t)
	hostPort := strings.TrimPrefix(ms.srv.URL, "http://")
	secret := "?X-Amz-Signature=sig-SECRET1&token=tok-SECRET2#frag-SECRET3"
	for _, tc := range []struct {
		name, url string
		private   bool
	}{
		{"fetch error", "http://user:pw-SECRET4@" + hostPort + "/missing.png" + secret, true},
		{"timeout", "http://user:pw-SECRET4@" + hostPort + "/slow.png" + secret, true},
		{"refused", "http://user:pw-SECRET4@" + hostPort + "/a.png" + secret, false},
		{"not media", ms.srv.URL + "/page.png" + secret, true},
		{"unreachable", "http://user:pw-SECRET4@127.0.0.1:1/a.png" + secret, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			up := newUpstream(t, jsonResponse(thoughtfulAnswer))
			g := newGateway(t, up, func(o *gateway.Options) {
				o.Fetcher = media.NewFetcher(media.Options{AllowPrivate: tc.private, Timeout: 200 * time.Millisecond})
				o.FetchHTTPMedia = true
				o.Logger = gateway.NewLogger(&logs, slog.LevelDebug)
			})
			resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(tc.url))
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status %d %s, want a 4xx", resp.StatusCode, b)
			}
			g.srv.Close() // the log line is written when the handler returns
			named := strings.Contains(logs.String(), "/a.png") || strings.Contains(logs.String(), hostPort)
			if !strings.Contains(logs.String(), "error_code") || !named && tc.name != "not media" {
				t.Fatalf("no error naming the redacted URL logged: %s", logs.String())
			}
			for _, where := range []string{logs.String(), string(b)} {
				if strings.Contains(where, "SECRET") {
					t.Errorf("a secret part of the URL leaked:\n%s", where)
				}
			}
		})
	}
}

// TestClientLeavingStopsMediaFetching pins that fetching stops when the client goes: the
// media server sees its in-flight requests cancelled, no further fetch starts, and Gemini is
// never called.
func TestClientLeavingStopsMediaFetching(t *testing.T) {
	ms := newMediaServer(t)
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	env := newFaultEnv(t, up, faultOpts{mod: fetching(media.Options{Concurrency: 2})})
	urls := make([]string, 6)
	for i := range urls {
		urls[i] = ms.srv.URL + "/slow" + strconv.Itoa(i) + ".png"
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		resp, err := env.post(ctx, imageRequest(urls...))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for end := time.Now().Add(liveness); ms.inFlight.Load() < 2; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the fetches did not start")
		}
	}
	cancel()
	<-done
	env.waitHandlers(t, 1)
	// The media server sees each cancellation when net/http notices the closed connection,
	// which can come after the gateway's handler has returned: wait for its handlers to end.
	for end := time.Now().Add(liveness); ms.inFlight.Load() > 0 && time.Now().Before(end); time.Sleep(time.Millisecond) {
	}
	if c := ms.cancelled.Load(); c != 2 {
		t.Errorf("media server saw %d requests cancelled, want the 2 in flight", c)
	}
	if h := ms.hits.Load(); h != 2 {
		t.Errorf("media server saw %d requests, want 2: none may start after the client left", h)
	}
	if n := up.calls.Load(); n != 0 {
		t.Errorf("Gemini was called %d times", n)
	}
}

// TestURLOfUnknownTypeIsNotFetchedWhenFetchingIsOff pins the Vertex policy (issue 12 item 1):
// with GATEWAY_FETCH_HTTP_MEDIA=false a URL without a telling extension is refused with a 400
// that says what to do, and is not fetched to sniff its type; one with an extension or a type
// hint is passed to Gemini as fileData without a fetch.
func TestURLOfUnknownTypeIsNotFetchedWhenFetchingIsOff(t *testing.T) {
	ms := newMediaServer(t)
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	g := newGateway(t, up, func(o *gateway.Options) {
		o.Fetcher = media.NewFetcher(media.Options{AllowPrivate: true})
		o.FetchHTTPMedia = false
	})
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(ms.srv.URL+"/render?id=1"))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "file extension") || !strings.Contains(string(b), "messages[0].content[1]") {
		t.Errorf("URL without extension: %d %s", resp.StatusCode, b)
	}
	resp = rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, imageRequest(ms.srv.URL+"/photo.png"))
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("URL with extension: %d %s", resp.StatusCode, b)
	} else if fd := part(up.lastBody(), 0, 1)["fileData"]; fd == nil {
		t.Errorf("URL with extension: part %v, want fileData", part(up.lastBody(), 0, 1))
	}
	if n := ms.hits.Load(); n != 0 {
		t.Errorf("media server saw %d requests with fetching off, want 0", n)
	}
}
