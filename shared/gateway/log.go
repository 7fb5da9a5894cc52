package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
)

// reqState is what a request's handler and the funnel note for its log line; the status comes
// from the responseWriter.
type reqState struct {
	// w wraps the request's ResponseWriter (it lives here to share one allocation); the funnel
	// and the log read the status from it.
	w             responseWriter
	start         time.Time
	method, route string
	traceID       string
	model         string
	upstreamModel string
	stream        bool
	key           string
	usage         *openai.Usage
	// err is the error the funnel answered with.
	err *openai.Error
	// sse is the request's event stream, if it started one.
	sse *sseWriter
	// stack is the stack of a handler's panic (none for http.ErrAbortHandler).
	stack []byte
}

// logStatus is the status the log line reports: the status line sent (200 if the handler sent
// nothing, as net/http then does), or 499 when the client went away.
func (rs *reqState) logStatus() int {
	switch {
	case rs.w.gone, rs.err != nil && rs.err.Status == statusClientClosed:
		return statusClientClosed
	case rs.w.status == 0:
		return http.StatusOK
	}
	return rs.w.status
}

// traceID takes the trace id from X-Cloud-Trace-Context or traceparent so log lines join the
// platform's trace, else makes one (32 hex digits, the Cloud Trace format).
func traceID(r *http.Request) string {
	if v := r.Header.Get("X-Cloud-Trace-Context"); v != "" {
		id, _, _ := strings.Cut(v, "/")
		if validTraceID(id) {
			return id
		}
	}
	if v := r.Header.Get("Traceparent"); len(v) >= 55 {
		if id := v[3:35]; validTraceID(id) {
			return id
		}
	}
	return newTraceID()
}

func validTraceID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logRequest writes the request's one log line: no prompt, media or key content, only the
// key's name. Field names follow Cloud Logging's structured-log conventions (severity,
// httpRequest, logging.googleapis.com/trace); CloudWatch indexes the same JSON.
//
// status is the status sent. The funnel's error is error_code and error (its cause), with
// error_status when it is not the status sent (a stream that failed after its headers), and
// sets the severity; a panic's error is "panic: <value>", with its stack.
func (h *Handler) logRequest(r *http.Request, rs *reqState, status int) {
	lat := h.o.Now().Sub(rs.start)
	worst := status
	if rs.err != nil && rs.err.Status != statusClientClosed {
		worst = max(worst, rs.err.Status)
	}
	level := slog.LevelInfo
	switch {
	case worst >= 500:
		level = slog.LevelError
	case worst >= 400 && worst != statusClientClosed:
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("trace_id", rs.traceID),
		slog.String("route", rs.route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(lat.Microseconds())/1000),
	)
	if h.o.TraceProject != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/trace", "projects/"+h.o.TraceProject+"/traces/"+rs.traceID))
	}
	if r != nil {
		attrs = append(attrs, slog.Group("httpRequest",
			slog.String("requestMethod", rs.method),
			slog.String("requestUrl", rs.route),
			slog.Int("status", status),
			slog.String("latency", strings.TrimSuffix(lat.String(), "s")+"s"),
			slog.String("userAgent", r.UserAgent())))
	}
	if rs.model != "" {
		attrs = append(attrs, slog.String("model", rs.model), slog.String("upstream_model", rs.upstreamModel), slog.Bool("stream", rs.stream))
	}
	if rs.key != "" {
		attrs = append(attrs, slog.String("key", rs.key))
	}
	if rs.usage != nil {
		attrs = append(attrs, slog.Int("prompt_tokens", rs.usage.PromptTokens), slog.Int("completion_tokens", rs.usage.CompletionTokens),
			slog.Int("reasoning_tokens", rs.usage.CompletionTokensDetails.ReasoningTokens), slog.Int("total_tokens", rs.usage.TotalTokens))
	}
	if e := rs.err; e != nil {
		if e.Status != status {
			attrs = append(attrs, slog.Int("error_status", e.Status))
		}
		attrs = append(attrs, slog.String("error_code", e.Code))
		if e.Cause != nil {
			attrs = append(attrs, slog.String("error", e.Cause.Error()))
		}
	}
	if rs.stack != nil {
		attrs = append(attrs, slog.String("stack", string(rs.stack)))
	}
	h.o.Logger.LogAttrs(context.Background(), level, "request", attrs...)
}

// NewLogger returns the JSON logger whose keys Cloud Logging and CloudWatch understand:
// "severity" (INFO, WARNING, ERROR), "message" and "time".
func NewLogger(w interface{ Write([]byte) (int, error) }, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.LevelKey:
			a.Key = "severity"
			if lv, ok := a.Value.Any().(slog.Level); ok && lv == slog.LevelWarn {
				a.Value = slog.StringValue("WARNING")
			}
		case slog.MessageKey:
			a.Key = "message"
		}
		return a
	}}))
}
