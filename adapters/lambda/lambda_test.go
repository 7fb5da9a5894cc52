package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/geminigateway/gateway/shared/batch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editEvent decodes a testdata event, lets edit change it and encodes it again.
func editEvent(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readEvent(t, name), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestKindOf pins how one bootstrap tells the event kinds apart, on real event JSON.
func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		file string
		want kind
	}{
		{"function-url-request.json", httpEvent},
		{"function-url-base64-body.json", httpEvent},
		{"http-api-v2-request.json", httpEvent},
		{"sqs-event.json", sqsEvent},
		{"s3-event.json", s3Event},
		{"rest-api-v1-request.json", unknownEvent},
	} {
		if got := kindOf(readEvent(t, tc.file)); got != tc.want {
			t.Errorf("kindOf(%s) = %v, want %v", tc.file, got, tc.want)
		}
	}
	for _, raw := range []string{`{}`, `null`, `"x"`, `{"Records":[]}`, `{"Records":[{"eventSource":"aws:sns"}]}`, `{"requestContext":{"http":null}}`, `not json`} {
		if got := kindOf([]byte(raw)); got != unknownEvent {
			t.Errorf("kindOf(%s) = %v, want unknown", raw, got)
		}
	}
}

// TestUnsupportedEventIsAnError pins that an event of another kind fails the invocation
// instead of being answered as if it were a request.
func TestUnsupportedEventIsAnError(t *testing.T) {
	h := NewHandler(Config{Handler: http.NotFoundHandler(), Logger: quietLogger()})
	if _, err := h(t.Context(), readEvent(t, "rest-api-v1-request.json")); !errors.Is(err, errUnsupported) {
		t.Fatalf("err = %v, want errUnsupported", err)
	}
}

// TestNewRequestMapsFunctionURLEvent pins the request mapping on a captured Function URL event:
// method, path, query, headers (repeated values stay comma-joined, as Lambda sends them),
// cookies back in one Cookie header, source IP, host and body.
func TestNewRequestMapsFunctionURLEvent(t *testing.T) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readEvent(t, "function-url-request.json"), &ev); err != nil {
		t.Fatal(err)
	}
	r, err := newRequest(t.Context(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	got := map[string]string{
		"method":  r.Method,
		"url":     r.URL.String(),
		"host":    r.Host,
		"uri":     r.RequestURI,
		"remote":  r.RemoteAddr,
		"proto":   r.Proto,
		"header2": r.Header.Get("Header2"),
		"ctype":   r.Header.Get("Content-Type"),
		"cookie":  r.Header.Get("Cookie"),
		"foo":     r.URL.Query().Get("foo"),
		"body":    string(body),
		"length":  fmt.Sprint(r.ContentLength),
		"hosthdr": r.Header.Get("Host"),
	}
	want := map[string]string{
		"method":  "POST",
		"url":     "https://lambda-url-id.lambda-url.us-west-2.on.aws/hello?hello=world&foo=bar",
		"host":    "lambda-url-id.lambda-url.us-west-2.on.aws",
		"uri":     "/hello?hello=world&foo=bar",
		"remote":  "127.0.0.1",
		"proto":   "HTTP/1.1",
		"header2": "h1,h2",
		"ctype":   "application/json",
		"cookie":  "foo=bar; hello=hello",
		"foo":     "bar",
		"body":    `{"hello": "world"}`,
		"length":  "18",
		"hosthdr": "", // in r.Host, as net/http servers do
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
	if c, err := r.Cookie("hello"); err != nil || c.Value != "hello" {
		t.Errorf("Cookie(hello) = %v, %v", c, err)
	}
}

// TestNewRequestDecodesBase64Body pins that isBase64Encoded bodies reach the handler decoded.
func TestNewRequestDecodesBase64Body(t *testing.T) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readEvent(t, "function-url-base64-body.json"), &ev); err != nil {
		t.Fatal(err)
	}
	r, err := newRequest(t.Context(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if string(body) != "<idk/>" || r.ContentLength != 6 {
		t.Errorf("body = %q (length %d), want <idk/> (6)", body, r.ContentLength)
	}
	ev.Body = "not base64!"
	if _, err := newRequest(t.Context(), &ev); err == nil {
		t.Error("bad base64: no error")
	}
}

// TestNewRequestStripsHTTPAPIStage pins that a named HTTP API stage, which prefixes rawPath,
// does not reach the handler's routing; $default has no prefix.
func TestNewRequestStripsHTTPAPIStage(t *testing.T) {
	for _, tc := range []struct{ stage, rawPath, want string }{
		{"$default", "/v1/models", "/v1/models"},
		{"prod", "/prod/v1/models", "/v1/models"},
		{"prod", "/prod", "/"},
		{"prod", "/production/v1", "/production/v1"},
	} {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readEvent(t, "http-api-v2-request.json"), &ev); err != nil {
			t.Fatal(err)
		}
		ev.RequestContext.Stage, ev.RawPath = tc.stage, tc.rawPath
		r, err := newRequest(t.Context(), &ev)
		if err != nil {
			t.Fatal(err)
		}
		if r.URL.Path != tc.want {
			t.Errorf("stage %q rawPath %q: path = %q, want %q", tc.stage, tc.rawPath, r.URL.Path, tc.want)
		}
	}
}

// TestDeadlineIsRequestDeadline pins that the invocation's deadline bounds the request.
func TestDeadlineIsRequestDeadline(t *testing.T) {
	deadline := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	for _, mode := range []Mode{Stream, Buffered} {
		var got time.Time
		h := NewHandler(Config{Mode: mode, Logger: quietLogger(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = r.Context().Deadline()
		})})
		resp, err := h(ctx, readEvent(t, "http-api-v2-request.json"))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := resp.(io.Reader); ok {
			_, _ = io.ReadAll(s) // the handler has run once the body is drained
		}
		if !got.Equal(deadline) {
			t.Errorf("%s: handler deadline = %v, want %v", mode, got, deadline)
		}
	}
}

// splitStream parses a streamed response as Lambda does: prelude JSON, 8 NUL bytes, body.
func splitStream(t *testing.T, b []byte) (prelude map[string]any, body string) {
	t.Helper()
	i := bytes.Index(b, make([]byte, 8))
	if i < 0 {
		t.Fatalf("no 8-NUL separator in %q", b)
	}
	if err := json.Unmarshal(b[:i], &prelude); err != nil {
		t.Fatalf("prelude %q: %v", b[:i], err)
	}
	return prelude, string(b[i+8:])
}

func streamedCall(t *testing.T, h http.Handler, path string) (*events.LambdaFunctionURLStreamingResponse, []byte, error) {
	t.Helper()
	ev := editEvent(t, "function-url-request.json", func(m map[string]any) { m["rawPath"] = path })
	resp, err := NewHandler(Config{Handler: h, Logger: quietLogger()})(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := resp.(*events.LambdaFunctionURLStreamingResponse)
	if !ok {
		t.Fatalf("response is %T, want *events.LambdaFunctionURLStreamingResponse", resp)
	}
	b, rerr := io.ReadAll(sr)
	return sr, b, rerr
}

// TestStreamStatusHeadersAndCookies pins the prelude: status, headers (repeats joined with ","),
// Set-Cookie moved to cookies, and the sniffed Content-Type net/http would have sent.
func TestStreamStatusHeadersAndCookies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "k", Value: "v"})
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "<html>hi")
	})
	_, b, err := streamedCall(t, h, "/")
	if err != nil {
		t.Fatal(err)
	}
	prelude, body := splitStream(t, b)
	want := map[string]any{
		"statusCode": float64(418),
		"headers":    map[string]any{"X-Multi": "a,b"},
		"cookies":    []any{"k=v"},
	}
	if d := cmp.Diff(want, prelude); d != "" {
		t.Errorf("prelude (-want +got):\n%s", d)
	}
	if body != "<html>hi" {
		t.Errorf("body = %q", body)
	}

	_, b, _ = streamedCall(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>sniffed")
	}), "/")
	if prelude, _ := splitStream(t, b); prelude["headers"].(map[string]any)["Content-Type"] != "text/html; charset=utf-8" {
		t.Errorf("sniffed prelude = %v", prelude)
	}
	_, b, _ = streamedCall(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "/")
	if prelude, body := splitStream(t, b); prelude["statusCode"] != float64(200) || body != "" {
		t.Errorf("empty handler: prelude %v body %q", prelude, body)
	}
}

// TestStreamPanicBeforeWriteIs500 pins that a panic before any output becomes our 500 error
// body (the process survives; the handler's half-set headers are dropped).
func TestStreamPanicBeforeWriteIs500(t *testing.T) {
	_, b, err := streamedCall(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		panic("boom")
	}), "/")
	if err != nil {
		t.Fatal(err)
	}
	prelude, body := splitStream(t, b)
	headers, _ := prelude["headers"].(map[string]any)
	if prelude["statusCode"] != float64(500) || len(headers) != 2 || headers["Content-Type"] != "application/json" {
		t.Errorf("prelude = %v", prelude)
	}
	CheckInternalError(t, body, headers["X-Request-Id"])
}

// CheckInternalError (exported for runtime_test.go) checks that body is the core's 500 error body whose trace id is the
// X-Request-Id header's.
func CheckInternalError(t *testing.T, body string, requestID any) {
	t.Helper()
	var eb struct {
		Success *bool `json:"success"`
		Error   struct{ Message, Type, Code string }
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Success == nil || *eb.Success ||
		eb.Error.Code != "api_error" || eb.Error.Message != "internal error" || eb.TraceID == "" || eb.TraceID != requestID {
		t.Errorf("body = %s (X-Request-Id %v), want the core's internal error body", body, requestID)
	}
}

// TestStreamPanicMidStreamFailsTheBody pins that a panic after the status line ends the body
// with an error, which the Runtime API client turns into the error trailers.
func TestStreamPanicMidStreamFailsTheBody(t *testing.T) {
	_, b, err := streamedCall(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "data: 1\n\n")
		panic("boom")
	}), "/")
	if !errors.Is(err, errPanic) {
		t.Fatalf("read error = %v, want errPanic", err)
	}
	if !bytes.HasSuffix(b, []byte("data: 1\n\n")) {
		t.Errorf("body = %q", b)
	}
}

// TestStreamDeadlineBeforeHeaders pins that a handler silent past the deadline fails the
// invocation instead of hanging it, and that its later writes fail rather than block.
func TestStreamDeadlineBeforeHeaders(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	wrote := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		_, err := io.WriteString(w, "late")
		wrote <- err
	})
	_, err := NewHandler(Config{Handler: h, Logger: quietLogger()})(ctx, readEvent(t, "function-url-request.json"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if err := <-wrote; err == nil {
		t.Error("late write succeeded")
	}
}

// TestBufferedResponse pins the buffered (HTTP API / BUFFERED URL) response: status, joined
// headers, cookies, text body as is, binary body base64.
func TestBufferedResponse(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "k", Value: "v"})
		if r.URL.Path == "/bin" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0xff})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	call := func(path string) events.LambdaFunctionURLResponse {
		ev := editEvent(t, "http-api-v2-request.json", func(m map[string]any) { m["rawPath"] = path })
		resp, err := NewHandler(Config{Handler: h, Mode: Buffered, Logger: quietLogger()})(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(events.LambdaFunctionURLResponse)
	}
	want := events.LambdaFunctionURLResponse{
		StatusCode: 201,
		Headers:    map[string]string{"X-Multi": "a,b", "Content-Type": "application/json"},
		Cookies:    []string{"k=v"},
		Body:       `{"ok":true}`,
	}
	if d := cmp.Diff(want, call("/")); d != "" {
		t.Errorf("text response (-want +got):\n%s", d)
	}
	bin := call("/bin")
	if bin.StatusCode != 200 || !bin.IsBase64Encoded || bin.Body != "iVBOR/8=" {
		t.Errorf("binary response = %+v", bin)
	}
	b, _ := json.Marshal(call("/"))
	if !strings.Contains(string(b), `"statusCode":201`) || !strings.Contains(string(b), `"cookies":["k=v"]`) {
		t.Errorf("wire form = %s", b)
	}
}

// TestBufferedPanicIs500 pins that a panic in buffered mode is our 500 error body, whatever
// the handler had written before.
func TestBufferedPanicIs500(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "1")
		_, _ = io.WriteString(w, "partial")
		panic("boom")
	})
	resp, err := NewHandler(Config{Handler: h, Mode: Buffered, Logger: quietLogger()})(t.Context(), readEvent(t, "http-api-v2-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := resp.(events.LambdaFunctionURLResponse)
	if !ok || r.StatusCode != 500 || len(r.Headers) != 2 || r.Headers["Content-Type"] != "application/json" {
		t.Fatalf("response %+v", resp)
	}
	CheckInternalError(t, r.Body, r.Headers["X-Request-Id"])
}

// TestStreamModeBuffersAPIGateway pins that in stream mode a request that came through API
// Gateway (which cannot take a stream) still gets a buffered response, and a Function URL
// request a streamed one.
func TestStreamModeBuffersAPIGateway(t *testing.T) {
	h := NewHandler(Config{Handler: http.NotFoundHandler(), Mode: Stream, Logger: quietLogger()})
	resp, err := h(t.Context(), readEvent(t, "http-api-v2-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := resp.(events.LambdaFunctionURLResponse); !ok || r.StatusCode != 404 {
		t.Errorf("HTTP API event: response %T %+v, want a buffered 404", resp, resp)
	}
	resp, err = h(t.Context(), readEvent(t, "function-url-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := resp.(*events.LambdaFunctionURLStreamingResponse); !ok {
		t.Errorf("Function URL event: response %T, want streamed", resp)
	} else {
		_, _ = io.ReadAll(r)
	}
}

// --- jobs ---

// fakeJobs records what ran and answers by name: "transient…" is Redeliver, anything else
// Ack. The policy behind the outcome is the runner's, tested in shared/batch.
type fakeJobs struct {
	mu  sync.Mutex
	ran []string
}

func (f *fakeJobs) Handle(_ context.Context, j batch.Job) batch.Outcome {
	name := string(j.Message)
	if j.Name != "" {
		name = j.Bucket + "/" + j.Name
	}
	f.mu.Lock()
	f.ran = append(f.ran, name)
	f.mu.Unlock()
	if strings.HasPrefix(name[strings.LastIndexByte(name, '/')+1:], "transient") {
		return batch.Redeliver
	}
	return batch.Ack
}

func jobsConfig(j batch.Jobs) Config { return Config{Jobs: j, Logger: quietLogger()} }

// sqsBatch builds an SQS event from the testdata message, one record per body, ids m0, m1, ….
func sqsBatch(t *testing.T, arn string, bodies ...string) []byte {
	return editEvent(t, "sqs-event.json", func(m map[string]any) {
		tmpl := m["Records"].([]any)[0].(map[string]any)
		var recs []any
		for i, b := range bodies {
			r := make(map[string]any, len(tmpl))
			for k, v := range tmpl {
				r[k] = v
			}
			r["messageId"], r["body"], r["eventSourceARN"] = fmt.Sprintf("m%d", i), b, arn
			recs = append(recs, r)
		}
		m["Records"] = recs
	})
}

func failedIDs(t *testing.T, resp any) []string {
	t.Helper()
	r, ok := resp.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("response is %T", resp)
	}
	var ids []string
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

// TestSQSReportsOnlyRetryableFailures pins partial batch failures: exactly the messages the
// runner says to redeliver are reported.
func TestSQSReportsOnlyRetryableFailures(t *testing.T) {
	jobs := &fakeJobs{}
	h := NewHandler(jobsConfig(jobs))
	ev := sqsBatch(t, "arn:aws:sqs:us-west-2:123456789012:SQSQueue", "ok", "transient", "permanent", "transient2", "ok2")
	resp, err := h(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"m1", "m3"}, failedIDs(t, resp)); d != "" {
		t.Errorf("failed ids (-want +got):\n%s", d)
	}
	if len(jobs.ran) != 5 {
		t.Errorf("ran %v, want all 5", jobs.ran)
	}
	b, _ := json.Marshal(resp)
	if want := `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m3"}]}`; string(b) != want {
		t.Errorf("wire form = %s, want %s", b, want)
	}
	resp, _ = h(t.Context(), sqsBatch(t, "arn:aws:sqs:us-west-2:1:q", "ok"))
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("all ok: wire form = %s", b)
	}
}

// TestSQSFIFOStopsAtFirstFailure pins FIFO order: after the first retryable failure the rest
// of the batch is not run and is reported too, so redelivery keeps the group's order.
func TestSQSFIFOStopsAtFirstFailure(t *testing.T) {
	jobs := &fakeJobs{}
	resp, err := NewHandler(jobsConfig(jobs))(t.Context(), sqsBatch(t, "arn:aws:sqs:us-west-2:1:q.fifo", "a", "permanent", "transient", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"m2", "m3"}, failedIDs(t, resp)); d != "" {
		t.Errorf("failed ids (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a", "permanent", "transient"}, jobs.ran); d != "" {
		t.Errorf("ran (-want +got):\n%s", d)
	}
}

// TestS3RunsDecodedKey pins that the S3 key is URL-decoded ("%20" and "+" are spaces) and that
// only a Redeliver fails the invocation.
func TestS3RunsDecodedKey(t *testing.T) {
	jobs := &fakeJobs{}
	h := NewHandler(jobsConfig(jobs))
	resp, err := h(t.Context(), readEvent(t, "s3-event.json"))
	if err != nil || resp != nil {
		t.Fatalf("resp, err = %v, %v", resp, err)
	}
	if d := cmp.Diff([]string{"sourcebucket/Happy Face.jpg"}, jobs.ran); d != "" {
		t.Errorf("ran (-want +got):\n%s", d)
	}
	s3 := func(eventName, key string) []byte {
		return editEvent(t, "s3-event.json", func(m map[string]any) {
			r := m["Records"].([]any)[0].(map[string]any)
			r["eventName"] = eventName
			r["s3"].(map[string]any)["object"].(map[string]any)["key"] = key
		})
	}
	jobs.ran = nil
	if _, err := h(t.Context(), s3("ObjectCreated:Put", "in/transient+batch%2B1.jsonl")); err == nil || !strings.Contains(err.Error(), "will retry") {
		t.Errorf("transient: err = %v, want a retry error", err)
	}
	if _, err := h(t.Context(), s3("ObjectCreated:CompleteMultipartUpload", "in/permanent.jsonl")); err != nil {
		t.Errorf("permanent: err = %v, want nil", err)
	}
	if _, err := h(t.Context(), s3("ObjectRemoved:Delete", "in/x.jsonl")); err != nil {
		t.Errorf("removed: err = %v", err)
	}
	if d := cmp.Diff([]string{"sourcebucket/in/transient batch+1.jsonl", "sourcebucket/in/permanent.jsonl"}, jobs.ran); d != "" {
		t.Errorf("ran (-want +got):\n%s", d)
	}
}
