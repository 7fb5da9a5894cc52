package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Sample bodies that http.DetectContentType recognises (or, for unknown,
// does not).
var (
	pngBytes     = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...)
	wavBytes     = append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 32)...)
	unknownBytes = []byte("\x00\x01\x02\x03\x04 no magic number here")
	textBytes    = []byte("hello, plain world\n")
)

// counted wraps a handler and counts the requests that reached it.
type counted struct {
	hits atomic.Int64
	h    http.Handler
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(1)
	c.h.ServeHTTP(w, r)
}

// startServer starts a loopback server and returns it with its hit counter.
func startServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *counted) {
	t.Helper()
	c := &counted{h: h}
	s := httptest.NewServer(c)
	t.Cleanup(s.Close)
	return s, c
}

// redirector redirects to its ?to= parameter, or serves a PNG.
func redirector(w http.ResponseWriter, r *http.Request) {
	if to := r.URL.Query().Get("to"); to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(pngBytes)
}

// newTestFetcher builds a Fetcher that treats exactly the given loopback
// servers as public hosts (the test seam); every other address goes through
// the production check.
func newTestFetcher(t *testing.T, opts Options, public ...*httptest.Server) *Fetcher {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	f := NewFetcher(opts)
	allowed := make(map[netip.AddrPort]bool)
	for _, s := range public {
		allowed[netip.MustParseAddrPort(s.Listener.Addr().String())] = true
	}
	f.treatAsPublic = func(ap netip.AddrPort) bool { return allowed[ap] }
	return f
}

func port(s *httptest.Server) string {
	return strconv.Itoa(int(netip.MustParseAddrPort(s.Listener.Addr().String()).Port()))
}

func wantKind(t *testing.T, err error, want Kind) *Error {
	t.Helper()
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("err = %v (%T), want *media.Error of kind %v", err, err, want)
	}
	if me.Kind != want {
		t.Fatalf("err kind = %v (%v), want %v", me.Kind, me, want)
	}
	return me
}

// TestFetchRefusesPrivateTargets pins that loopback, mapped, unspecified and
// privately resolving names are refused at dial time, before any request
// reaches the server listening there. Every target is on loopback and names
// resolve through a fake DNS server on loopback, so a broken guard fails the
// test without a packet leaving the machine.
func TestFetchRefusesPrivateTargets(t *testing.T) {
	srv, hits := startServer(t, redirector)
	p := port(srv)
	resolver := fakeResolver(t, map[string]string{
		"private.example.test":  "127.0.0.2",
		"private6.example.test": "::1",
	})
	f := newTestFetcher(t, Options{Resolver: resolver})

	for _, target := range []string{
		"http://127.0.0.1:" + p + "/a.png",
		"http://127.0.0.2:" + p + "/",
		"http://[::1]:" + p + "/",
		"http://localhost:" + p + "/",
		"http://private.example.test:" + p + "/",
		"http://private6.example.test:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/",
		"http://[::ffff:7f00:1]:" + p + "/",
		"http://0.0.0.0:" + p + "/",
		"http://[::]:" + p + "/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://metadata/computeMetadata/v1/",
		"https://127.0.0.1:" + p + "/",
	} {
		t.Run(target, func(t *testing.T) {
			_, err := f.Fetch(t.Context(), target)
			wantKind(t, err, Refused)
		})
	}
	if n := hits.hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

// TestFetchRedirectIsCheckedOnEveryHop pins that a public server cannot
// bounce the fetcher to an internal address: each hop is dialled anew and
// judged in the dial hook, however the Location names the target.
func TestFetchRedirectIsCheckedOnEveryHop(t *testing.T) {
	pub, pubHits := startServer(t, redirector)
	pub2, _ := startServer(t, redirector)
	priv, privHits := startServer(t, redirector)
	resolver := fakeResolver(t, map[string]string{
		"private.example.test":     "127.0.0.1",
		"metadata.google.internal": "127.0.0.1", // only the name check stands in the way
	})
	f := newTestFetcher(t, Options{Resolver: resolver}, pub, pub2)

	via := func(s *httptest.Server, to string) string {
		return s.URL + "/hop?to=" + url.QueryEscape(to)
	}
	refused := []struct{ name, url string }{
		{"loopback literal", via(pub, priv.URL+"/secret")},
		{"localhost", via(pub, "http://localhost:"+port(priv)+"/secret")},
		{"name resolving to loopback", via(pub, "http://private.example.test:"+port(priv)+"/secret")},
		{"IPv4-mapped literal", via(pub, "http://[::ffff:127.0.0.1]:"+port(priv)+"/secret")},
		{"metadata name", via(pub, "http://metadata.google.internal:"+port(priv)+"/computeMetadata/v1/")},
		{"second hop", via(pub, via(pub2, priv.URL+"/secret"))},
		{"non-HTTP scheme", via(pub, "ftp://example.com/file.png")},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Fetch(t.Context(), tt.url)
			wantKind(t, err, Refused)
		})
	}
	if n := privHits.hits.Load(); n != 0 {
		t.Errorf("private server saw %d requests, want 0", n)
	}
	if n := pubHits.hits.Load(); n < int64(len(refused)) {
		t.Errorf("public server saw %d requests, want at least %d (the redirects must have been served)", n, len(refused))
	}

	// The seam is not a blanket pass: a redirect between public hosts works.
	m, err := f.Fetch(t.Context(), via(pub, via(pub2, pub.URL+"/final")))
	if err != nil {
		t.Fatalf("public redirect chain: %v", err)
	}
	if m.MIMEType != "image/png" || !bytes.Equal(m.Data, pngBytes) {
		t.Errorf("public redirect chain = %q, %d bytes; want image/png, %d bytes", m.MIMEType, len(m.Data), len(pngBytes))
	}
}

// TestFetchTooManyRedirects pins the hop cap and that no request goes past it.
func TestFetchTooManyRedirects(t *testing.T) {
	srv, hits := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
		http.Redirect(w, r, "/loop/"+strconv.Itoa(n+1), http.StatusFound)
	})
	f := newTestFetcher(t, Options{MaxRedirects: 3}, srv)
	_, err := f.Fetch(t.Context(), srv.URL+"/loop/0")
	wantKind(t, err, FetchFailed)
	if n := hits.hits.Load(); n != 4 {
		t.Errorf("server saw %d requests, want 4 (the first and 3 redirects)", n)
	}

	f = newTestFetcher(t, Options{MaxRedirects: -1}, srv)
	_, err = f.Fetch(t.Context(), srv.URL+"/loop/0")
	wantKind(t, err, FetchFailed)
}

// TestFetchTooLargeDeclared pins that a Content-Length over the cap fails
// before the body is read: the server never sends one, and Fetch returns
// anyway.
func TestFetchTooLargeDeclared(t *testing.T) {
	const max = 64 << 10
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(max+1))
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select { // send no body; a fetcher that reads would hang until its timeout
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	f := newTestFetcher(t, Options{MaxBytes: max, Timeout: 8 * time.Second}, srv)
	start := time.Now()
	_, err := f.Fetch(t.Context(), srv.URL+"/big.png")
	wantKind(t, err, TooLarge)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Fetch took %v: it waited for a body it should not read", d)
	}
}

// TestFetchTooLargeStreamed pins that a body without Content-Length is cut at
// cap+1 bytes: the server, which would send 1 GiB, gets its connection closed
// after little more than the cap plus socket buffers.
func TestFetchTooLargeStreamed(t *testing.T) {
	const max = 64 << 10
	var written atomic.Int64
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		chunk := make([]byte, 32<<10)
		for range (1 << 30) / len(chunk) {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	f := newTestFetcher(t, Options{MaxBytes: max}, srv)
	_, err := f.Fetch(t.Context(), srv.URL+"/stream.mp4")
	wantKind(t, err, TooLarge)
	srv.Close() // waits for the handler to see its writes fail
	if n := written.Load(); n > 64<<20 {
		t.Errorf("server wrote %d bytes before the fetcher hung up, want well under 64 MiB", n)
	}
}

// TestFetchAtCap pins that a body of exactly MaxBytes is accepted, declared or
// streamed.
func TestFetchAtCap(t *testing.T) {
	const max = 4096
	body := bytes.Repeat([]byte{0xAB}, max)
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		if r.URL.Path == "/declared" {
			w.Header().Set("Content-Length", strconv.Itoa(max))
			w.Write(body)
			return
		}
		w.Write(body[:10])
		http.NewResponseController(w).Flush() // forces chunked encoding
		w.Write(body[10:])
	})
	f := newTestFetcher(t, Options{MaxBytes: max}, srv)
	for _, p := range []string{"/declared", "/streamed"} {
		m, err := f.Fetch(t.Context(), srv.URL+p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(m.Data, body) {
			t.Errorf("%s: got %d bytes, want %d", p, len(m.Data), max)
		}
	}
}

// TestFetchTimeout pins that Options.Timeout bounds a server that stalls
// before headers and one that stalls mid-body, and that the cause unwraps to
// context.DeadlineExceeded.
func TestFetchTimeout(t *testing.T) {
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mid-body" {
			w.Header().Set("Content-Type", "image/png")
			w.Write(pngBytes[:8])
			http.NewResponseController(w).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	f := newTestFetcher(t, Options{Timeout: 200 * time.Millisecond}, srv)
	for _, p := range []string{"/before-headers", "/mid-body"} {
		start := time.Now()
		_, err := f.Fetch(t.Context(), srv.URL+p)
		me := wantKind(t, err, Timeout)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: errors.Is(err, DeadlineExceeded) = false for %v", p, err)
		}
		if !strings.Contains(me.Msg, "in time") {
			t.Errorf("%s: Msg = %q, want it to say it was not fetched in time", p, me.Msg)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: Fetch took %v, want about 200ms", p, d)
		}
	}
}

// TestFetchCallerCancel pins that a cancelled request context surfaces as
// context.Canceled, so the gateway can tell a gone client from a slow host.
func TestFetchCallerCancel(t *testing.T) {
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	f := newTestFetcher(t, Options{}, srv)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := f.Fetch(ctx, srv.URL+"/slow")
	wantKind(t, err, Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, Canceled) = false for %v", err)
	}
}

// TestFetchUpstreamStatus pins that a non-2xx answer is a FetchFailed error
// naming the status.
func TestFetchUpstreamStatus(t *testing.T) {
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	})
	f := newTestFetcher(t, Options{}, srv)
	for _, code := range []int{404, 403, 500, 204} {
		_, err := f.Fetch(t.Context(), srv.URL+"/"+strconv.Itoa(code))
		me := wantKind(t, err, FetchFailed)
		if code == 204 {
			// 2xx with an empty body: there is no media to send.
			if !strings.Contains(me.Msg, "empty body") {
				t.Errorf("status 204: Msg = %q, want it to name the empty body", me.Msg)
			}
			continue
		}
		if me.Status != code || !strings.Contains(me.Msg, strconv.Itoa(code)) {
			t.Errorf("status %d: got Status %d, Msg %q", code, me.Status, me.Msg)
		}
	}
}

// TestFetchMIME pins the media type order: declared type unless generic, then
// the URL extension, then the bytes; never a default.
func TestFetchMIME(t *testing.T) {
	type reply struct {
		contentType string // "" sends no Content-Type at all
		body        []byte
	}
	replies := map[string]reply{
		"/declared":      {"image/png", unknownBytes},
		"/params":        {"image/jpeg; charset=binary", unknownBytes},
		"/alias":         {"IMAGE/JPG", unknownBytes},
		"/clip.mp4":      {"application/octet-stream", unknownBytes},
		"/clip.MOV":      {"binary/octet-stream", unknownBytes},
		"/song.mp3":      {"text/plain", unknownBytes},
		"/notes.csv":     {"text/plain; charset=utf-8", textBytes},
		"/sniff-png":     {"", pngBytes},
		"/sniff-wav":     {"application/octet-stream", wavBytes},
		"/mislabelled":   {"text/plain; charset=utf-8", pngBytes},
		"/plain":         {"text/plain", textBytes},
		"/sniff-text":    {"", textBytes},
		"/video.webm":    {"", unknownBytes},
		"/x/photo.webp":  {"", unknownBytes},
		"/blob":          {"", unknownBytes},
		"/unknown":       {"", unknownBytes},
		"/unknown-octet": {"application/octet-stream", unknownBytes},
	}
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/r":
			http.Redirect(w, r, "/x/photo.webp", http.StatusFound)
			return
		case "/orig.png":
			http.Redirect(w, r, "/blob", http.StatusFound)
			return
		}
		rep, ok := replies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rep.contentType == "" {
			w.Header()["Content-Type"] = nil // stop net/http from sniffing one
		} else {
			w.Header().Set("Content-Type", rep.contentType)
		}
		w.Write(rep.body)
	})
	f := newTestFetcher(t, Options{}, srv)

	tests := []struct {
		path string
		want string // "" wants an Unsupported error
	}{
		{"/declared", "image/png"},
		{"/params", "image/jpeg"},
		{"/alias", "image/jpeg"},
		{"/clip.mp4", "video/mp4"},
		{"/clip.MOV", "video/mov"},
		{"/song.mp3", "audio/mp3"},
		{"/notes.csv", "text/plain"},
		{"/sniff-png", "image/png"},
		{"/sniff-wav", "audio/wav"},
		{"/mislabelled", "image/png"},
		{"/plain", "text/plain"},
		{"/sniff-text", "text/plain"},
		{"/video.webm?sig=abc#frag", "video/webm"},
		{"/r", "image/webp"},       // extension of the final URL
		{"/orig.png", "image/png"}, // extension of the URL the client sent
		{"/unknown", ""},
		{"/unknown-octet", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			m, err := f.Fetch(t.Context(), srv.URL+tt.path)
			if tt.want == "" {
				wantKind(t, err, Unsupported)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MIMEType != tt.want {
				t.Errorf("MIMEType = %q, want %q", m.MIMEType, tt.want)
			}
		})
	}
}

// TestFetchAllowPrivate pins that AllowPrivate fetches from a loopback server
// (local use, tests) but still refuses metadata names and addresses.
func TestFetchAllowPrivate(t *testing.T) {
	srv, _ := startServer(t, redirector)
	resolver := fakeResolver(t, map[string]string{"metadata.google.internal": "127.0.0.1"})
	f := NewFetcher(Options{AllowPrivate: true, Timeout: 5 * time.Second, Resolver: resolver})

	m, err := f.Fetch(t.Context(), srv.URL+"/image")
	if err != nil {
		t.Fatal(err)
	}
	if m.MIMEType != "image/png" || !bytes.Equal(m.Data, pngBytes) {
		t.Errorf("got %q, %d bytes", m.MIMEType, len(m.Data))
	}
	if _, err := f.Fetch(t.Context(), "http://localhost:"+port(srv)+"/image"); err != nil {
		t.Errorf("localhost with AllowPrivate: %v", err)
	}
	_, err = f.Fetch(t.Context(), "http://metadata.google.internal:"+port(srv)+"/computeMetadata/v1/")
	wantKind(t, err, Refused)
	_, err = f.Fetch(t.Context(), "http://[::ffff:127.0.0.1]:"+port(srv)+"/")
	wantKind(t, err, Refused)
}

// TestFetchInvalidURL pins that anything but an http(s) URL with a host is an
// Invalid error, before any network activity.
func TestFetchInvalidURL(t *testing.T) {
	f := NewFetcher(Options{})
	for _, u := range []string{
		"ftp://example.com/a.png",
		"gs://bucket/object.png",
		"file:///etc/passwd",
		"data:image/png;base64,AAAA",
		"http://",
		"http:///path",
		"://missing-scheme",
		"example.com/a.png",
		"http://[::1/",
	} {
		_, err := f.Fetch(t.Context(), u)
		var me *Error
		if !errors.As(err, &me) || me.Kind != Invalid {
			t.Errorf("Fetch(%q) = %v, want an Invalid error", u, err)
		}
	}
}

// TestErrorUnwrap pins the error contract the gateway relies on.
func TestErrorUnwrap(t *testing.T) {
	cause := fmt.Errorf("dial: %w", context.DeadlineExceeded)
	var err error = &Error{Kind: FetchFailed, Msg: "fetching the media URL timed out", Cause: cause}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is through *Error failed")
	}
	if got, want := err.Error(), "media: fetching the media URL timed out: dial: context deadline exceeded"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := TooLarge.String(); got != "too_large" {
		t.Errorf("TooLarge.String() = %q", got)
	}
}
