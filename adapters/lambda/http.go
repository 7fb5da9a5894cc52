package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/geminigateway/gateway/shared/gateway"
)

// The response glue here is our own rather than aws-lambda-go's lambdaurl package, which covers
// only a streamed Function URL: this one also answers buffered (GATEWAY_LAMBDA_MODE=buffered,
// and always for API Gateway HTTP APIs, which cannot take a stream), keeps the Lambda deadline
// on the request context, and turns a panic in the handler's goroutine, which nothing else can
// recover, into the core's 500 error body or a cut-short stream instead of a crashed runtime.

var (
	// errPanic ends a stream whose handler panicked after the status line went out: the
	// Runtime API client turns it into the Lambda-Runtime-Function-Error-* trailers.
	errPanic = errors.New("handler panicked mid-stream")
	// errPanicked, through the core's error writer, is the 500 body of a handler that
	// panicked before any output.
	errPanicked = errors.New("handler panicked")
)

// serveHTTP runs the handler for one payload v2 request.
func (a *adapter) serveHTTP(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (any, error) {
	req, err := newRequest(ctx, ev)
	if err != nil {
		return nil, err
	}
	if a.Mode == Buffered || !isFunctionURL(ev) {
		return a.buffered(req), nil
	}
	return a.stream(ctx, req)
}

// isFunctionURL reports whether ev came through a Function URL (domain
// <url-id>.lambda-url.<region>.on.aws) rather than API Gateway, whose HTTP APIs cannot take a
// streamed response: those are answered buffered whatever the mode.
func isFunctionURL(ev *events.APIGatewayV2HTTPRequest) bool {
	return strings.Contains(ev.RequestContext.DomainName, ".lambda-url.")
}

// newRequest turns a Function URL or HTTP API (payload 2.0) event into an *http.Request whose
// context is ctx, so the Lambda deadline is the request's deadline. Cookies, which payload 2.0
// moves out of the headers, go back into one Cookie header; a base64 body is decoded.
func newRequest(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decoding base64 request body: %w", err)
		}
	}
	rc := &ev.RequestContext
	path := ev.RawPath
	if path == "" {
		path = rc.HTTP.Path
	}
	// An HTTP API stage other than $default prefixes the path with its name.
	if s := rc.Stage; s != "" && s != "$default" {
		if p, ok := strings.CutPrefix(path, "/"+s); ok && (p == "" || p[0] == '/') {
			path = p
		}
	}
	if path == "" {
		path = "/"
	}
	uri := path
	if ev.RawQueryString != "" {
		uri += "?" + ev.RawQueryString
	}
	host := rc.DomainName
	if host == "" {
		host = ev.Headers["host"]
	}
	method := rc.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+host+uri, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	req.RequestURI = uri
	req.RemoteAddr = rc.HTTP.SourceIP
	if p := rc.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = p, major, minor
		}
	}
	for k, v := range ev.Headers {
		req.Header.Add(k, v)
	}
	req.Header.Del("Host") // it is req.Host, as net/http servers do
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	return req, nil
}

// splitHeader turns response headers into payload 2.0's single-valued map (repeats joined with
// ",") and its list of cookies.
func splitHeader(h http.Header) (map[string]string, []string) {
	var cookies []string
	m := make(map[string]string, len(h))
	for k, v := range h {
		if k == "Set-Cookie" {
			cookies = v
			continue
		}
		m[k] = strings.Join(v, ",")
	}
	return m, cookies
}

// run serves req into w and reports whether the handler panicked; the panic is logged, except
// http.ErrAbortHandler, which a handler uses on purpose. A handler that wrote nothing answers
// 200. The handler's goroutine is ours, so this is the one place that can recover it.
func (a *adapter) run(w *writer, req *http.Request) (panicked bool) {
	defer func() {
		v := recover()
		if v == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		if v != http.ErrAbortHandler {
			a.Logger.ErrorContext(req.Context(), "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		panicked = true
	}()
	a.Handler.ServeHTTP(w, req)
	return false
}

// stream runs the handler in its own goroutine and returns as soon as the status line is known;
// the body then flows through a pipe into the Runtime API response, one Write at a time. The
// response goes out as the http-integration-response prelude, 8 NUL bytes and the body.
func (a *adapter) stream(ctx context.Context, req *http.Request) (any, error) {
	pr, pw := io.Pipe()
	w := newWriter(pw)
	go func() {
		if a.run(w, req) && !w.fail(req) {
			_ = pw.CloseWithError(errPanic)
			return
		}
		_ = pw.Close()
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		// No status line before the deadline; later writes fail instead of blocking.
		_ = pr.CloseWithError(ctx.Err())
		return nil, fmt.Errorf("no response before the deadline: %w", ctx.Err())
	}
	headers, cookies := splitHeader(w.sent)
	return &events.LambdaFunctionURLStreamingResponse{StatusCode: w.status, Headers: headers, Cookies: cookies, Body: pr}, nil
}

// buffered runs the handler to the end and returns its whole response. A panic, which cannot
// have reached the client yet, becomes the core's 500 error body whatever was written before.
func (a *adapter) buffered(req *http.Request) events.LambdaFunctionURLResponse {
	var body bytes.Buffer
	w := newWriter(&body)
	if a.run(w, req) {
		body.Reset()
		w = newWriter(&body)
		w.fail(req)
	}
	headers, cookies := splitHeader(w.sent)
	resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: headers, Cookies: cookies}
	if b := body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}

// writer is the http.ResponseWriter of both modes. The status and headers are fixed at the
// first WriteHeader or Write (ready closes then); the body goes to out: the pipe of a streamed
// response, each Write returning once the Runtime API client has taken the bytes, or the
// buffer of a buffered one. Nothing is buffered here, so Flush has nothing to do.
type writer struct {
	header http.Header
	out    io.Writer

	mu     sync.Mutex
	ready  chan struct{} // closed once status and sent are set
	status int
	sent   http.Header // the headers as they were at WriteHeader
}

func newWriter(out io.Writer) *writer {
	return &writer{header: http.Header{}, out: out, ready: make(chan struct{})}
}

func (w *writer) Header() http.Header { return w.header }

func (w *writer) WriteHeader(code int) { w.writeHeader(code, nil) }

func (w *writer) writeHeader(code int, first []byte) {
	if code < 200 { // informational (1xx) responses are not final and not supported
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent != nil {
		return
	}
	if w.header.Get("Content-Type") == "" && len(first) > 0 {
		w.header.Set("Content-Type", http.DetectContentType(first)) // as net/http does
	}
	w.status, w.sent = code, w.header.Clone()
	close(w.ready)
}

func (w *writer) Write(p []byte) (int, error) {
	w.writeHeader(http.StatusOK, p)
	return w.out.Write(p)
}

// Flush does nothing: writes are not buffered here.
func (w *writer) Flush() {}

// fail writes the core's 500 error body if no status has gone out, and reports whether it did.
// The handler has ended, so nothing else writes to w.
func (w *writer) fail(r *http.Request) bool {
	w.mu.Lock()
	sent := w.sent != nil
	w.mu.Unlock()
	if sent {
		return false
	}
	w.header = http.Header{} // not the headers the handler set before it panicked
	gateway.WriteError(w, r, errPanicked)
	return true
}
