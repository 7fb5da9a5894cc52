package gateway_test

// Fault tests: Gemini (a fake on loopback) or the client misbehaves in every way we have seen or
// can provoke, and the gateway must answer as DESIGN §2-§3 say, never panic, cancel the upstream
// request when the client goes away, and leave no goroutine behind. Timing is never asserted;
// the only time bounds are generous liveness bounds ("the handler returned at all").

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/translate"
)

const (
	unaryChat  = `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`
	streamChat = `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`

	firstEvent = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}]}`
	lastEvent  = `{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3}}`

	// liveness bounds how long a test waits for something that should happen at once. It is
	// not a timing assertion: only a hang (a bug) exceeds it, even on a loaded 2-core machine.
	liveness = 20 * time.Second
)

// leakCheck makes the test fail if it leaves a goroutine behind. Call it first: cleanups run
// last-in first-out, so the check runs after every server and transport the test made is closed.
func leakCheck(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		// Connections closed by the servers end their goroutines asynchronously; goleak's own
		// retries cover about half a second, which 1,000 streams under -race can exceed.
		for end := time.Now().Add(liveness); time.Now().Before(end) && goleak.Find(ignore) != nil; {
			time.Sleep(50 * time.Millisecond)
		}
		goleak.VerifyNone(t, ignore)
	})
}

// answer serves a complete Gemini answer: JSON for generateContent, two SSE events for
// streamGenerateContent.
func answer(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("alt") == "sse" {
		sseEvents(firstEvent, lastEvent)(w, r)
		return
	}
	jsonResponse(thoughtfulAnswer)(w, r)
}

// googleError writes a google.rpc.Status error body with the given HTTP status.
func googleError(w http.ResponseWriter, code int, status, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":"fake %s","status":%q,"details":[%s]}}`, code, status, status, details)
}

// quotaDetails is a QuotaFailure for quotaID plus a RetryInfo of retryDelay.
func quotaDetails(quotaID, retryDelay string) string {
	return fmt.Sprintf(`{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_requests","quotaId":%q}]},`+
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":%q}`, quotaID, retryDelay)
}

// hijackClose takes the connection from the server and closes it without an answer; with reset
// the close sends a TCP RST (SO_LINGER 0), as a crashed front end or a dropped NAT entry does.
func hijackClose(t *testing.T, w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// faultEnv is a gateway in front of a fake upstream, with its own transports (so the leak check
// can close them) and a record of each request's logged status.
type faultEnv struct {
	gw     *httptest.Server
	up     *upstream
	client *http.Client
	// started and finished count gateway handler runs.
	started, finished atomic.Int32
	logs              *statusLog
}

type faultOpts struct {
	timeout time.Duration      // gemini.Options.Timeout; default 5s
	retry   gemini.RetryPolicy // default 3 attempts, 1ms base, 2s max
	mod     func(*gateway.Options)
}

func newFaultEnv(t *testing.T, up *upstream, fo faultOpts) *faultEnv {
	t.Helper()
	if fo.timeout == 0 {
		fo.timeout = 5 * time.Second
	}
	if fo.retry.MaxAttempts == 0 {
		fo.retry = gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}
	}
	upTransport := gemini.DefaultTransport()
	t.Cleanup(upTransport.CloseIdleConnections)
	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: up.srv.URL, APIKey: "gemini-key",
		HTTPClient: &http.Client{Transport: upTransport}, Timeout: fo.timeout, Retry: fo.retry})
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, err := keys.ParseList("tester:" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultEnv{up: up, logs: &statusLog{}}
	o := gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), IncludeThoughts: true,
		MaxBodyBytes: 1 << 20, Logger: slog.New(f.logs)}
	if fo.mod != nil {
		fo.mod(&o)
	}
	h := gateway.New(o)
	f.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.started.Add(1)
		defer f.finished.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.gw.Close)
	ct := &http.Transport{MaxIdleConnsPerHost: 1024}
	t.Cleanup(ct.CloseIdleConnections)
	f.client = &http.Client{Transport: ct}
	return f
}

// post sends body to /v1/chat/completions with the test key.
func (f *faultEnv) post(ctx context.Context, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.gw.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	return f.client.Do(req)
}

// do posts body and returns the status, the headers and the whole body.
func (f *faultEnv) do(t *testing.T, body string) (int, http.Header, string) {
	t.Helper()
	resp, err := f.post(t.Context(), body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response (status %d): %v; read so far:\n%s", resp.StatusCode, err, b)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// waitHandlers waits until at least n gateway handlers have started and none is running.
func (f *faultEnv) waitHandlers(t *testing.T, n int32) {
	t.Helper()
	for end := time.Now().Add(liveness); ; time.Sleep(5 * time.Millisecond) {
		s := f.started.Load()
		if s >= n && f.finished.Load() == s {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("gateway handlers: %d started (want at least %d), %d still running after the requests ended", s, n, s-f.finished.Load())
		}
	}
}

// statusLog is a slog.Handler that keeps each request log line's status and error_code.
type statusLog struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	status int
	code   string
}

func (l *statusLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *statusLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *statusLog) WithGroup(string) slog.Handler            { return l }
func (l *statusLog) Handle(_ context.Context, r slog.Record) error {
	var line logLine
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "status":
			line.status = int(a.Value.Int64())
		case "error_code":
			line.code = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

func (l *statusLog) all() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logLine(nil), l.lines...)
}

// errorCode returns error.code of a JSON error body or of an SSE error event's data.
func errorCode(t *testing.T, data string) string {
	t.Helper()
	var eb struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(data), &eb); err != nil || eb.Error == nil || eb.Error.Message == "" {
		t.Errorf("not an error body (%v): %s", err, data)
		return ""
	}
	return eb.Error.Code
}

// sseData splits an SSE body into its events' data, checking the framing on the way.
func sseData(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		if strings.HasPrefix(ev, ":") {
			continue // keep-alive
		}
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(d, "\n") {
			t.Errorf("malformed SSE event %q in:\n%s", ev, body)
			continue
		}
		out = append(out, d)
	}
	return out
}

// wantStreamError checks a stream that failed after its first event: 200, at least one chunk,
// then exactly one error event with code, as the last event, and no [DONE].
func wantStreamError(t *testing.T, status int, body, code string) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200 (the failure comes after the first event): %s", status, body)
	}
	data := sseData(t, body)
	if len(data) < 2 {
		t.Fatalf("want chunks then one error event, got:\n%s", body)
	}
	for _, d := range data[:len(data)-1] {
		if strings.HasPrefix(d, `{"success":false`) || d == "[DONE]" {
			t.Errorf("event before the last is %s:\n%s", d, body)
		}
	}
	last := data[len(data)-1]
	if !strings.HasPrefix(last, `{"success":false,"error":`) {
		t.Fatalf("last event is not an error event:\n%s", body)
	}
	if got := errorCode(t, last); got != code {
		t.Errorf("error event code %q, want %q: %s", got, code, last)
	}
}

// wantDone checks a complete stream: chunks, then [DONE] last, and no error event.
func wantDone(t *testing.T, status int, body string) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	data := sseData(t, body)
	if len(data) < 2 || data[len(data)-1] != "[DONE]" || strings.Contains(body, `"error"`) {
		t.Errorf("want a complete stream ending in [DONE], got:\n%s", body)
	}
}

// wantError checks a JSON error answer.
func wantError(t *testing.T, status int, body string, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	if got := errorCode(t, body); got != wantCode {
		t.Errorf("code %q, want %q: %s", got, wantCode, body)
	}
}

// TestRetryInfoIsHonoured pins DESIGN §3: a 429 whose RetryInfo delay fits under MaxDelay and
// the deadline is retried after (at least) that delay, for unary and streamed requests alike.
func TestRetryInfoIsHonoured(t *testing.T) {
	for _, body := range []string{unaryChat, streamChat} {
		t.Run(reqKind(body), func(t *testing.T) {
			leakCheck(t)
			var mu sync.Mutex
			var at []time.Time
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				at = append(at, time.Now())
				n := len(at)
				mu.Unlock()
				if n == 1 {
					googleError(w, 429, "RESOURCE_EXHAUSTED", quotaDetails("GenerateRequestsPerMinutePerProjectPerModel", "0.05s"))
					return
				}
				answer(w, r)
			})
			f := newFaultEnv(t, up, faultOpts{retry: gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second}})
			status, _, got := f.do(t, body)
			if body == streamChat {
				wantDone(t, status, got)
			} else if status != 200 {
				t.Fatalf("status %d: %s", status, got)
			}
			if n := up.calls.Load(); n != 2 {
				t.Fatalf("upstream calls = %d, want 2", n)
			}
			// A lower bound only: the retry must not come before the delay Google asked for.
			if gap := at[1].Sub(at[0]); gap < 50*time.Millisecond {
				t.Errorf("retried after %v, before RetryInfo's 50ms", gap)
			}
		})
	}
}

// TestRetryInfoNotWaitedFor pins the other side: a RetryInfo delay over RetryPolicy.MaxDelay, or
// one that does not fit in the upstream timeout, is not waited for; the client gets 429 at
// once with Retry-After carrying Google's delay, and Gemini saw one call.
func TestRetryInfoNotWaitedFor(t *testing.T) {
	cases := []struct {
		name       string
		retryDelay string
		timeout    time.Duration
		retryAfter string
	}{
		{"over MaxDelay", "3s", 5 * time.Second, "3"},
		{"over the upstream timeout", "1.5s", 500 * time.Millisecond, "2"},
	}
	for _, tc := range cases {
		for _, body := range []string{unaryChat, streamChat} {
			t.Run(tc.name+"/"+reqKind(body), func(t *testing.T) {
				leakCheck(t)
				up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					googleError(w, 429, "RESOURCE_EXHAUSTED", quotaDetails("GenerateRequestsPerMinutePerProjectPerModel", tc.retryDelay))
				})
				f := newFaultEnv(t, up, faultOpts{timeout: tc.timeout,
					retry: gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}})
				status, hdr, got := f.do(t, body)
				wantError(t, status, got, 429, "too_many_requests")
				if ra := hdr.Get("Retry-After"); ra != tc.retryAfter {
					t.Errorf("Retry-After = %q, want %q", ra, tc.retryAfter)
				}
				if n := up.calls.Load(); n != 1 {
					t.Errorf("upstream calls = %d, want 1", n)
				}
			})
		}
	}
}

// TestPerDayQuotaIsNotRetried pins that a daily quota (QuotaFailure quotaId containing PerDay)
// is passed on as 429 after one call, even with a short RetryInfo: no retry can cure it.
func TestPerDayQuotaIsNotRetried(t *testing.T) {
	for _, body := range []string{unaryChat, streamChat} {
		t.Run(reqKind(body), func(t *testing.T) {
			leakCheck(t)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				googleError(w, 429, "RESOURCE_EXHAUSTED", quotaDetails("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "0.05s"))
			})
			f := newFaultEnv(t, up, faultOpts{})
			status, hdr, got := f.do(t, body)
			wantError(t, status, got, 429, "too_many_requests")
			if hdr.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if n := up.calls.Load(); n != 1 {
				t.Errorf("upstream calls = %d, want 1", n)
			}
		})
	}
}

// TestTransientErrorsAreRetried pins retries of 500 and 503 (and 502/504 by the same rule):
// two failures then success is a success after three calls.
func TestTransientErrorsAreRetried(t *testing.T) {
	for _, body := range []string{unaryChat, streamChat} {
		t.Run(reqKind(body), func(t *testing.T) {
			leakCheck(t)
			var n atomic.Int32
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				switch n.Add(1) {
				case 1:
					googleError(w, 500, "INTERNAL", "")
				case 2:
					googleError(w, 503, "UNAVAILABLE", "")
				default:
					answer(w, r)
				}
			})
			f := newFaultEnv(t, up, faultOpts{})
			status, _, got := f.do(t, body)
			if body == streamChat {
				wantDone(t, status, got)
			} else if status != 200 {
				t.Fatalf("status %d: %s", status, got)
			}
			if c := up.calls.Load(); c != 3 {
				t.Errorf("upstream calls = %d, want 3", c)
			}
		})
	}
}

// TestConnectionResetIsRetried pins that a connection closed or reset before any response
// header is retried, and that when every attempt fails the client gets 502 upstream_error.
func TestConnectionResetIsRetried(t *testing.T) {
	for _, reset := range []bool{false, true} {
		kind := "close"
		if reset {
			kind = "reset"
		}
		for _, body := range []string{unaryChat, streamChat} {
			t.Run(kind+"/once/"+reqKind(body), func(t *testing.T) {
				leakCheck(t)
				var n atomic.Int32
				up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					if n.Add(1) == 1 {
						hijackClose(t, w, reset)
						return
					}
					answer(w, r)
				})
				f := newFaultEnv(t, up, faultOpts{})
				status, _, got := f.do(t, body)
				if body == streamChat {
					wantDone(t, status, got)
				} else if status != 200 {
					t.Fatalf("status %d: %s", status, got)
				}
				if c := up.calls.Load(); c != 2 {
					t.Errorf("upstream calls = %d, want 2", c)
				}
			})
			t.Run(kind+"/always/"+reqKind(body), func(t *testing.T) {
				leakCheck(t)
				up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { hijackClose(t, w, reset) })
				f := newFaultEnv(t, up, faultOpts{})
				status, _, got := f.do(t, body)
				wantError(t, status, got, 502, "upstream_error")
				if c := up.calls.Load(); c != 3 {
					t.Errorf("upstream calls = %d, want 3 (MaxAttempts)", c)
				}
			})
		}
	}
}

// TestUpstreamStall pins the upstream timeout: a call that stalls longer than it is answered
// 504 upstream_timeout while nothing has been sent, and a stream that stalls after its first
// event ends with one upstream_timeout error event. The stalled upstream request is cancelled.
func TestUpstreamStall(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		before func(w http.ResponseWriter) // what the upstream sends before it stalls
		midway bool
	}{
		{name: "unary before headers", body: unaryChat},
		{name: "unary after headers", body: unaryChat, before: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"candidates":[`)
			w.(http.Flusher).Flush()
		}},
		{name: "stream before headers", body: streamChat},
		{name: "stream after headers", body: streamChat, before: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
		}},
		{name: "stream after first event", body: streamChat, midway: true, before: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", firstEvent)
			w.(http.Flusher).Flush()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			cancelled := make(chan struct{})
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.before != nil {
					tc.before(w)
				}
				<-r.Context().Done()
				close(cancelled)
			})
			f := newFaultEnv(t, up, faultOpts{timeout: 300 * time.Millisecond})
			status, _, got := f.do(t, tc.body)
			if tc.midway {
				wantStreamError(t, status, got, "upstream_timeout")
			} else {
				wantError(t, status, got, 504, "upstream_timeout")
			}
			select {
			case <-cancelled:
			case <-time.After(liveness):
				t.Fatal("the stalled upstream request was not cancelled")
			}
			if c := up.calls.Load(); c != 1 {
				t.Errorf("upstream calls = %d, want 1 (the timeout bounds the whole call)", c)
			}
		})
	}
}

// TestStreamDiesMidway pins that a stream the upstream ends early, by a clean close, a broken
// connection or an error written into the stream, becomes exactly one error event with the
// mapped code, and never [DONE].
func TestStreamDiesMidway(t *testing.T) {
	first := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\n\n", firstEvent)
		w.(http.Flusher).Flush()
	}
	cases := []struct {
		name string
		then func(t *testing.T, w http.ResponseWriter)
		code string
	}{
		{"clean close without finishReason", func(t *testing.T, w http.ResponseWriter) {}, "upstream_error"},
		{"connection closed", func(t *testing.T, w http.ResponseWriter) { hijackClose(t, w, false) }, "upstream_error"},
		{"connection reset", func(t *testing.T, w http.ResponseWriter) { hijackClose(t, w, true) }, "upstream_error"},
		{"error event UNAVAILABLE", func(t *testing.T, w http.ResponseWriter) {
			fmt.Fprint(w, "data: {\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n")
		}, "upstream_error"},
		{"error event RESOURCE_EXHAUSTED", func(t *testing.T, w http.ResponseWriter) {
			fmt.Fprint(w, "data: {\"error\":{\"code\":429,\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n")
		}, "too_many_requests"},
		{"bare JSON error line (Vertex)", func(t *testing.T, w http.ResponseWriter) {
			fmt.Fprint(w, "{\"error\":{\"code\":500,\"message\":\"internal\",\"status\":\"INTERNAL\"}}\n")
		}, "upstream_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				first(w)
				tc.then(t, w)
			})
			f := newFaultEnv(t, up, faultOpts{})
			status, _, got := f.do(t, streamChat)
			wantStreamError(t, status, got, tc.code)
			if c := up.calls.Load(); c != 1 {
				t.Errorf("upstream calls = %d, want 1 (nothing is retried once a byte went out)", c)
			}
		})
	}
}

// TestMalformedUpstream pins that upstream bytes that are not the Gemini JSON they should be
// become 502 upstream_error (or, after the first event, one such error event): never a panic,
// never a silent success.
func TestMalformedUpstream(t *testing.T) {
	bad := []struct{ name, data string }{
		{"truncated JSON", `{"candidates":[{"content":`},
		{"not JSON", `hello`},
		{"wrong type", `{"candidates":"nope"}`},
		{"array", `[1,2,3]`},
		{"binary", "\x00\xff\xfe{"},
	}
	for _, b := range bad {
		t.Run("stream first event/"+b.name, func(t *testing.T) {
			leakCheck(t)
			f := newFaultEnv(t, newUpstream(t, sseEvents(b.data)), faultOpts{})
			status, _, got := f.do(t, streamChat)
			wantError(t, status, got, 502, "upstream_error")
		})
		t.Run("stream later event/"+b.name, func(t *testing.T) {
			leakCheck(t)
			f := newFaultEnv(t, newUpstream(t, sseEvents(firstEvent, b.data, lastEvent)), faultOpts{})
			status, _, got := f.do(t, streamChat)
			wantStreamError(t, status, got, "upstream_error")
		})
		t.Run("unary/"+b.name, func(t *testing.T) {
			leakCheck(t)
			f := newFaultEnv(t, newUpstream(t, jsonResponse(b.data)), faultOpts{})
			status, _, got := f.do(t, unaryChat)
			wantError(t, status, got, 502, "upstream_error")
		})
	}
}

// TestClientDisconnect pins DESIGN §2 "a client that disconnects cancels the upstream request at
// once" at every stage of a request, and that nothing is left running afterwards.
func TestClientDisconnect(t *testing.T) {
	type stage struct {
		name string
		body string
		// upstream serves the fake; it must return once r.Context() is done.
		upstream func(w http.ResponseWriter, r *http.Request)
		// disconnect drives the client until the moment it goes away.
		disconnect func(t *testing.T, f *faultEnv, arrived <-chan struct{})
		retry      gemini.RetryPolicy
		timeout    time.Duration
		wantCalls  int32
		// answered is set where the upstream answers at once (an error), so there is no
		// upstream request left to cancel.
		answered bool
	}
	// cancelAfter sends body and cancels the request once arrived fires (and after reading n
	// data lines of the response when n > 0).
	cancelAfter := func(body string, n int) func(*testing.T, *faultEnv, <-chan struct{}) {
		return func(t *testing.T, f *faultEnv, arrived <-chan struct{}) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				resp, err := f.post(ctx, body)
				if err != nil {
					errc <- err
					return
				}
				defer resp.Body.Close()
				br := bufio.NewReader(resp.Body)
				for seen := 0; seen < n; {
					line, err := br.ReadString('\n')
					if err != nil {
						errc <- fmt.Errorf("read after %d data lines: %w", seen, err)
						return
					}
					if strings.HasPrefix(line, "data: ") {
						seen++
					}
				}
				errc <- nil
				<-ctx.Done()
			}()
			select {
			case <-arrived:
			case <-time.After(liveness):
				t.Fatal("the request did not reach the upstream")
			}
			if n > 0 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(20 * time.Millisecond) // let the gateway be waiting on the upstream; any stage is valid
			}
			cancel()
		}
	}
	block := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	stages := []stage{
		{name: "while sending the body", body: unaryChat, upstream: answer, wantCalls: 0,
			disconnect: func(t *testing.T, f *faultEnv, _ <-chan struct{}) {
				c, err := net.Dial("tcp", f.gw.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"model\":", testKey)
				time.Sleep(20 * time.Millisecond) // let the handler start reading; any stage is valid
				_ = c.Close()
			}},
		{name: "unary before the upstream answers", body: unaryChat, upstream: block, wantCalls: 1, disconnect: cancelAfter(unaryChat, 0)},
		{name: "stream before the upstream answers", body: streamChat, upstream: block, wantCalls: 1, disconnect: cancelAfter(streamChat, 0)},
		{name: "unary during retry backoff", body: unaryChat, wantCalls: 1, disconnect: cancelAfter(unaryChat, 0),
			answered: true,
			upstream: func(w http.ResponseWriter, r *http.Request) { googleError(w, 503, "UNAVAILABLE", "") },
			// a backoff of 30s or more: only a cancelled sleep lets the handler return in time
			retry: gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: 2 * time.Minute}, timeout: 10 * time.Minute},
		{name: "stream during retry backoff", body: streamChat, wantCalls: 1, disconnect: cancelAfter(streamChat, 0), answered: true,
			upstream: func(w http.ResponseWriter, r *http.Request) { googleError(w, 503, "UNAVAILABLE", "") },
			retry:    gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: 2 * time.Minute}, timeout: 10 * time.Minute},
		{name: "stream after the first event", body: streamChat, wantCalls: 1, disconnect: cancelAfter(streamChat, 2),
			upstream: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "data: %s\n\n", firstEvent)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}},
		{name: "stream while events flow", body: streamChat, wantCalls: 1, disconnect: cancelAfter(streamChat, 5),
			upstream: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for range 10000 { // bounded: ends long before this when the gateway cancels
					if r.Context().Err() != nil {
						return
					}
					fmt.Fprintf(w, "data: %s\n\n", firstEvent)
					w.(http.Flusher).Flush()
					time.Sleep(time.Millisecond)
				}
			}},
		{name: "stream while the client is not reading", body: streamChat, wantCalls: 1,
			upstream: func(w http.ResponseWriter, r *http.Request) {
				// 32 KiB events until the gateway stops taking them: its writes to the
				// client block once the socket buffers are full.
				ev := fmt.Sprintf(`{"candidates":[{"content":{"role":"model","parts":[{"text":%q}]}}]}`, strings.Repeat("z", 32<<10))
				w.Header().Set("Content-Type", "text/event-stream")
				for range 4000 { // bounded at 128 MiB
					if _, err := fmt.Fprintf(w, "data: %s\n\n", ev); err != nil || r.Context().Err() != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			},
			disconnect: func(t *testing.T, f *faultEnv, arrived <-chan struct{}) {
				c, err := net.Dial("tcp", f.gw.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", testKey, len(streamChat), streamChat)
				<-arrived
				time.Sleep(100 * time.Millisecond) // let buffers fill; any stage is valid
				_ = c.Close()
			}},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			leakCheck(t)
			arrived := make(chan struct{}, 1)
			ended := make(chan struct{}, 1)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				select {
				case arrived <- struct{}{}:
				default:
				}
				st.upstream(w, r)
				if r.Context().Err() != nil {
					select {
					case ended <- struct{}{}:
					default:
					}
				}
			})
			f := newFaultEnv(t, up, faultOpts{retry: st.retry, timeout: st.timeout})
			st.disconnect(t, f, arrived)
			if st.wantCalls > 0 && !st.answered {
				select {
				case <-ended:
				case <-time.After(liveness):
					t.Fatal("the upstream request was not cancelled after the client went away")
				}
			}
			f.waitHandlers(t, 1)
			if c := up.calls.Load(); c != st.wantCalls {
				t.Errorf("upstream calls = %d, want %d", c, st.wantCalls)
			}
			for _, l := range f.logs.all() {
				if l.status == http.StatusOK {
					t.Errorf("a request whose client went away was logged as 200")
				}
			}
		})
	}
}

// TestConcurrentStreamsWithDisconnects runs 1,000 streams at once while a third of the clients
// go away at random points: every stream whose client stayed ends in [DONE], every upstream
// request ends, and no goroutine is left behind.
func TestConcurrentStreamsWithDisconnects(t *testing.T) {
	const streams = 1000
	leakCheck(t)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 { // bounded trickle: 5 chunks 2ms apart
			ev := firstEvent
			if i == 4 {
				ev = lastEvent
			}
			fmt.Fprintf(w, "data: %s\n\n", ev)
			w.(http.Flusher).Flush()
			select {
			case <-time.After(2 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	// A generous upstream timeout: 1,000 streams under -race on 2 cores can starve one for a while.
	f := newFaultEnv(t, up, faultOpts{timeout: 30 * time.Second})
	ctx, stop := context.WithTimeout(t.Context(), 90*time.Second) // bounds the whole load
	defer stop()

	var done, cut, failed atomic.Int32
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		failed.Add(1)
		mu.Lock()
		if len(failures) < 5 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	rng := rand.New(rand.NewPCG(1, 2)) // deterministic plan
	type plan struct {
		stay      bool
		afterData int           // disconnect after this many data lines (0: right after headers)
		after     time.Duration // or after this delay when afterData < 0
	}
	plans := make([]plan, streams)
	for i := range plans {
		switch rng.IntN(3) {
		case 0:
			plans[i] = plan{afterData: rng.IntN(6)}
		case 1:
			plans[i] = plan{afterData: -1, after: time.Duration(rng.IntN(20)) * time.Millisecond}
		default:
			plans[i] = plan{stay: true}
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range streams {
		wg.Add(1)
		go func(p plan) {
			defer wg.Done()
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			<-start
			if !p.stay && p.afterData < 0 {
				tm := time.AfterFunc(p.after, cancel)
				defer tm.Stop()
			}
			resp, err := f.post(rctx, streamChat)
			if err != nil {
				if p.stay {
					fail("request: %v", err)
				}
				return
			}
			defer resp.Body.Close()
			if !p.stay && p.afterData == 0 {
				cut.Add(1)
				return
			}
			br := bufio.NewReader(resp.Body)
			var lines []string
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					if p.stay {
						fail("stream ended with %v after %q", err, lines)
					}
					return
				}
				if !strings.HasPrefix(line, "data: ") {
					continue
				}
				lines = append(lines, line)
				if !p.stay && len(lines) == p.afterData {
					cut.Add(1)
					return
				}
				if line == "data: [DONE]\n" {
					break
				}
				if strings.HasPrefix(line, `data: {"success":false`) && p.stay {
					fail("error event %s", line)
					return
				}
			}
			if p.stay {
				done.Add(1)
			}
		}(plans[i])
	}
	close(start)
	wg.Wait()
	stay := 0
	for _, p := range plans {
		if p.stay {
			stay++
		}
	}
	t.Logf("%d streams: %d stayed and got [DONE], %d cut by the client after some data, %d failed", streams, done.Load(), cut.Load(), failed.Load())
	if failed.Load() > 0 || int(done.Load()) != stay {
		t.Errorf("%d of %d staying streams did not end in [DONE]; first failures: %q", stay-int(done.Load()), stay, failures)
	}
	f.waitHandlers(t, 0)
	if c := up.calls.Load(); c > streams {
		t.Errorf("upstream calls = %d for %d streams", c, streams)
	}
}

// reqKind names a subtest after the request kind.
func reqKind(body string) string {
	if strings.Contains(body, `"stream":true`) {
		return "stream"
	}
	return "unary"
}

// TestLargeMediaReachesUpstreamIntact pins that large base64 media (data: URIs in image_url,
// either form, and file; bare input_audio data; a long base64 run inside text; JSON-escaped
// slashes) reaches Gemini byte for byte, and that invalid base64 is refused without an upstream
// call, whatever fast path the gateway takes for big bodies.
func TestLargeMediaReachesUpstreamIntact(t *testing.T) {
	blob := func(seed byte, n int) string {
		raw := make([]byte, n)
		r := rand.NewChaCha8([32]byte{seed})
		_, _ = r.Read(raw)
		return base64.StdEncoding.EncodeToString(raw)
	}
	a, b, c := blob(1, 150<<10), blob(2, 100<<10+1), blob(3, 100<<10+2) // no, "==" and "=" padding
	msg := func(parts ...string) string {
		return `{"role":"user","content":[` + strings.Join(parts, ",") + `]}`
	}
	img := func(data string) string {
		return `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + data + `","detail":"high"}}`
	}
	chat := func(msgs ...string) string {
		return `{"model":"gemini-2.5-flash","messages":[` + strings.Join(msgs, ",") + `]}`
	}
	cases := []struct {
		name string
		body string
		want []string // inlineData.data or non-blank text of each upstream part, in order
	}{
		{"image_url object", chat(msg(`{"type":"text","text":"what is it?"}`, img(a))), []string{"what is it?", a}},
		{"image_url string", chat(msg(`{"type":"image_url","image_url":"data:image/jpeg;base64,` + b + `"}`)), []string{b}},
		{"several images and turns", chat(msg(img(a), img(b)), `{"role":"assistant","content":"ok"}`, msg(img(c))), []string{a, b, "ok", c}},
		{"input_audio", chat(msg(`{"type":"input_audio","input_audio":{"data":"` + c + `","format":"wav"}}`)), []string{c}},
		{"file", chat(msg(`{"type":"file","file":{"file_data":"data:application/pdf;base64,` + a + `","filename":"x.pdf"}}`)), []string{a}},
		{"base64 in text", chat(`{"role":"user","content":"` + b + `"}`), []string{b}},
		{"escaped slashes", chat(msg(img(strings.ReplaceAll(a, "/", `\/`)))), []string{a}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, jsonResponse(thoughtfulAnswer))
			f := newFaultEnv(t, up, faultOpts{mod: func(o *gateway.Options) { o.MaxBodyBytes = 32 << 20 }})
			status, _, got := f.do(t, tc.body)
			if status != 200 {
				t.Fatalf("status %d: %s", status, got)
			}
			var parts []string
			contents, _ := up.lastBody()["contents"].([]any)
			for _, ct := range contents {
				ps, _ := ct.(map[string]any)["parts"].([]any)
				for _, p := range ps {
					pm := p.(map[string]any)
					if d, ok := pm["inlineData"].(map[string]any); ok {
						parts = append(parts, d["data"].(string))
					} else if text, _ := pm["text"].(string); strings.TrimSpace(text) != "" {
						parts = append(parts, text) // the translation may add a blank text part to a media-only turn
					}
				}
			}
			if len(parts) != len(tc.want) {
				t.Fatalf("upstream got %d parts, want %d: %.300v", len(parts), len(tc.want), up.lastBody())
			}
			for i := range parts {
				if parts[i] != tc.want[i] {
					t.Errorf("part %d: upstream got %d bytes starting %.40q, want %d bytes starting %.40q", i, len(parts[i]), parts[i], len(tc.want[i]), tc.want[i])
				}
			}
		})
	}
	bad := []struct{ name, data string }{
		{"length 4n+1", a + "A"},
		{"padding inside", a[:1000] + "=" + a[1001:]},
		{"three pad characters", a[:len(a)-4] + "A==="},
	}
	for _, tc := range bad {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			up := newUpstream(t, jsonResponse(thoughtfulAnswer))
			f := newFaultEnv(t, up, faultOpts{mod: func(o *gateway.Options) { o.MaxBodyBytes = 32 << 20 }})
			status, _, got := f.do(t, chat(msg(img(tc.data))))
			wantError(t, status, got, 400, "invalid_request")
			if n := up.calls.Load(); n != 0 {
				t.Errorf("upstream calls = %d, want 0", n)
			}
		})
	}
}

// TestUpstreamAnswersBeforeReadingBody pins the http.RoundTripper contract for request bodies:
// a transport may go on reading a request's body after RoundTrip has returned the answer (HTTP/2,
// which Google speaks, is full duplex, and a front end may refuse an over-quota request before
// reading it), and only its Close says it is done. The gateway must not reuse or change a
// request's upstream body before that: the fake transport here answers 429 at once and reads
// the body a little later, checking that it is still that request's own.
func TestUpstreamAnswersBeforeReadingBody(t *testing.T) {
	leakCheck(t)
	lt := &lateReader{t: t}
	t.Cleanup(lt.wg.Wait)
	models, _ := translate.NewModels("")
	set, _ := keys.ParseList("tester:" + testKey)
	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: "http://gemini.invalid", APIKey: "gemini-key",
		HTTPClient: &http.Client{Transport: lt}, Retry: gemini.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(gateway.New(gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), MaxBodyBytes: 32 << 20}))
	t.Cleanup(gw.Close)
	ct := &http.Transport{}
	t.Cleanup(ct.CloseIdleConnections)
	hc := &http.Client{Transport: ct}
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 { // one after another, so a pooled buffer is taken again at once
				text := strings.Repeat(string(rune('a'+c*6+i)), 1<<20)
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.URL+"/v1/chat/completions",
					strings.NewReader(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"`+text+`"}]}`))
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 429 {
					t.Errorf("status %d, want 429", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	lt.wg.Wait()
	if n := lt.read.Load(); n != 12 {
		t.Errorf("the transport read %d request bodies, want 12", n)
	}
}

// lateReader is a RoundTripper that answers a per-day 429 at once and reads the request body
// 20ms later, as a full-duplex transport may, checking that the text in it is one letter repeated.
type lateReader struct {
	t    *testing.T
	wg   sync.WaitGroup
	read atomic.Int32
}

func (l *lateReader) RoundTrip(r *http.Request) (*http.Response, error) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer r.Body.Close()
		time.Sleep(20 * time.Millisecond)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			l.t.Errorf("reading the request body: %v", err)
			return
		}
		l.read.Add(1)
		i := bytes.Index(b, []byte(`"text":"`))
		if i < 0 {
			l.t.Errorf("the upstream body changed after the answer: no text part in %.80q…", b)
			return
		}
		text := b[i+len(`"text":"`):]
		if j := bytes.IndexByte(text, '"'); j >= 0 {
			text = text[:j]
		}
		if k := bytes.IndexFunc(text, func(c rune) bool { return c != rune(text[0]) }); k >= 0 || len(text) != 1<<20 {
			l.t.Errorf("the upstream body of a %q request changed after the answer (%d bytes of text, a %q at %d): its buffer was reused before the transport closed it",
				text[0], len(text), text[max(k, 0)], k)
		}
	}()
	const quota = `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]}]}}`
	return &http.Response{StatusCode: 429, Status: "429 Too Many Requests", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(quota)),
		ContentLength: int64(len(quota)), Request: r}, nil
}
