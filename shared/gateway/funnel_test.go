package gateway_test

// Tests of the one error funnel: what a returned error, a panic, or a failure racing a
// keep-alive becomes on the wire and in the log line, the routes' error bodies, and
// GET /v1/models/{id}.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// panicTransport is an in-process upstream that panics when the gateway calls it, in the
// handler's goroutine, before anything was written to the client.
type panicTransport struct{ v any }

func (p panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic(p.v) }

// midStreamPanicTransport answers 200 with one SSE event and then panics on the next read of
// the body: the handler panics after the stream's first byte went out.
type midStreamPanicTransport struct{}

func (midStreamPanicTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(io.MultiReader(strings.NewReader("data: "+firstEvent+"\n\n"), panicReader{})), ContentLength: -1, Request: r}, nil
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("boom mid-stream") }

// transportGateway serves the gateway with an in-process upstream rt and a JSON logger writing
// to logs.
func transportGateway(t *testing.T, rt http.RoundTripper, logs *syncBuffer, mod func(*gateway.Options)) *httptest.Server {
	t.Helper()
	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: "http://upstream.invalid", APIKey: "gemini-key",
		HTTPClient: &http.Client{Transport: rt}, Timeout: 5 * time.Second, Retry: gemini.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, err := keys.ParseList("tester:" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	o := gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), MaxBodyBytes: 1 << 20,
		Logger: gateway.NewLogger(logs, slog.LevelDebug)}
	if mod != nil {
		mod(&o)
	}
	srv := httptest.NewServer(gateway.New(o))
	t.Cleanup(srv.Close)
	return srv
}

// logLines decodes the JSON log lines written so far.
func logLines(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// readAll reads a whole response.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response (status %d): %v; read so far:\n%s", resp.StatusCode, err, b)
	}
	return string(b)
}

// wantErrorBody checks our JSON error body: status, Content-Type, code, and the trace id that is
// also the X-Request-Id header.
func wantErrorBody(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q, want %d JSON: %s", resp.StatusCode, resp.Header.Get("Content-Type"), status, body)
	}
	var eb struct {
		Success *bool `json:"success"`
		Error   struct {
			Message, Type, Code string
		} `json:"error"`
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		t.Fatalf("not one JSON error body (%v): %q", err, body)
	}
	if eb.Success == nil || *eb.Success || eb.Error.Code != code || eb.Error.Message == "" || eb.TraceID == "" || eb.TraceID != resp.Header.Get("X-Request-Id") {
		t.Errorf("error body = %s (X-Request-Id %q), want code %q", body, resp.Header.Get("X-Request-Id"), code)
	}
}

// TestPanicIsAnsweredThroughTheFunnel pins that the core owns panics: before the first byte a
// panic is our 500 api_error body, after the first byte of a stream one final error event; the
// request's one log line is ERROR with the panic and its stack (none for http.ErrAbortHandler,
// as net/http logs none); and the handler goes on serving.
func TestPanicIsAnsweredThroughTheFunnel(t *testing.T) {
	cases := []struct {
		name      string
		rt        http.RoundTripper
		body      string
		midStream bool
		wantError string // the log line's "error"
		wantStack bool
	}{
		{name: "unary before the first byte", rt: panicTransport{"boom"}, body: unaryChat, wantError: "panic: boom", wantStack: true},
		{name: "stream before the first byte", rt: panicTransport{"boom"}, body: streamChat, wantError: "panic: boom", wantStack: true},
		{name: "ErrAbortHandler before the first byte", rt: panicTransport{http.ErrAbortHandler}, body: streamChat,
			wantError: "panic: " + http.ErrAbortHandler.Error()},
		{name: "stream after the first byte", rt: midStreamPanicTransport{}, body: streamChat, midStream: true,
			wantError: "panic: boom mid-stream", wantStack: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			srv := transportGateway(t, tc.rt, &logs, nil)
			resp := rawPost(t, srv.URL+"/v1/chat/completions", testKey, tc.body)
			body := readAll(t, resp)
			if tc.midStream {
				wantStreamError(t, resp.StatusCode, body, "api_error")
			} else {
				wantErrorBody(t, resp, body, 500, "api_error")
				if strings.Contains(body, "boom") {
					t.Errorf("the panic value reached the client: %s", body)
				}
			}
			// The handler is still in service: a request that does not reach the upstream.
			resp = rawPost(t, srv.URL+"/v1/chat/completions", "", tc.body)
			wantErrorBody(t, resp, readAll(t, resp), 401, "invalid_token")
			srv.Close() // wait for the handlers, so their lines are written

			lines := logLines(t, &logs)
			if len(lines) != 2 {
				t.Fatalf("want one log line per request, got %d:\n%s", len(lines), logs.String())
			}
			l := lines[0]
			wantStatus := 500.0
			if tc.midStream {
				wantStatus = 200 // what was sent; the failure is error_status
				if l["error_status"] != 500.0 {
					t.Errorf("error_status = %v, want 500", l["error_status"])
				}
			}
			if l["severity"] != "ERROR" || l["status"] != wantStatus || l["error_code"] != "api_error" || l["error"] != tc.wantError {
				t.Errorf("log line: severity %v status %v error_code %v error %q; want ERROR %v api_error %q",
					l["severity"], l["status"], l["error_code"], l["error"], wantStatus, tc.wantError)
			}
			stack, _ := l["stack"].(string)
			if tc.wantStack != strings.Contains(stack, "goroutine") {
				t.Errorf("stack logged = %v, want %v: %q", stack != "", tc.wantStack, stack)
			}
			if tc.wantStack && !strings.Contains(stack, "Read") && !strings.Contains(stack, "RoundTrip") {
				t.Errorf("the stack does not show where the panic happened:\n%s", stack)
			}
		})
	}
}

// TestLogStatusIsWhatWasSent pins that the log line's status is read from the response: the
// status sent, with the funnel's error as error_code (and error_status when the stream had
// already sent 200), and 200 for a HEAD whose body is discarded.
func TestLogStatusIsWhatWasSent(t *testing.T) {
	var logs syncBuffer
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") == "sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", firstEvent) // and then the connection ends early
			return
		}
		googleError(w, 429, "RESOURCE_EXHAUSTED", quotaDetails("GenerateRequestsPerMinutePerProjectPerModel", "3s"))
	})
	g := newGateway(t, up, func(o *gateway.Options) {
		o.Logger = gateway.NewLogger(&logs, slog.LevelDebug)
		o.Client, _ = gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: up.srv.URL, APIKey: "gemini-key",
			Timeout: 5 * time.Second, Retry: gemini.RetryPolicy{MaxAttempts: 1}})
	})
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, unaryChat)
	wantErrorBody(t, resp, readAll(t, resp), 429, "too_many_requests")
	if resp.Header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q, want 3", resp.Header.Get("Retry-After"))
	}
	resp = rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, streamChat)
	wantStreamError(t, resp.StatusCode, readAll(t, resp), "upstream_error")
	req, _ := http.NewRequest(http.MethodHead, g.srv.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	g.srv.Close()

	lines := logLines(t, &logs)
	want := []struct {
		severity    string
		status      float64
		errorStatus any
		code        any
	}{
		{"WARNING", 429, nil, "too_many_requests"},
		{"ERROR", 200, 502.0, "upstream_error"},
		{"INFO", 200, nil, nil},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		l := lines[i]
		if l["severity"] != w.severity || l["status"] != w.status || l["error_status"] != w.errorStatus || l["error_code"] != w.code {
			t.Errorf("line %d: severity %v status %v error_status %v error_code %v; want %v %v %v %v",
				i, l["severity"], l["status"], l["error_status"], l["error_code"], w.severity, w.status, w.errorStatus, w.code)
		}
		if hr, _ := l["httpRequest"].(map[string]any); hr["status"] != w.status {
			t.Errorf("line %d: httpRequest.status %v, want %v", i, hr["status"], w.status)
		}
	}
}

// TestKeepAliveRacesStreamFailure drives keep-alives (every microsecond) against a stream whose
// upstream fails before its first event, many times: each answer is either our JSON error with
// its real status (nothing had been sent) or an SSE stream of keep-alives ending in one error
// event, never 200 SSE headers followed by a JSON error body. Run it under -race; the
// deterministic interleaving is TestKeepAliveInTheFailureWindow.
func TestKeepAliveRacesStreamFailure(t *testing.T) {
	leakCheck(t)
	rng := rand.New(rand.NewPCG(3, 4))
	delays := make(chan time.Duration, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(<-delays) // 0-49µs: the failure lands anywhere among the keep-alives
		fmt.Fprint(w, "data: not json\n\n")
	})
	f := newFaultEnv(t, up, faultOpts{mod: func(o *gateway.Options) { o.KeepAlive = time.Microsecond }})
	const runs = 200
	var asJSON, asSSE int
	for range runs {
		delays <- time.Duration(rng.IntN(50)) * time.Microsecond
		status, hdr, body := f.do(t, streamChat)
		switch ct := hdr.Get("Content-Type"); {
		case status == 502 && strings.HasPrefix(ct, "application/json"):
			asJSON++
			if code := errorCode(t, body); code != "upstream_error" {
				t.Fatalf("JSON error code %q: %s", code, body)
			}
		case status == 200 && strings.HasPrefix(ct, "text/event-stream"):
			asSSE++
			data := sseData(t, body) // fails on anything that is not an SSE event or comment
			if len(data) != 1 || errorCode(t, data[0]) != "upstream_error" || !strings.HasPrefix(body, ": keep-alive\n\n") {
				t.Fatalf("want keep-alives then one error event, got:\n%q", body)
			}
		default:
			t.Fatalf("status %d, Content-Type %q:\n%q", status, ct, body)
		}
	}
	t.Logf("%d runs: %d JSON errors, %d streams ending in an error event", runs, asJSON, asSSE)
	f.waitHandlers(t, runs)
}

// TestModelRetrieve pins GET /v1/models/{id} (and /models/{id}) through the official client: the
// OpenAI model object for a listed model or alias, with or without "google/", and 404
// model_not_found in our body for anything else, a gemini-* id the table does not list included.
// https://platform.openai.com/docs/api-reference/models/retrieve
func TestModelRetrieve(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	for _, id := range []string{"gemini-2.5-flash", "gemini-3.1-pro", "google/gemini-2.5-flash", "google/nano-banana"} {
		m, err := g.client.Models.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Get(%q): %v", id, err)
		}
		if m.ID != id || m.Object != "model" || m.OwnedBy != "google" || m.Created == 0 {
			t.Errorf("Get(%q) = %+v", id, m)
		}
	}
	for _, id := range []string{"gpt-4o", "gemini-9-ultra", "google/"} {
		_, err := g.client.Models.Get(t.Context(), id)
		var apiErr *oai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Errorf("Get(%q): err = %v, want 404 model_not_found", id, err)
		}
	}
	for _, tc := range []struct {
		path, key string
		status    int
		code      string
	}{
		{"/models/gemini-2.5-flash", testKey, 200, ""},
		{"/v1/models/google%2Fgemini-2.5-flash", testKey, 200, ""},
		{"/v1/models/gemini-2.5-flash", "", 401, "invalid_token"},
		{"/v1/models/nope", testKey, 404, "model_not_found"},
	} {
		req, _ := http.NewRequest(http.MethodGet, g.srv.URL+tc.path, nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if tc.status != 200 {
			wantErrorBody(t, resp, body, tc.status, tc.code)
			continue
		}
		var m openai.Model
		if err := json.Unmarshal([]byte(body), &m); resp.StatusCode != 200 || err != nil || m.Object != "model" || !strings.HasSuffix(m.ID, "gemini-2.5-flash") {
			t.Errorf("GET %s = %d %s", tc.path, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, g.srv.URL+"/v1/models/gemini-2.5-flash", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wantErrorBody(t, resp, readAll(t, resp), 405, "method_not_allowed")
	if resp.Header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q", resp.Header.Get("Allow"))
	}
}

// TestUncleanPathsAreJSON404 pins that a path not in its clean form is not found in our JSON
// body, naming the clean path, through a plain net/http server as the Lambda adapter hands the
// handler the raw path. (On Cloud Functions, functions-framework's ServeMux answers these with
// a 307 to the clean path before the gateway sees them.)
func TestUncleanPathsAreJSON404(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	for _, tc := range []struct{ method, path, clean string }{
		{http.MethodGet, "/v1/../v1/models", "/v1/models"},
		{http.MethodPost, "//v1/chat/completions", "/v1/chat/completions"},
		{http.MethodGet, "/v1/./models", "/v1/models"},
		{http.MethodPost, "/v1/chat/completions/", "/v1/chat/completions"},
	} {
		req, _ := http.NewRequest(tc.method, g.srv.URL+tc.path, strings.NewReader(unaryChat))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		if req.URL.Path != tc.path {
			t.Fatalf("the client would send %q, not %q", req.URL.Path, tc.path)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		wantErrorBody(t, resp, body, 404, "not_found")
		if !strings.Contains(body, "did you mean "+tc.clean+"?") {
			t.Errorf("%s %s: message does not name %s: %s", tc.method, tc.path, tc.clean, body)
		}
	}
	if c := g.up.calls.Load(); c != 0 {
		t.Errorf("upstream called %d times", c)
	}
}

// TestWriteErrorIsTheFunnelsBody pins the exported WriteError (for adapters): the same body,
// status, Retry-After and trace id as the handler's own errors.
func TestWriteErrorIsTheFunnelsBody(t *testing.T) {
	const trace = "0af7651916cd43dd8448eb211c80319c"
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req.Header.Set("Traceparent", "00-"+trace+"-b7ad6b7169203331-01")
	e := openai.Errorf(http.StatusTooManyRequests, openai.CodeTooManyRequests, "", "slow down")
	e.RetryAfter = 1500 * time.Millisecond
	w := httptest.NewRecorder()
	gateway.WriteError(w, req, fmt.Errorf("wrapped: %w", e))
	resp := w.Result()
	wantErrorBody(t, resp, w.Body.String(), 429, "too_many_requests")
	if resp.Header.Get("X-Request-Id") != trace || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("X-Request-Id %q, Retry-After %q", resp.Header.Get("X-Request-Id"), resp.Header.Get("Retry-After"))
	}

	w = httptest.NewRecorder()
	gateway.WriteError(w, req, errors.New("the gateway failed to start"))
	wantErrorBody(t, w.Result(), w.Body.String(), 500, "api_error")
	if strings.Contains(w.Body.String(), "failed to start") {
		t.Errorf("an internal error's text reached the client: %s", w.Body.String())
	}
}
