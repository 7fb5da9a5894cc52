package gateway

import (
	"errors"
	"fmt"
	"net/http"
)

// responseWriter wraps the ResponseWriter a request is served with and records what went out:
// the status line, the body bytes, and whether the client went away (a write or flush failed).
// The error funnel reads it to decide whether an error can still be a status line, and the log
// line reads the status from it; no handler keeps that book itself.
//
// It is not locked: the only writer besides the handler's goroutine is the SSE keep-alive, which
// writes under the sseWriter's lock, and the funnel and the log read only after closing that
// writer under the same lock.
type responseWriter struct {
	http.ResponseWriter
	status int   // the status line sent; 0 while nothing is out
	bytes  int64 // body bytes written
	gone   bool  // a write or flush to the client failed: it went away
}

// errClientGone wraps a failed write to the client; the funnel maps it to 499, writing nothing.
var errClientGone = errors.New("the client went away")

// WriteHeader records the first final status; 1xx informational headers are passed on only.
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends p, with a 200 status line first if none went out (as net/http does).
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	if err != nil {
		w.gone = true
		return n, fmt.Errorf("%w: %w", errClientGone, err)
	}
	return n, nil
}

// FlushError flushes through to the wrapped writer, which sends a 200 status line if none went
// out. A writer that cannot flush (Lambda's streaming writer is unbuffered) returns
// http.ErrNotSupported and has sent nothing. http.ResponseController finds this method before
// it would unwrap.
func (w *responseWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	switch {
	case err == nil:
		if w.status == 0 {
			w.status = http.StatusOK
		}
		return nil
	case errors.Is(err, http.ErrNotSupported):
		return err
	default:
		w.gone = true
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
}

// Flush is FlushError for code that asserts http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Unwrap gives http.ResponseController the wrapped writer for deadlines, hijacking and full
// duplex.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// started reports whether the status line went out.
func (w *responseWriter) started() bool { return w.status != 0 }
