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
)

// internalErrorBody is the gateway's error body for a request whose handler panicked.
const internalErrorBody = `{"success":false,"error":{"message":"internal error","type":"api_error","code":"api_error","param":null}}`

// errPanic ends a stream whose handler panicked after the status line went out: the Runtime API
// client turns it into the Lambda-Runtime-Function-Error-* trailers, and Lambda cuts the
// response short.
var errPanic = errors.New("handler panicked mid-stream")

// serveHTTP runs the handler for one payload v2 request.
func (a *adapter) serveHTTP(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (any, error) {
	req, err := newRequest(ctx, ev)
	if err != nil {
		return nil, err
	}
	if a.mode == Buffered || !isFunctionURL(ev) {
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

// logPanic logs a recovered panic value with its stack, except http.ErrAbortHandler, which a
// handler uses on purpose to abort a response.
func (a *adapter) logPanic(ctx context.Context, v any) {
	if v == http.ErrAbortHandler {
		return
	}
	a.log.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
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

// --- streamed responses ---

// stream runs the handler in its own goroutine and returns as soon as the status line is known;
// the body then flows through a pipe into the Runtime API response, one Write at a time. The
// response goes out as the http-integration-response prelude, 8 NUL bytes and the body.
func (a *adapter) stream(ctx context.Context, req *http.Request) (any, error) {
	pr, pw := io.Pipe()
	w := &streamWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			v := recover()
			if v == nil {
				w.WriteHeader(http.StatusOK) // a handler that wrote nothing answers 200
				_ = pw.Close()
				return
			}
			a.logPanic(req.Context(), v)
			if w.fail() {
				_ = pw.Close()
			} else {
				_ = pw.CloseWithError(errPanic)
			}
		}()
		a.h.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		// No status line before the deadline; later writes fail instead of blocking.
		_ = pr.CloseWithError(ctx.Err())
		return nil, fmt.Errorf("no response before the deadline: %w", ctx.Err())
	}
	headers, cookies := splitHeader(w.sent)
	return &events.LambdaFunctionURLStreamingResponse{
		StatusCode: w.status,
		Headers:    headers,
		Cookies:    cookies,
		Body:       pr,
	}, nil
}

// streamWriter is the http.ResponseWriter of a streamed response. Nothing is buffered: each
// Write returns once the Runtime API client has taken the bytes, so Flush has nothing to do.
type streamWriter struct {
	header http.Header
	pw     *io.PipeWriter

	mu     sync.Mutex
	ready  chan struct{} // closed once status and sent are set
	status int
	sent   http.Header // the headers as they were at WriteHeader
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) { w.writeHeader(code, nil) }

func (w *streamWriter) writeHeader(code int, first []byte) {
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

func (w *streamWriter) Write(p []byte) (int, error) {
	w.writeHeader(http.StatusOK, p)
	return w.pw.Write(p)
}

// Flush does nothing: writes are not buffered here.
func (w *streamWriter) Flush() {}

// fail sends the 500 error body if no status has gone out, and reports whether it did.
func (w *streamWriter) fail() bool {
	w.mu.Lock()
	if w.sent != nil {
		w.mu.Unlock()
		return false
	}
	w.status, w.sent = http.StatusInternalServerError, http.Header{"Content-Type": {"application/json"}}
	close(w.ready)
	w.mu.Unlock()
	_, _ = w.pw.Write([]byte(internalErrorBody))
	return true
}

// --- buffered responses ---

// buffered runs the handler to the end and returns its whole response. A panic, which cannot
// have reached the client yet, becomes the 500 error body.
func (a *adapter) buffered(req *http.Request) events.LambdaFunctionURLResponse {
	w := &bufferWriter{header: http.Header{}}
	func() {
		defer func() {
			if v := recover(); v != nil {
				a.logPanic(req.Context(), v)
				w.status, w.sent = http.StatusInternalServerError, http.Header{"Content-Type": {"application/json"}}
				w.body.Reset()
				w.body.WriteString(internalErrorBody)
			}
		}()
		a.h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK) // a handler that wrote nothing answers 200
	}()
	headers, cookies := splitHeader(w.sent)
	resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: headers, Cookies: cookies}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}

// bufferWriter collects a whole response.
type bufferWriter struct {
	header http.Header
	status int
	sent   http.Header // the headers as they were at WriteHeader
	body   bytes.Buffer
}

func (w *bufferWriter) Header() http.Header { return w.header }

func (w *bufferWriter) WriteHeader(code int) { w.writeHeader(code, nil) }

func (w *bufferWriter) writeHeader(code int, first []byte) {
	if code < 200 || w.sent != nil {
		return
	}
	if w.header.Get("Content-Type") == "" && len(first) > 0 {
		w.header.Set("Content-Type", http.DetectContentType(first))
	}
	w.status, w.sent = code, w.header.Clone()
}

func (w *bufferWriter) Write(p []byte) (int, error) {
	w.writeHeader(http.StatusOK, p)
	return w.body.Write(p)
}

// Flush does nothing: the response goes out when the handler returns.
func (w *bufferWriter) Flush() {}
