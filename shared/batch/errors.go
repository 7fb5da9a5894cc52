package batch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// transientError marks a failure that a redelivery of the event may cure.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err: err} }

// Transient reports whether an error returned by RunMessage or RunFile should make the platform
// retry the event: an upstream 429 or 5xx after the gateway's own retries, a storage failure,
// or an expired context. RunMessage and RunFile record permanent failures as result lines and
// return nil for them, so for their errors this is true; it is false for nil.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var t *transientError
	return errors.As(err, &t) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// statusError is a line the gateway answered with a status worth a retry.
type statusError struct {
	status int
	code   string // the error body's code, when there is one
}

func (e *statusError) Error() string {
	if e.code == "" {
		return fmt.Sprintf("gateway status %d", e.status)
	}
	return fmt.Sprintf("gateway status %d (%s)", e.status, e.code)
}

// statusClientClosed is the status the gateway gives a request whose context ended.
const statusClientClosed = 499

// retryable reports whether a gateway status is worth a redelivery: rate limits, server and
// upstream errors (the gateway has already retried them with backoff), a cancelled call, and
// statuses that are not HTTP statuses at all.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == statusClientClosed ||
		status >= 500 || status < 200
}
