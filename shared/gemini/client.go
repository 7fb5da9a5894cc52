package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cloud.google.com/go/auth"
)

// Backend names an upstream API.
type Backend string

// The upstream APIs.
const (
	Vertex    Backend = "vertex"   // Vertex AI publishers/google/models
	Developer Backend = "gemini"   // Gemini Developer API (generativelanguage)
	Emulator  Backend = "emulator" // the offline emulator, which speaks the Developer API paths
)

// Options configure a Client.
type Options struct {
	Backend Backend
	// BaseURL replaces the backend's scheme and host (and any path prefix).
	BaseURL  string
	Project  string // Vertex
	Location string // Vertex; "global" uses the global host
	APIKey   string // Developer API
	// Tokens gives OAuth tokens for Vertex; cloud.google.com/go/auth caches and refreshes them.
	Tokens     auth.TokenProvider
	HTTPClient *http.Client
	// Timeout bounds a unary call, and for a stream the wait for headers and between events.
	Timeout time.Duration
	Retry   RetryPolicy
}

// RetryPolicy bounds retries of 429/5xx answers and connection failures.
type RetryPolicy struct {
	MaxAttempts int           // including the first; 1 disables retries
	BaseDelay   time.Duration // first backoff, doubled each attempt, with jitter
	MaxDelay    time.Duration // a RetryInfo delay longer than this is not waited for
}

// Client calls generateContent and streamGenerateContent.
type Client struct {
	o    Options
	base string
	// modelBase is base parsed once, so that a model's endpoint is made without parsing a URL per
	// call (newRequest); nil for a base that appending a model could change beyond the path.
	modelBase *url.URL
	keyHeader []string                  // the x-goog-api-key header's value, shared by every request
	bearer    atomic.Pointer[bearer]    // the Authorization header of the last Vertex token
	paths     atomic.Pointer[modelPath] // the URL paths of the last model called
	hc        *http.Client
	sleep     func(context.Context, time.Duration) error
}

// New returns a Client for o.
func New(o Options) (*Client, error) {
	c := &Client{o: o, hc: o.HTTPClient, sleep: sleepCtx}
	if c.hc == nil {
		c.hc = &http.Client{Transport: DefaultTransport()}
	}
	if c.o.Timeout <= 0 {
		c.o.Timeout = 5 * time.Minute
	}
	if c.o.Retry.MaxAttempts <= 0 {
		c.o.Retry.MaxAttempts = 3
	}
	if c.o.Retry.BaseDelay <= 0 {
		c.o.Retry.BaseDelay = 500 * time.Millisecond
	}
	if c.o.Retry.MaxDelay <= 0 {
		c.o.Retry.MaxDelay = 30 * time.Second
	}
	switch o.Backend {
	case Vertex:
		if o.Project == "" {
			return nil, errors.New("vertex backend needs GOOGLE_CLOUD_PROJECT")
		}
		if c.o.Location == "" {
			c.o.Location = "global"
		}
		if o.Tokens == nil {
			return nil, errors.New("vertex backend needs Google credentials")
		}
		host := "https://aiplatform.googleapis.com"
		if c.o.Location != "global" {
			host = "https://" + c.o.Location + "-aiplatform.googleapis.com"
		}
		if o.BaseURL != "" {
			host = o.BaseURL
		}
		c.base = trimSlash(host) + "/v1/projects/" + url.PathEscape(o.Project) + "/locations/" + url.PathEscape(c.o.Location) + "/publishers/google/models/"
	case Developer, Emulator:
		if o.APIKey == "" && o.Backend == Developer {
			return nil, errors.New("gemini backend needs GEMINI_API_KEY")
		}
		host := "https://generativelanguage.googleapis.com"
		if o.BaseURL != "" {
			host = o.BaseURL
		}
		c.base = trimSlash(host) + "/v1beta/models/"
	default:
		return nil, fmt.Errorf("unknown backend %q (want vertex, gemini or emulator)", o.Backend)
	}
	c.modelBase = parseBase(c.base)
	if o.APIKey != "" {
		c.keyHeader = []string{o.APIKey}
	}
	return c, nil
}

// DefaultTransport is tuned for one upstream host under concurrency: keep many idle connections.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 512
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Backend returns the client's backend.
func (c *Client) Backend() Backend { return c.o.Backend }

// URL returns the endpoint for model and method (generateContent or streamGenerateContent).
func (c *Client) URL(model, method string) string {
	u := c.base + url.PathEscape(model) + ":" + method
	if method == "streamGenerateContent" {
		u += "?alt=sse"
	}
	return u
}

// Generate calls generateContent with the encoded request body, retrying as the policy allows
// within the context's deadline and the client's timeout.
func (c *Client) Generate(ctx context.Context, model string, body []byte) (*Response, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.sendTo(ctx, http.MethodPost, endpoint{model: model, method: "generateContent"}, body, time.Time{}, true)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := getBody(resp.ContentLength)
	defer putBody(buf)
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, c.transportError(ctx, err)
	}
	if r, ok := fastResponse(buf.Bytes(), model); ok {
		return r, nil
	}
	var out Response
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return nil, &MalformedError{Err: err}
	}
	return &out, nil
}

// withTimeout is context.WithTimeoutCause(ctx, c.o.Timeout, ErrTimeout): the call ends with
// ErrTimeout as its cause once the client's timeout has passed. When ctx's own deadline comes
// before that, WithTimeoutCause would only wrap ctx in a cancel of its own, which a call that
// cancels it as it returns needs no more than ctx itself: ctx is used as it is, and no context,
// timer or registration with ctx's parent is made. Its end (deadline or cancel) and its cause
// are then exactly those the wrapper would have passed on.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(c.o.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
		return ctx, func() {}
	}
	return context.WithDeadlineCause(ctx, d, ErrTimeout)
}

// bodyPool holds the buffers generateContent answers are read into: decoding copies every value
// out (the fast path and encoding/json alike), so a buffer is free again once the answer is
// decoded.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBody returns an empty buffer with room for a body of size bytes (when known) and the read
// that finds its end.
func getBody(size int64) *bytes.Buffer {
	b := bodyPool.Get().(*bytes.Buffer)
	if size > 0 {
		b.Grow(int(size) + bytes.MinRead)
	}
	return b
}

// putBody returns b to the pool; a buffer that held a large answer (inline media) is let go
// rather than pinned.
func putBody(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	bodyPool.Put(b)
}

// MalformedError is an upstream answer that is not the JSON it should be.
type MalformedError struct{ Err error }

func (e *MalformedError) Error() string { return "gemini: malformed response: " + e.Err.Error() }
func (e *MalformedError) Unwrap() error { return e.Err }

// Stream is an open streamGenerateContent response.
type Stream struct {
	body   io.ReadCloser
	events *EventReader
	timer  *time.Timer
	idle   time.Duration
	ctx    context.Context
	cancel context.CancelCauseFunc
	model  string // the model called; a modelVersion that repeats it is not copied
}

// Stream calls streamGenerateContent. Retries happen only until the upstream answers 200; from
// then on the caller owns the stream and must Close it.
func (c *Client) Stream(ctx context.Context, model string, body []byte) (*Stream, error) {
	sctx, cancel := context.WithCancelCause(ctx)
	// The timeout bounds the wait for headers (retries included) and then each silence between
	// events; a context deadline would also cut a long healthy stream, so a timer cancels instead.
	budget := time.Now().Add(c.o.Timeout)
	timer := time.AfterFunc(c.o.Timeout, func() { cancel(ErrTimeout) })
	resp, err := c.sendTo(sctx, http.MethodPost, endpoint{model: model, method: "streamGenerateContent"}, body, budget, true)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	timer.Reset(c.o.Timeout)
	return &Stream{body: resp.Body, events: NewEventReader(resp.Body), timer: timer, idle: c.o.Timeout, ctx: sctx, cancel: cancel, model: model}, nil
}

// Next returns the next event of the stream, io.EOF at its end. An upstream error written into
// the stream comes back as *APIError.
func (s *Stream) Next() (*Response, error) {
	data, oob, err := s.events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if cause := context.Cause(s.ctx); cause != nil {
			return nil, cause
		}
		return nil, &TransportError{Err: err} // the connection broke mid-stream
	}
	s.timer.Reset(s.idle)
	if oob {
		return nil, ParseError(http.StatusBadGateway, http.Header{}, data)
	}
	if r, ok := fastResponse(data, s.model); ok {
		return r, nil
	}
	var r struct {
		Response
		Error *rpcStatus `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &MalformedError{Err: err}
	}
	if r.Error != nil {
		return nil, ParseError(http.StatusBadGateway, http.Header{}, data)
	}
	return &r.Response, nil
}

// Ready reports whether the next event is already buffered, so Next will not wait on the network.
func (s *Stream) Ready() bool { return s.events.Ready() }

// Close releases the stream and cancels the upstream request. Next must not run concurrently
// with it, nor be called after it.
func (s *Stream) Close() error {
	s.timer.Stop()
	s.cancel(context.Canceled)
	err := s.body.Close()
	s.events.Release()
	return err
}

// send posts body to u, retrying transient failures. On success the response is 200. No retry
// waits past the context's deadline or budget (when set), whichever is earlier.
func (c *Client) send(ctx context.Context, u string, body []byte, budget time.Time) (*http.Response, error) {
	return c.sendTo(ctx, http.MethodPost, endpoint{url: u}, body, budget, true)
}

// sendMethod is send with any method. A request that is not idempotent (one that creates
// something) is not retried after a connection failure, which may come after it took effect.
func (c *Client) sendMethod(ctx context.Context, method, u string, body []byte, budget time.Time, idempotent bool) (*http.Response, error) {
	return c.sendTo(ctx, method, endpoint{url: u}, body, budget, idempotent)
}

// endpoint is where a call goes: a model's method (generateContent, streamGenerateContent) when
// method is set, else the URL url.
type endpoint struct{ model, method, url string }

// sendTo is sendMethod to an endpoint.
func (c *Client) sendTo(ctx context.Context, method string, ep endpoint, body []byte, budget time.Time, idempotent bool) (*http.Response, error) {
	if dl, ok := ctx.Deadline(); ok && (budget.IsZero() || dl.Before(budget)) {
		budget = dl
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, method, ep, body)
		if err == nil {
			return resp, nil
		}
		var te *TransportError
		if attempt >= c.o.Retry.MaxAttempts || !retryable(err) || (!idempotent && errors.As(err, &te)) {
			return nil, err
		}
		delay := c.backoff(attempt)
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryDelay > 0 {
			if ae.RetryDelay > c.o.Retry.MaxDelay {
				return nil, err
			}
			delay = ae.RetryDelay
		}
		if !budget.IsZero() && time.Until(budget) < delay {
			return nil, err
		}
		if c.sleep(ctx, delay) != nil {
			return nil, c.transportError(ctx, ctx.Err())
		}
	}
}

func (c *Client) once(ctx context.Context, method string, ep endpoint, body []byte) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, ep, body)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, req)
}

// do sends req once with the client's credentials (a Vertex OAuth token or the Developer API
// key); an answer other than 200 is read (up to 64 KiB) and returned as Google's error.
func (c *Client) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	switch c.o.Backend {
	case Vertex:
		tok, err := c.o.Tokens.Token(ctx)
		if err != nil {
			return nil, &CredentialsError{Err: err}
		}
		req.Header["Authorization"] = c.authorization(tok.Value)
	default:
		if c.keyHeader != nil {
			req.Header["X-Goog-Api-Key"] = c.keyHeader // canonical x-goog-api-key
		}
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, ParseError(resp.StatusCode, resp.Header, b)
}

// roundTrip sends req through the client's HTTP client. A plain http.Client (no cookie jar, no
// timeout, no redirect policy: what New makes, and what deployments and tests pass) adds to its
// transport only the following of redirects, which Google's APIs do not answer with, at the cost
// of a copy of the headers and a cancel context per request; its transport is then called
// directly, as httputil.ReverseProxy does. A 3xx then comes back as the answer it is.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	hc := c.hc
	if hc.Jar != nil || hc.Timeout != 0 || hc.CheckRedirect != nil {
		return hc.Do(req)
	}
	t := hc.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	resp, err := t.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: err}
	}
	return resp, nil
}

// CredentialsError is a failure to obtain Google credentials for the upstream call.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return "gemini: credentials: " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }

// TransportError is a failure to reach the upstream or to read its answer.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "gemini: transport: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// transportError returns the context's cause when the context ended (timeout or client gone),
// else wraps err as a TransportError.
func (c *Client) transportError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return &TransportError{Err: err}
}

func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var te *TransportError
	if errors.As(err, &te) {
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
			errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	}
	return false
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.o.Retry.BaseDelay << (attempt - 1)
	if d > c.o.Retry.MaxDelay || d <= 0 {
		d = c.o.Retry.MaxDelay
	}
	// Full jitter on the upper half: between d/2 and d.
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
