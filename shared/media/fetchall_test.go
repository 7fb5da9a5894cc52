package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// imageServer serves size bytes of a PNG-looking body at any path: declared
// (Content-Length) by default, streamed (chunked) under /chunked/.
func imageServer(t *testing.T, size int) (*counted, string) {
	t.Helper()
	body := bytes.Repeat([]byte{0x5A}, size)
	copy(body, pngBytes)
	srv, c := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		if strings.HasPrefix(r.URL.Path, "/chunked/") {
			w.Write(body[:min(7, len(body))])
			http.NewResponseController(w).Flush()
			w.Write(body[min(7, len(body)):])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(body)
	})
	return c, srv.URL
}

// TestFetchAllBase64MatchesEncoding pins that the streamed encoding is
// byte-identical to encoding the whole body at once, for every remainder of
// the length mod 3, declared or chunked, in the order of the URLs.
func TestFetchAllBase64MatchesEncoding(t *testing.T) {
	for _, size := range []int{64, 65, 66, 100<<10 + 1, 1 << 20} {
		_, url := imageServer(t, size)
		f := newTestFetcher(t, Options{AllowPrivate: true, Timeout: time.Minute})
		got, err := f.FetchAll(t.Context(), []string{url + "/a.png", url + "/chunked/b"})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		body := bytes.Repeat([]byte{0x5A}, size)
		copy(body, pngBytes)
		want := base64.StdEncoding.EncodeToString(body)
		for i, g := range got {
			if g.MIMEType != "image/png" || string(g.Base64) != want {
				t.Errorf("size %d, url %d: got %s with %d base64 bytes, want image/png with %d", size, i, g.MIMEType, len(g.Base64), len(want))
			}
		}
	}
}

// TestFetchAllRefusesTooManyURLs pins the count budget: over MaxURLs is an
// OverBudget error naming the limit, and no URL is fetched.
func TestFetchAllRefusesTooManyURLs(t *testing.T) {
	hits, url := imageServer(t, 100)
	f := newTestFetcher(t, Options{AllowPrivate: true, MaxURLs: 3})
	urls := []string{url + "/1.png", url + "/2.png", url + "/3.png", url + "/4.png"}
	_, err := f.FetchAll(t.Context(), urls)
	me := wantKind(t, err, OverBudget)
	if !strings.Contains(me.Msg, "limit of 3") {
		t.Errorf("Msg = %q, want it to name the limit of 3", me.Msg)
	}
	if n := hits.hits.Load(); n != 0 {
		t.Errorf("media server saw %d requests, want 0", n)
	}
	if _, err := f.FetchAll(t.Context(), urls[:3]); err != nil {
		t.Errorf("3 URLs at a limit of 3: %v", err)
	}
}

// TestFetchAllTotalBytesBudget pins the byte budget over all URLs together:
// two 600 KiB bodies pass a 1 MiB per-URL cap but not a 1 MiB total, declared
// (refused from Content-Length) or streamed (cut while reading).
func TestFetchAllTotalBytesBudget(t *testing.T) {
	_, url := imageServer(t, 600<<10)
	f := newTestFetcher(t, Options{AllowPrivate: true, MaxBytes: 1 << 20, MaxTotalBytes: 1 << 20, Concurrency: 1})
	for _, dir := range []string{"/", "/chunked/"} {
		_, err := f.FetchAll(t.Context(), []string{url + dir + "a.png", url + dir + "b.png"})
		me := wantKind(t, err, OverBudget)
		if !strings.Contains(me.Msg, "limit of 1048576 bytes") {
			t.Errorf("%s: Msg = %q, want it to name the limit", dir, me.Msg)
		}
		if me.Index != 1 || !strings.HasSuffix(me.URL, "/b.png") {
			t.Errorf("%s: error names URL %d %q, want 1 …/b.png", dir, me.Index, me.URL)
		}
	}
	if _, err := f.FetchAll(t.Context(), []string{url + "/a.png"}); err != nil {
		t.Errorf("one body within the budget: %v", err)
	}
}

// TestFetchAllBoundedConcurrency pins that no more than Concurrency fetches
// are in flight at once: the media server holds every request until released
// and records the most it saw at a time.
func TestFetchAllBoundedConcurrency(t *testing.T) {
	const conc, n = 3, 10
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	srv, hits := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		<-release
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	})
	f := newTestFetcher(t, Options{AllowPrivate: true, Concurrency: conc})
	urls := make([]string, n)
	for i := range urls {
		urls[i] = srv.URL + "/" + strconv.Itoa(i) + ".png"
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.FetchAll(t.Context(), urls)
		done <- err
	}()
	waitFor(t, func() bool { return inFlight.Load() == conc })
	time.Sleep(50 * time.Millisecond) // room for a wrongly started extra fetch to arrive
	if got := inFlight.Load(); got != conc {
		t.Errorf("in flight while held = %d, want %d", got, conc)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m, h := most.Load(), hits.hits.Load(); m != conc || h != n {
		t.Errorf("most in flight %d, requests %d; want %d and %d", m, h, conc, n)
	}
}

// TestFetchAllStopsWhenCallerLeaves pins cancellation: when the caller's
// context ends mid-fetch, the media server sees its requests cancelled, no
// further fetch starts, and the error is Canceled (not a timeout or a fetch
// failure the client would be blamed for).
func TestFetchAllStopsWhenCallerLeaves(t *testing.T) {
	var cancelled atomic.Int64
	srv, hits := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		cancelled.Add(1)
	})
	f := newTestFetcher(t, Options{AllowPrivate: true, Concurrency: 2})
	urls := make([]string, 6)
	for i := range urls {
		urls[i] = srv.URL + "/" + strconv.Itoa(i) + ".png"
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := f.FetchAll(ctx, urls)
		done <- err
	}()
	waitFor(t, func() bool { return hits.hits.Load() == 2 })
	cancel()
	err := <-done
	wantKind(t, err, Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, Canceled) = false for %v", err)
	}
	waitFor(t, func() bool { return cancelled.Load() == 2 })
	time.Sleep(50 * time.Millisecond) // room for a wrongly started fetch to arrive
	if n := hits.hits.Load(); n != 2 {
		t.Errorf("media server saw %d requests, want the 2 in flight when the caller left", n)
	}
}

// TestFetchErrorsRedactURL pins that no error, message or cause, carries the
// userinfo, query or fragment of the URL: signed URLs hold their credentials
// there, and errors go to the logs.
func TestFetchErrorsRedactURL(t *testing.T) {
	srv, _ := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/slow"):
			<-r.Context().Done()
		case strings.HasPrefix(r.URL.Path, "/redirect"):
			http.Redirect(w, r, "http://127.0.0.1:1/next.png?X-Amz-Signature=secret-sig-2", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	secrets := []string{"secret-sig", "secret-token", "secret-pass", "secret-frag"}
	suffix := "?X-Amz-Signature=secret-sig&token=secret-token#secret-frag"
	for _, tc := range []struct {
		name, url string
		private   bool
		kind      Kind
	}{
		{"status", "http://user:secret-pass@" + hostPort + "/missing.png" + suffix, true, FetchFailed},
		{"timeout", "http://" + hostPort + "/slow.png" + suffix, true, Timeout},
		{"refused", "http://user:secret-pass@" + hostPort + "/a.png" + suffix, false, Refused},
		{"refused redirect", "http://" + hostPort + "/redirect.png" + suffix, true, Refused},
		{"unreachable", "http://user:secret-pass@127.0.0.1:1/a.png" + suffix, true, FetchFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 10 * time.Second
			if tc.kind == Timeout {
				timeout = 200 * time.Millisecond
			}
			f := NewFetcher(Options{AllowPrivate: tc.private, Timeout: timeout})
			if tc.name == "refused redirect" {
				// The first hop is allowed, the redirect target (port 1) is
				// refused as private.
				f = newTestFetcher(t, Options{Timeout: timeout}, srv)
			}
			_, err := f.FetchAll(t.Context(), []string{tc.url})
			me := wantKind(t, err, tc.kind)
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) || strings.Contains(me.Msg, s) {
					t.Errorf("error leaks %q: %v", s, err)
				}
			}
			if !strings.Contains(me.URL, hostPort) && !strings.Contains(me.URL, "127.0.0.1:1") {
				t.Errorf("URL = %q, want the host kept", me.URL)
			}
		})
	}
}

// TestRedact pins what a logged URL keeps.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h.example/a/b.png?X-Amz-Signature=s&t=1#frag": "https://h.example/a/b.png",
		"http://h.example:8080/x?":                                 "http://h.example:8080/x",
		"https://h.example":                                        "https://h.example",
		"http://[::1/":                                             "(unparsable URL)",
		"http:opaque?secret":                                       "http:…",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFetchAllHoldsOneCopy pins the memory shape of a fetch: the bytes
// allocated while fetching a 4 MiB body are its base64 form and a little
// more, not the raw body plus its encoding (2.33 times the body) as before.
// Allocation is counted with runtime/metrics around the call; the server's
// body is built before counting starts.
func TestFetchAllHoldsOneCopy(t *testing.T) {
	const size = 4 << 20
	_, url := imageServer(t, size)
	// A generous timeout: a loaded machine under -race is slow.
	f := newTestFetcher(t, Options{AllowPrivate: true, Timeout: time.Minute})
	// Warm up connections and pools before counting.
	if _, err := f.FetchAll(t.Context(), []string{url + "/warm.png"}); err != nil {
		t.Fatal(err)
	}
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	runtime.GC()
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	got, err := f.FetchAll(t.Context(), []string{url + "/a.png"})
	metrics.Read(sample)
	allocated := sample[0].Value.Uint64() - before
	if err != nil {
		t.Fatal(err)
	}
	b64 := uint64(base64.StdEncoding.EncodedLen(size))
	if uint64(len(got[0].Base64)) != b64 {
		t.Fatalf("got %d base64 bytes, want %d", len(got[0].Base64), b64)
	}
	if limit := b64 + 2<<20; allocated > limit {
		t.Errorf("fetching %d bytes allocated %d, want at most %d (the base64 form plus 2 MiB)", size, allocated, limit)
	}
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("condition not reached in 10s")
		}
	}
}
