package media

import "fmt"

// Kind classifies a media error so that the gateway can choose the HTTP status
// without looking at message text.
type Kind int

const (
	// Invalid means the client sent a malformed media reference: a URL that is
	// not http(s), a data URI that is not base64. Suggested status: 400.
	Invalid Kind = iota + 1
	// Refused means the URL (or a redirect it led to) names a host or address
	// that the gateway must not reach: loopback, private, link-local, metadata.
	// It is the client's mistake. Suggested status: 400.
	Refused
	// TooLarge means the media is over Options.MaxBytes. Suggested status: 413.
	TooLarge
	// FetchFailed means the remote server could not be reached, timed out, or
	// answered with a non-2xx status (see Error.Status). Suggested status: 400,
	// with the message naming the upstream status.
	FetchFailed
	// Unsupported means nothing identifies the media type of the fetched bytes.
	// Suggested status: 415.
	Unsupported
)

var kindNames = [...]string{
	Invalid:     "invalid",
	Refused:     "refused",
	TooLarge:    "too_large",
	FetchFailed: "fetch_failed",
	Unsupported: "unsupported",
}

// String returns the kind's snake_case name, for logs and metrics.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the only error type this package returns. Msg is safe to show to
// the client (it never contains a resolved internal address); Cause carries the
// internal detail for logs.
type Error struct {
	Kind Kind
	// Msg is a client-safe sentence.
	Msg string
	// Status is the upstream HTTP status when a fetch got a non-2xx answer,
	// and 0 otherwise.
	Status int
	// Cause is the underlying error, if any. It may name internal addresses,
	// so it belongs in logs, not in responses.
	Cause error
}

// Error returns the client-safe message followed by the cause, for logs.
func (e *Error) Error() string {
	if e.Cause == nil {
		return "media: " + e.Msg
	}
	return "media: " + e.Msg + ": " + e.Cause.Error()
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) and
// friends work through an *Error.
func (e *Error) Unwrap() error { return e.Cause }

func errorf(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Cause: cause}
}
