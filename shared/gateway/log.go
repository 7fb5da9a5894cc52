package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
)

// reqState collects what the request's log line reports.
type reqState struct {
	start         time.Time
	method, route string
	traceID       string
	status        int
	model         string
	upstreamModel string
	stream        bool
	key           string
	errCode       string
	cause         *openai.Error
	usage         *openai.Usage
}

// logRequest writes the request's one log line: no prompt, media or key content, only the
// key's name. Field names follow Cloud Logging's structured-log conventions (severity,
// httpRequest, logging.googleapis.com/trace); CloudWatch indexes the same JSON.
func (h *Handler) logRequest(r *http.Request, rs *reqState) {
	lat := h.o.Now().Sub(rs.start)
	level := slog.LevelInfo
	switch {
	case rs.status >= 500:
		level = slog.LevelError
	case rs.status >= 400 && rs.status != statusClientClosed:
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("trace_id", rs.traceID),
		slog.String("route", rs.route),
		slog.Int("status", rs.status),
		slog.Float64("latency_ms", float64(lat.Microseconds())/1000),
	)
	if h.o.TraceProject != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/trace", "projects/"+h.o.TraceProject+"/traces/"+rs.traceID))
	}
	if r != nil {
		attrs = append(attrs, slog.Group("httpRequest",
			slog.String("requestMethod", rs.method),
			slog.String("requestUrl", rs.route),
			slog.Int("status", rs.status),
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
	if rs.errCode != "" {
		attrs = append(attrs, slog.String("error_code", rs.errCode))
		if rs.cause != nil && rs.cause.Cause != nil {
			attrs = append(attrs, slog.String("error", rs.cause.Cause.Error()))
		}
	}
	attrs = h.usageAttrs(attrs, rs, lat)
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
