package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client tests run the Client against an httptest fake of the Gemini Developer API that
// checks each request as Google would and answers from a script. Backoff waits go through the
// client's sleep seam, which records the delay instead of sleeping, so a 26 s RetryInfo is
// checked without waiting for it and nothing here asserts on elapsed time.

const (
	testModel = "gemini-2.5-flash"
	testKey   = "test-key"
	testBody  = `{"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}]}`
	okBody    = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Rayleigh scattering."}]},"finishReason":"STOP"}],"modelVersion":"gemini-2.5-flash"}`
)

// reply answers one request of the script.
type reply func(w http.ResponseWriter, r *http.Request)

// upstream is a scripted fake of generativelanguage.googleapis.com.
type upstream struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	script  []reply
	methods []string // the method of each request received, generateContent or streamGenerateContent
}

// newUpstream serves script, one reply per request; a request past its end fails the test.
func newUpstream(t *testing.T, script ...reply) *upstream {
	u := &upstream{t: t, script: script}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	method, problem := checkRequest(r)
	u.mu.Lock()
	n := len(u.methods)
	u.methods = append(u.methods, method)
	u.mu.Unlock()
	if problem != "" {
		u.t.Errorf("request %d: %s", n+1, problem)
		writeJSON(w, http.StatusBadRequest, `{"error":{"code":400,"message":"bad request","status":"INVALID_ARGUMENT"}}`)
		return
	}
	if n >= len(u.script) {
		u.t.Errorf("request %d past the end of a %d-reply script", n+1, len(u.script))
		writeJSON(w, http.StatusInternalServerError, `{"error":{"code":500,"message":"script ended","status":"INTERNAL"}}`)
		return
	}
	u.script[n](w, r)
}

// checkRequest validates what Google validates for us: the model path and method, the alt=sse
// parameter on streams, the API key header, a JSON body with contents.
// https://ai.google.dev/api/generate-content
func checkRequest(r *http.Request) (method, problem string) {
	if r.Method != http.MethodPost {
		return "", "method " + r.Method
	}
	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	if !strings.HasPrefix(r.URL.Path, "/v1beta/models/") || !ok || model != testModel {
		return "", "path " + r.URL.Path
	}
	switch method {
	case "generateContent":
		if r.URL.RawQuery != "" {
			return method, "query " + r.URL.RawQuery
		}
	case "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			return method, "stream without alt=sse: " + r.URL.RawQuery
		}
	default:
		return method, "unknown method " + method
	}
	if got := r.Header.Get("x-goog-api-key"); got != testKey {
		return method, "x-goog-api-key " + got
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return method, "Content-Type " + ct
	}
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Contents) == 0 {
		return method, fmt.Sprintf("body: %v (%d contents)", err, len(req.Contents))
	}
	return method, ""
}

// requests returns the number of requests the upstream has received.
func (u *upstream) requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.methods)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// answer replies status with body and the given header pairs.
func answer(status int, body string, header ...string) reply {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		writeJSON(w, status, body)
	}
}

// rpcError is a google.rpc.Status body for status with no details.
func rpcError(status int) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":"%s","status":"%s"}}`, status, http.StatusText(status), statusName(status))
}

// resetConnection closes the connection with a TCP RST before any response byte.
func resetConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// sse answers 200 text/event-stream with the pieces written and flushed one at a time.
func sse(pieces ...string) reply {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for _, p := range pieces {
			io.WriteString(w, p)
			rc.Flush()
		}
	}
}

// sleeper records the client's backoff waits instead of sleeping.
type sleeper struct {
	mu     sync.Mutex
	delays []time.Duration
	hook   func() // runs inside each wait, before the context is checked
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	if s.hook != nil {
		s.hook()
	}
	return ctx.Err()
}

func (s *sleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newTestClient returns a Developer API client on u whose waits s records.
func newTestClient(t *testing.T, u *upstream, s *sleeper, o Options) *Client {
	t.Helper()
	o.Backend, o.BaseURL, o.APIKey = Developer, u.srv.URL, testKey
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = s.sleep
	return c
}

func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/wire/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	sample09NotFound  = "09-error-404-NOT_FOUND-on-stream.mldev.response.derived.json"
	sample12BadField  = "12-error-400-INVALID_ARGUMENT-unknown-field-BadRequest.mldev.adapted.json"
	sample13RetryInfo = "13-error-429-RESOURCE_EXHAUSTED-QuotaFailure-RetryInfo.mldev.adapted.json"
	sample17Array     = "17-error-429-RESOURCE_EXHAUSTED-vertex-style-cloudcode.adapted.json"
)

func text(t *testing.T, r *Response) string {
	t.Helper()
	if r == nil || len(r.Candidates) == 0 || r.Candidates[0].Content == nil || len(r.Candidates[0].Content.Parts) == 0 {
		t.Fatalf("response without a text part: %+v", r)
	}
	return r.Candidates[0].Content.Parts[0].Text
}

// TestGenerateRetriesTransientStatus pins that 429 and the 5xx statuses Google documents as
// transient (500, 502, 503, 504) are sent again after one backoff within [BaseDelay/2, BaseDelay].
// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
func TestGenerateRetriesTransientStatus(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			u := newUpstream(t, answer(status, rpcError(status)), answer(200, okBody))
			s := &sleeper{}
			c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}})
			resp, err := c.Generate(t.Context(), testModel, []byte(testBody))
			if err != nil {
				t.Fatal(err)
			}
			if got := text(t, resp); got != "Rayleigh scattering." {
				t.Errorf("text = %q", got)
			}
			if n := u.requests(); n != 2 {
				t.Errorf("upstream saw %d requests, want 2", n)
			}
			w := s.waits()
			if len(w) != 1 || w[0] < 500*time.Millisecond || w[0] > time.Second {
				t.Errorf("waits = %v, want one in [500ms, 1s]", w)
			}
		})
	}
}

// TestGenerateDoesNotRetryClientErrors pins that a request Google rejected is not sent again:
// 400 (recorded BadRequest body), 401, 403, 404 (recorded NOT_FOUND body).
func TestGenerateDoesNotRetryClientErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{400, readSample(t, sample12BadField), "INVALID_ARGUMENT"},
		{401, rpcError(401), "UNAUTHENTICATED"},
		{403, rpcError(403), "PERMISSION_DENIED"},
		{404, readSample(t, sample09NotFound), "NOT_FOUND"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			u := newUpstream(t, answer(tc.status, tc.body))
			s := &sleeper{}
			c := newTestClient(t, u, s, Options{})
			_, err := c.Generate(t.Context(), testModel, []byte(testBody))
			var ae *APIError
			if !errors.As(err, &ae) || ae.HTTPStatus != tc.status || ae.Status != tc.want {
				t.Fatalf("err = %v, want APIError %d %s", err, tc.status, tc.want)
			}
			if n := u.requests(); n != 1 {
				t.Errorf("upstream saw %d requests, want 1", n)
			}
			if w := s.waits(); len(w) != 0 {
				t.Errorf("waited %v", w)
			}
		})
	}
}

// TestGenerateBackoffDoublesUpToMaxDelay pins the backoff: attempt n waits within
// [d/2, d] for d = BaseDelay·2^(n-1) capped at MaxDelay, and after MaxAttempts the last upstream
// error is returned.
func TestGenerateBackoffDoublesUpToMaxDelay(t *testing.T) {
	var script []reply
	for range 5 {
		script = append(script, answer(503, rpcError(503)))
	}
	u := newUpstream(t, script...)
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second}})
	_, err := c.Generate(t.Context(), testModel, []byte(testBody))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 503 || ae.Status != "UNAVAILABLE" {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if n := u.requests(); n != 5 {
		t.Errorf("upstream saw %d requests, want 5", n)
	}
	caps := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	w := s.waits()
	if len(w) != len(caps) {
		t.Fatalf("waits = %v, want %d", w, len(caps))
	}
	for i, d := range caps {
		if w[i] < d/2 || w[i] > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, w[i], d/2, d)
		}
	}
}

// TestGenerateRetriesConnectionReset pins that a connection reset before any answer is a
// transient failure: the request is sent again on a new connection.
func TestGenerateRetriesConnectionReset(t *testing.T) {
	u := newUpstream(t, resetConnection, answer(200, okBody))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{})
	resp, err := c.Generate(t.Context(), testModel, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, resp); got != "Rayleigh scattering." {
		t.Errorf("text = %q", got)
	}
	if n, w := u.requests(), s.waits(); n != 2 || len(w) != 1 {
		t.Errorf("upstream saw %d requests after waits %v, want 2 after one", n, w)
	}
}

// TestGenerateHonoursRetryInfo pins that the wait before a retry is google.rpc.RetryInfo's
// retryDelay (26 s in the recorded 429) rather than our backoff.
// https://cloud.google.com/apis/design/errors#retryinfo
func TestGenerateHonoursRetryInfo(t *testing.T) {
	u := newUpstream(t, answer(429, readSample(t, sample13RetryInfo)), answer(200, okBody))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Minute}})
	if _, err := c.Generate(t.Context(), testModel, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
	if w := s.waits(); len(w) != 1 || w[0] != 26*time.Second {
		t.Errorf("waits = %v, want [26s]", w)
	}
	if n := u.requests(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

// TestGenerateHonoursRetryAfter pins that a Retry-After header in seconds sets the wait when the
// body carries no RetryInfo.
func TestGenerateHonoursRetryAfter(t *testing.T) {
	u := newUpstream(t, answer(503, rpcError(503), "Retry-After", "7"), answer(200, okBody))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Minute}})
	if _, err := c.Generate(t.Context(), testModel, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
	if w := s.waits(); len(w) != 1 || w[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s]", w)
	}
}

// TestGenerateRetryInfoBeyondMaxDelay pins that a RetryInfo delay longer than MaxDelay is not
// waited for: the 429 goes back at once, its delay kept for the caller's Retry-After.
func TestGenerateRetryInfoBeyondMaxDelay(t *testing.T) {
	u := newUpstream(t, answer(429, readSample(t, sample13RetryInfo)))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}})
	_, err := c.Generate(t.Context(), testModel, []byte(testBody))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 429 || ae.RetryDelay != 26*time.Second {
		t.Fatalf("err = %v, want the 429 with its 26s delay", err)
	}
	if n, w := u.requests(), s.waits(); n != 1 || len(w) != 0 {
		t.Errorf("upstream saw %d requests after waits %v, want 1 and none", n, w)
	}
}

// TestNoRetryPastDeadline pins that no wait runs past the time left: the caller's context
// deadline, the client's Timeout for a unary call, or the Timeout budget of a stream. Each case
// answers once with a retryable error whose wait is longer than the time left.
func TestNoRetryPastDeadline(t *testing.T) {
	retryInfo := answer(429, readSample(t, sample13RetryInfo)) // waits 26s
	for _, tc := range []struct {
		name     string
		o        Options
		deadline time.Duration // on the caller's context; 0 for none
		reply    reply
		stream   bool
	}{
		{"context deadline, RetryInfo", Options{}, 20 * time.Second, retryInfo, false},
		{"client timeout, RetryInfo", Options{Timeout: 20 * time.Second}, 0, retryInfo, false},
		{"client timeout, backoff", Options{Timeout: 10 * time.Second, Retry: RetryPolicy{BaseDelay: 40 * time.Second, MaxDelay: time.Minute}}, 0, answer(503, rpcError(503)), false},
		{"stream timeout, RetryInfo", Options{Timeout: 20 * time.Second}, 0, retryInfo, true},
		{"stream context deadline, backoff", Options{Retry: RetryPolicy{BaseDelay: 40 * time.Second, MaxDelay: time.Minute}}, 10 * time.Second, answer(503, rpcError(503)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, tc.reply)
			s := &sleeper{}
			tc.o.Retry.MaxAttempts = 3
			if tc.o.Retry.MaxDelay == 0 {
				tc.o.Retry.MaxDelay = time.Minute
			}
			c := newTestClient(t, u, s, tc.o)
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			var err error
			if tc.stream {
				var st *Stream
				if st, err = c.Stream(ctx, testModel, []byte(testBody)); st != nil {
					st.Close()
				}
			} else {
				_, err = c.Generate(ctx, testModel, []byte(testBody))
			}
			var ae *APIError
			if !errors.As(err, &ae) || !ae.Retryable() {
				t.Fatalf("err = %v, want the retryable upstream error back", err)
			}
			if n, w := u.requests(), s.waits(); n != 1 || len(w) != 0 {
				t.Errorf("upstream saw %d requests after waits %v, want 1 and none", n, w)
			}
		})
	}
}

// TestNoRetryOnPerDayQuota pins that a 429 whose QuotaFailure names a per-day quota is not
// retried even with a short RetryInfo: no wait of seconds cures a daily limit. The body is the
// recorded 429 with its per-minute quotaId replaced by the per-day one Google sends.
func TestNoRetryOnPerDayQuota(t *testing.T) {
	rec := readSample(t, sample13RetryInfo)
	perDay := strings.Replace(rec, "GenerateContentInputTokensPerModelPerMinute-FreeTier", "GenerateRequestsPerDayPerProjectPerModel-FreeTier", 1)
	if perDay == rec {
		t.Fatal("sample 13 no longer holds the per-minute quotaId")
	}
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			u := newUpstream(t, answer(429, perDay))
			s := &sleeper{}
			c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Minute}})
			var err error
			if stream {
				_, err = c.Stream(t.Context(), testModel, []byte(testBody))
			} else {
				_, err = c.Generate(t.Context(), testModel, []byte(testBody))
			}
			var ae *APIError
			if !errors.As(err, &ae) || !ae.PerDay() || ae.Retryable() || ae.RetryDelay != 26*time.Second {
				t.Fatalf("err = %v (%+v), want a per-day 429 that is not retryable", err, ae)
			}
			if n, w := u.requests(), s.waits(); n != 1 || len(w) != 0 {
				t.Errorf("upstream saw %d requests after waits %v, want 1 and none", n, w)
			}
		})
	}
}

// TestGenerateStopsWhenContextEndsDuringBackoff pins that a caller who goes away during a wait
// gets its context's error, and no further request is sent.
func TestGenerateStopsWhenContextEndsDuringBackoff(t *testing.T) {
	u := newUpstream(t, answer(503, rpcError(503)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &sleeper{hook: cancel}
	c := newTestClient(t, u, s, Options{})
	_, err := c.Generate(ctx, testModel, []byte(testBody))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func event(text string) string {
	return `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"` + text + `"}]}}]}` + "\n\n"
}

// readAll reads a stream to its end and returns the texts and the error that ended it
// (nil at io.EOF).
func readAll(t *testing.T, st *Stream) ([]string, error) {
	t.Helper()
	defer st.Close()
	var texts []string
	for {
		r, err := st.Next()
		if errors.Is(err, io.EOF) {
			return texts, nil
		}
		if err != nil {
			return texts, err
		}
		texts = append(texts, text(t, r))
	}
}

// TestStreamRetriesBeforeFirstByte pins that a stream request answered 503 or reset before the
// 200 is retried like a unary one.
func TestStreamRetriesBeforeFirstByte(t *testing.T) {
	u := newUpstream(t, answer(503, rpcError(503)), resetConnection, sse(event("a"), event("b")))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3}})
	st, err := c.Stream(t.Context(), testModel, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := readAll(t, st)
	if err != nil || strings.Join(texts, "") != "ab" {
		t.Errorf("texts = %q, err = %v", texts, err)
	}
	if n, w := u.requests(), s.waits(); n != 3 || len(w) != 2 {
		t.Errorf("upstream saw %d requests after waits %v, want 3 after two", n, w)
	}
}

// TestStreamNeverRetriesAfterFirstByte pins that once the 200 is in, a failure is the caller's:
// a connection cut mid-stream is a TransportError and an error event is an APIError, each after
// the events before it, and the request is not sent again (the client has seen output).
func TestStreamNeverRetriesAfterFirstByte(t *testing.T) {
	cut := func(w http.ResponseWriter, r *http.Request) {
		sse(event("a"))(w, r)
		panic(http.ErrAbortHandler) // drop the connection without ending the chunked body
	}
	errorEvent := sse(event("a"), `data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`+"\n\n")
	for _, tc := range []struct {
		name  string
		reply reply
		check func(error) bool
	}{
		{"connection cut", cut, func(err error) bool { var te *TransportError; return errors.As(err, &te) }},
		{"error event", errorEvent, func(err error) bool {
			var ae *APIError
			return errors.As(err, &ae) && ae.Status == "UNAVAILABLE" && ae.Message == "The model is overloaded."
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, tc.reply, sse(event("again")))
			s := &sleeper{}
			c := newTestClient(t, u, s, Options{Retry: RetryPolicy{MaxAttempts: 3}})
			st, err := c.Stream(t.Context(), testModel, []byte(testBody))
			if err != nil {
				t.Fatal(err)
			}
			texts, err := readAll(t, st)
			if len(texts) != 1 || texts[0] != "a" || !tc.check(err) {
				t.Errorf("texts = %q, err = %v (%T)", texts, err, err)
			}
			if n, w := u.requests(), s.waits(); n != 1 || len(w) != 0 {
				t.Errorf("upstream saw %d requests after waits %v, want 1 and none", n, w)
			}
		})
	}
}

// TestStreamErrorStatusWithEventStreamType pins the recorded 404 on a stream request: Google
// answers Content-Type text/event-stream with a plain JSON error body, which must come back as
// the APIError it is, not as a stream.
func TestStreamErrorStatusWithEventStreamType(t *testing.T) {
	u := newUpstream(t, answer(404, readSample(t, sample09NotFound), "Content-Type", "text/event-stream"))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{})
	st, err := c.Stream(t.Context(), testModel, []byte(testBody))
	if st != nil {
		st.Close()
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 || ae.Status != "NOT_FOUND" ||
		!strings.HasPrefix(ae.Message, "models/custom-gemini-2.0-flash is not found for API version v1beta") {
		t.Fatalf("err = %v, want the recorded NOT_FOUND", err)
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

// TestStreamFraming pins SSE framing end to end through the client: comments, CRLF line ends,
// an event's data split over two data: lines (joined with a newline, which JSON reads as
// space), event:/id: fields, events and line ends cut across writes, and a last event with no
// blank line after it.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
func TestStreamFraming(t *testing.T) {
	u := newUpstream(t, sse(
		": keep-alive\r\n\r\n",
		`data: {"candidates":[{"content":{"role":"model","parts":[{"te`, `xt":"a"}]}}]}`+"\r", "\n\r\n",
		"event: message\nid: 2\n",
		`data: {"candidates":`+"\n", `data: [{"content":{"parts":[{"text":"b"}]}}]}`+"\n\n",
		":\n",
		`data: {"candidates":[{"content":{"parts":[{"text":"c"}]}}]}`,
	))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{})
	st, err := c.Stream(t.Context(), testModel, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := readAll(t, st)
	if err != nil || strings.Join(texts, ",") != "a,b,c" {
		t.Errorf("texts = %q, err = %v", texts, err)
	}
}

// TestStreamOutOfBandError pins that a bare JSON error line written outside data: mid-stream
// (seen from Vertex) ends the stream with its APIError.
func TestStreamOutOfBandError(t *testing.T) {
	u := newUpstream(t, sse(event("a"), `{"error":{"code":429,"message":"Resource exhausted.","status":"RESOURCE_EXHAUSTED"}}`+"\n"))
	c := newTestClient(t, u, &sleeper{}, Options{})
	st, err := c.Stream(t.Context(), testModel, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := readAll(t, st)
	var ae *APIError
	if len(texts) != 1 || !errors.As(err, &ae) || ae.Status != "RESOURCE_EXHAUSTED" {
		t.Errorf("texts = %q, err = %v", texts, err)
	}
}

// TestParseErrorWireSamples pins the decoding of each recorded error body: status and message
// from the google.rpc.Status, RetryInfo's delay, QuotaFailure's quota ids, the array wrapping,
// and which of them may be retried.
func TestParseErrorWireSamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		status    int
		want      APIError
		retryable bool
	}{
		{sample09NotFound, 404, APIError{HTTPStatus: 404, Code: 404, Status: "NOT_FOUND",
			Message: "models/custom-gemini-2.0-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."}, false},
		{sample12BadField, 400, APIError{HTTPStatus: 400, Code: 400, Status: "INVALID_ARGUMENT",
			Message: `Invalid JSON payload received. Unknown name "includeThoughts" at 'generation_config': Cannot find field.`}, false},
		{sample13RetryInfo, 429, APIError{HTTPStatus: 429, Code: 429, Status: "RESOURCE_EXHAUSTED",
			Message:    "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
			RetryDelay: 26 * time.Second, QuotaIDs: []string{"GenerateContentInputTokensPerModelPerMinute-FreeTier"}}, true},
		{sample17Array, 429, APIError{HTTPStatus: 429, Code: 429, Status: "RESOURCE_EXHAUSTED",
			Message: "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."}, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := ParseError(tc.status, http.Header{}, []byte(readSample(t, tc.file)))
			if got.HTTPStatus != tc.want.HTTPStatus || got.Code != tc.want.Code || got.Status != tc.want.Status ||
				got.Message != tc.want.Message || got.RetryDelay != tc.want.RetryDelay ||
				strings.Join(got.QuotaIDs, ",") != strings.Join(tc.want.QuotaIDs, ",") {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
			if got.Retryable() != tc.retryable || got.PerDay() {
				t.Errorf("Retryable() = %v, PerDay() = %v", got.Retryable(), got.PerDay())
			}
		})
	}
}

// TestParseErrorRetryAfter pins the Retry-After header forms (RFC 9110 §10.2.3): delay-seconds,
// an HTTP date, and that RetryInfo in the body wins over the header.
func TestParseErrorRetryAfter(t *testing.T) {
	h := http.Header{"Retry-After": {"120"}}
	if e := ParseError(503, h, []byte(rpcError(503))); e.RetryDelay != 2*time.Minute {
		t.Errorf("seconds: RetryDelay = %v", e.RetryDelay)
	}
	h = http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}
	if e := ParseError(503, h, []byte(rpcError(503))); e.RetryDelay <= 58*time.Minute || e.RetryDelay > time.Hour {
		t.Errorf("date an hour ahead: RetryDelay = %v", e.RetryDelay)
	}
	h = http.Header{"Retry-After": {"5"}}
	if e := ParseError(429, h, []byte(readSample(t, sample13RetryInfo))); e.RetryDelay != 26*time.Second {
		t.Errorf("RetryInfo and header: RetryDelay = %v, want the body's 26s", e.RetryDelay)
	}
	h = http.Header{"Retry-After": {"soon"}}
	if e := ParseError(503, h, []byte(rpcError(503))); e.RetryDelay != 0 {
		t.Errorf("unparsable header: RetryDelay = %v", e.RetryDelay)
	}
}

// TestParseErrorNonJSON pins that a body that is not a google.rpc.Status (an HTML page from a
// proxy, an empty body) keeps the HTTP status, the matching code name, and a bounded message.
func TestParseErrorNonJSON(t *testing.T) {
	long := "<html>" + strings.Repeat("x", 1000) + "</html>"
	for _, tc := range []struct {
		status     int
		body, name string
		msg        string
	}{
		{502, "<html>bad gateway</html>", "INTERNAL", "<html>bad gateway</html>"},
		{503, "", "UNAVAILABLE", "Service Unavailable"},
		{504, long, "DEADLINE_EXCEEDED", long[:300] + "…"},
		{429, `[]`, "RESOURCE_EXHAUSTED", "[]"},
	} {
		e := ParseError(tc.status, http.Header{}, []byte(tc.body))
		if e.HTTPStatus != tc.status || e.Status != tc.name || e.Message != tc.msg {
			t.Errorf("%d %.20q: %+v", tc.status, tc.body, e)
		}
	}
}

// TestMalformedSuccessBody pins that a 200 whose body is not JSON is a MalformedError and is
// not retried (sending the same request again would be a second billed call).
func TestMalformedSuccessBody(t *testing.T) {
	u := newUpstream(t, answer(200, `{"candidates":[`))
	s := &sleeper{}
	c := newTestClient(t, u, s, Options{})
	_, err := c.Generate(t.Context(), testModel, []byte(testBody))
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want MalformedError", err)
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

// TestPlainClientCallsTransport pins how a call goes out: through the transport itself for a
// plain http.Client (a redirect, which Google's APIs do not send, comes back as the error it
// is), and through http.Client.Do, redirects followed, for one with a policy of its own.
func TestPlainClientCallsTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/moved/") {
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okBody)
	}))
	t.Cleanup(srv.Close)
	for _, followed := range []bool{false, true} {
		hc := &http.Client{}
		if followed {
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
		}
		c, err := New(Options{Backend: Developer, BaseURL: srv.URL, APIKey: "k", HTTPClient: hc, Retry: RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Generate(t.Context(), testModel, []byte(testBody))
		if followed && (err != nil || text(t, resp) != "Rayleigh scattering.") {
			t.Errorf("with a redirect policy: %v", err)
		}
		var ge *APIError
		if !followed && (!errors.As(err, &ge) || ge.HTTPStatus != http.StatusTemporaryRedirect) {
			t.Errorf("plain client: %v, want the 307 as an error", err)
		}
	}
}

// TestGenerateTimeoutCause pins how a unary call ends when it takes too long or its caller goes:
// with ErrTimeout once the client's timeout passes, with the caller's own error when the caller's
// deadline comes first (its context is then used as it is) or the caller cancels; and in each
// case the upstream request is cancelled.
func TestGenerateTimeoutCause(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  time.Duration // the client's
		deadline time.Duration // the caller's; 0 for none
		cancel   bool          // the caller cancels once the upstream has the request
		want     error
	}{
		{"client timeout", 50 * time.Millisecond, 0, false, ErrTimeout},
		{"client timeout before the caller's deadline", 50 * time.Millisecond, time.Hour, false, ErrTimeout},
		{"caller's deadline first", time.Hour, 50 * time.Millisecond, false, context.DeadlineExceeded},
		{"caller cancels", time.Hour, 0, true, context.Canceled},
		{"caller cancels before its deadline", time.Hour, time.Minute, true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrived, cancelled := make(chan struct{}), make(chan struct{})
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				close(arrived)
				<-r.Context().Done()
				close(cancelled)
			})
			c := newTestClient(t, u, &sleeper{}, Options{Timeout: tc.timeout, Retry: RetryPolicy{MaxAttempts: 1}})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.deadline > 0 {
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			if tc.cancel {
				go func() {
					<-arrived
					cancel()
				}()
			}
			_, err := c.Generate(ctx, testModel, []byte(testBody))
			if !errors.Is(err, tc.want) || tc.want != ErrTimeout && errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			select {
			case <-cancelled:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream request was not cancelled")
			}
		})
	}
}

// TestWithTimeout pins withTimeout against context.WithTimeoutCause: a caller's context that
// ends first is used as it is, and its cancel leaves it alone; otherwise the context has the
// client's deadline, ends with ErrTimeout as its cause when it passes, and with
// context.Canceled when cancelled.
func TestWithTimeout(t *testing.T) {
	c := &Client{o: Options{Timeout: time.Hour}}
	parent, stop := context.WithTimeout(t.Context(), time.Minute)
	defer stop()
	ctx, cancel := c.withTimeout(parent)
	if ctx != parent {
		t.Errorf("with an earlier deadline the context is %v, want the caller's", ctx)
	}
	cancel()
	if parent.Err() != nil {
		t.Errorf("cancel ended the caller's context: %v", parent.Err())
	}

	before := time.Now()
	ctx, cancel = c.withTimeout(t.Context())
	if dl, ok := ctx.Deadline(); !ok || dl.Before(before.Add(time.Hour)) || dl.After(time.Now().Add(time.Hour)) {
		t.Errorf("deadline %v, %v; want the client's timeout from now", dl, ok)
	}
	cancel()
	if ctx.Err() != context.Canceled || context.Cause(ctx) != context.Canceled {
		t.Errorf("after cancel: %v, cause %v", ctx.Err(), context.Cause(ctx))
	}

	c.o.Timeout = time.Millisecond
	ctx, cancel = c.withTimeout(t.Context())
	defer cancel()
	<-ctx.Done()
	if ctx.Err() != context.DeadlineExceeded || context.Cause(ctx) != ErrTimeout {
		t.Errorf("after the timeout: %v, cause %v", ctx.Err(), context.Cause(ctx))
	}
}
