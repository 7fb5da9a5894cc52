package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/openai"
)

// statusClientClosed is logged when the client went away (nginx's 499); nothing is sent.
const statusClientClosed = 499

// toOpenAI is the one mapping from any error to the client-facing *openai.Error.
func toOpenAI(err error) *openai.Error {
	var oe *openai.Error
	var ae *gemini.APIError
	var me *media.Error
	var ce *gemini.CredentialsError
	var te *gemini.TransportError
	var mf *gemini.MalformedError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.As(err, &ae):
		return fromUpstream(ae)
	case errors.As(err, &me) && me.Kind != media.Canceled:
		// Before the deadline checks: a media URL too slow to fetch is the client's URL, not a
		// Gemini timeout, though its cause unwraps to context.DeadlineExceeded.
		return fromMedia(me)
	case errors.Is(err, gemini.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return &openai.Error{Status: http.StatusGatewayTimeout, Type: "api_error", Code: openai.CodeUpstreamTimeout,
			Message: "Gemini did not answer in time", Cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, errClientGone):
		return &openai.Error{Status: statusClientClosed, Type: "api_error", Code: openai.CodeClientClosed,
			Message: "the client closed the request", Cause: err}
	case errors.As(err, &ce):
		return &openai.Error{Status: http.StatusInternalServerError, Type: "api_error", Code: openai.CodeAPIError,
			Message: "the gateway could not obtain Google credentials for the upstream call", Cause: err}
	case errors.As(err, &te), errors.As(err, &mf):
		return &openai.Error{Status: http.StatusBadGateway, Type: "api_error", Code: openai.CodeUpstreamError,
			Message: "the request to Gemini failed", Cause: err}
	}
	return &openai.Error{Status: http.StatusInternalServerError, Type: "api_error", Code: openai.CodeAPIError,
		Message: "internal error", Cause: err}
}

// fromUpstream maps a Gemini error by its google.rpc status, keeping Google's message. The
// gateway's own credential failures (UNAUTHENTICATED) are not the client's: they become 502.
// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
func fromUpstream(ae *gemini.APIError) *openai.Error {
	e := &openai.Error{Message: ae.Message, Cause: ae}
	switch ae.Status {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		e.Status, e.Code = http.StatusBadRequest, openai.CodeInvalidRequest
	case "NOT_FOUND":
		e.Status, e.Code = http.StatusNotFound, openai.CodeModelNotFound
	case "PERMISSION_DENIED":
		e.Status, e.Code = http.StatusForbidden, openai.CodePermissionDenied
	case "RESOURCE_EXHAUSTED":
		e.Status, e.Code = http.StatusTooManyRequests, openai.CodeTooManyRequests
		e.RetryAfter = ae.RetryDelay
		if e.RetryAfter <= 0 {
			e.RetryAfter = time.Second
		}
		if ae.PerDay() && e.RetryAfter < time.Hour {
			// A daily quota is not cured by a retry in seconds, whatever RetryInfo says.
			e.RetryAfter = time.Hour
		}
	case "DEADLINE_EXCEEDED":
		e.Status, e.Code = http.StatusGatewayTimeout, openai.CodeUpstreamTimeout
	case "UNIMPLEMENTED":
		e.Status, e.Code = http.StatusBadRequest, openai.CodeNotImplemented
	default:
		e.Status, e.Code = http.StatusBadGateway, openai.CodeUpstreamError
	}
	e.Type = (&openai.Error{Status: e.Status}).TypeName()
	if e.Message == "" {
		e.Message = "Gemini returned " + ae.Status
	}
	return e
}

func fromMedia(me *media.Error) *openai.Error {
	e := &openai.Error{Message: me.Msg, Cause: me, Status: http.StatusBadRequest, Code: openai.CodeInvalidRequest}
	if me.Kind == media.TooLarge || me.Kind == media.OverBudget {
		e.Status, e.Code = http.StatusRequestEntityTooLarge, openai.CodeRequestTooLarge
	}
	e.Type = (&openai.Error{Status: e.Status}).TypeName()
	return e
}

// writeError is the error funnel: every error a request ends with reaches the client here, and
// nowhere else. Before anything was written it is our JSON error body with its status,
// Retry-After and trace id; once an event stream's headers are out, one final error event; once
// any other body is out, nothing (a status line is never rewritten, as
// net/http/httputil.ReverseProxy never does). A client that went away (499) gets nothing.
func (h *Handler) writeError(rs *reqState, err error) {
	e := toOpenAI(err)
	rs.err = e
	if rs.sse != nil {
		if h.beforeStreamError != nil {
			h.beforeStreamError(rs.sse)
		}
		if rs.sse.fail(e) {
			return
		}
	}
	w := &rs.w
	if w.started() || e.Status == statusClientClosed {
		return
	}
	hd := w.Header()
	if e.RetryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.MarshalBody(rs.traceID))
}

// writeJSON writes v as a JSON body with status. A value that does not encode is returned before
// anything is written, so the funnel still answers with an error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// writeCompletion writes a chat completion as writeJSON would, byte for byte (writeEncoded with
// openai.AppendResponse).
func writeCompletion(w http.ResponseWriter, resp *openai.Response) error {
	return writeEncoded(w, resp, openai.AppendResponse)
}

// writeEncoded writes v with status 200 as writeJSON would, byte for byte: through its
// hand-written encoder into a pooled buffer when the encoder takes v's shape (nearly always),
// else through writeJSON.
func writeEncoded[T any](w http.ResponseWriter, v *T, encode func([]byte, *T) ([]byte, bool)) error {
	bp := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bodyPool.Put(bp)
		}
	}()
	b, ok := encode((*bp)[:0], v)
	if !ok {
		return writeJSON(w, http.StatusOK, v)
	}
	b = append(b, '\n') // as json.Encoder ends a value
	*bp = b
	hd := w.Header()
	hd["Content-Type"] = jsonContentType
	hd["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b) // a Writer does not keep b (io.Writer's contract)
	return err
}

// jsonContentType is the Content-Type value of a JSON answer, assigned to a response's header
// map without a slice per request. Sharing it is safe: header values are replaced (Set) or
// appended to (Add; its length is its capacity, so append copies), never written in place, by
// net/http and by the gateway's adapters.
var jsonContentType = []string{"application/json"}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteError writes err as the gateway's error body, for code outside the Handler (an adapter
// whose start failed) so that no adapter spells error JSON itself. It goes through the same
// funnel as ServeHTTP, with the trace id taken from the request's trace headers as there.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	rs := &reqState{traceID: traceID(r)}
	rs.w.ResponseWriter = w
	w.Header().Set("X-Request-Id", rs.traceID)
	(&Handler{}).writeError(rs, err)
}

// panicError is a panic recovered from a handler, as an error for the funnel: always a 500.
type panicError struct{ v any }

func (p *panicError) Error() string { return fmt.Sprint("panic: ", p.v) }
