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
	// FetchFailed means the remote server could not be reached or
	// answered with a non-2xx status (see Error.Status). Suggested status: 400,
	// with the message naming the upstream status.
	FetchFailed
	// Unsupported means nothing identifies the media type of the fetched bytes.
	// Suggested status: 415.
	Unsupported
	// Timeout means the media server did not deliver within Options.Timeout.
	// The URL is the client's, so it is the client's problem, not a gateway
	// timeout. Suggested status: 400.
	Timeout
	// OverBudget means the request asks for more fetching than one request
	// may cause: more URLs than Options.MaxURLs, or more bytes in total than
	// Options.MaxTotalBytes. Suggested status: 413.
	OverBudget
	// Canceled means the caller's context ended (the client went away) while
	// fetching; Unwrap gives context.Canceled or context.DeadlineExceeded.
	// Nobody waits for an answer.
	Canceled
)

var kindNames = [...]string{
	Invalid:     "invalid",
	Refused:     "refused",
	TooLarge:    "too_large",
	FetchFailed: "fetch_failed",
	Unsupported: "unsupported",
	Timeout:     "timeout",
	OverBudget:  "over_budget",
	Canceled:    "canceled",
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
	// URL is the URL the error is about, redacted (see Redact), or "".
	URL string
	// Index is the position of URL in the list given to FetchAll; it is
	// meaningful only when URL is set.
	Index int
	// Cause is the underlying error, if any. It may name internal addresses,
	// so it belongs in logs, not in responses. URLs in it are redacted.
	Cause error
}

// Error returns the client-safe message, the redacted URL and the cause, for
// logs.
func (e *Error) Error() string {
	s := "media: " + e.Msg
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) and
// friends work through an *Error.
func (e *Error) Unwrap() error { return e.Cause }

func errorf(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Cause: cause}
}
