package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Error codes of the error body, as the seed service and our clients know them.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeNotImplemented   = "api_not_implemented"
	CodeInvalidToken     = "invalid_token"
	CodePermissionDenied = "permission_denied"
	CodeModelNotFound    = "model_not_found"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeRequestTooLarge  = "request_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeTooManyRequests  = "too_many_requests"
	CodeAPIError         = "api_error"
	CodeUpstreamError    = "upstream_error"
	CodeUpstreamTimeout  = "upstream_timeout"
	CodeClientClosed     = "client_closed_request"
)

// Error is the one error type the gateway returns to clients. Status is the HTTP status; Type,
// Code, Param and Message go into the body; Cause is internal and never sent.
type Error struct {
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// typeFor gives the OpenAI error type for a status, which the OpenAI SDKs use to pick an
// exception class together with the status.
func typeFor(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	}
	return "api_error"
}

// TypeName returns the OpenAI error type that goes with e's status.
func (e *Error) TypeName() string { return typeFor(e.Status) }

// Errorf builds an Error with the given status and code; the type follows the status.
func Errorf(status int, code, param, format string, args ...any) *Error {
	return &Error{Status: status, Type: typeFor(status), Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// InvalidParam is a 400 invalid_request naming the parameter.
func InvalidParam(param, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidRequest, param, format, args...)
}

// NotImplemented is a 400 api_not_implemented naming the parameter.
func NotImplemented(param, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeNotImplemented, param, format, args...)
}

// ErrorBody is the JSON error body: OpenAI SDKs read "error", the seed's clients read
// "success" and "trace_id" too.
type ErrorBody struct {
	Success bool        `json:"success"`
	Error   ErrorDetail `json:"error"`
	TraceID string      `json:"trace_id,omitempty"`
}

// ErrorDetail is the "error" object.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Param   *string `json:"param"`
}

// Body returns the error body for e with the trace id.
func (e *Error) Body(traceID string) ErrorBody {
	d := ErrorDetail{Message: e.Message, Type: e.Type, Code: e.Code}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	return ErrorBody{Error: d, TraceID: traceID}
}

// MarshalBody returns the JSON error body for e.
func (e *Error) MarshalBody(traceID string) []byte {
	b, err := json.Marshal(e.Body(traceID))
	if err != nil { // cannot happen: only strings
		return []byte(`{"success":false,"error":{"message":"internal error","type":"api_error","code":"api_error","param":null}}`)
	}
	return b
}
