package gateway

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
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
	level := requestLevel(worst)
	lh, ok := h.o.Logger.Handler().(*lineHandler)
	if ok && level < lh.level {
		return
	}
	if ok && r != nil && rs.err == nil && rs.stack == nil && h.o.EMFNamespace == "" {
		// The common line, a request that succeeded, written without its attributes: the
		// same bytes as the general path (TestRequestLineMatchesAttrs).
		_, _ = lh.writeLine(func(b []byte) ([]byte, bool) {
			return h.appendRequestLine(b, time.Now(), level, r, rs, status, lat), true
		})
		return
	}
	attrs := h.requestAttrs(r, rs, status, worst, lat)
	if ok {
		lh.logAttrs(level, "request", attrs)
		return
	}
	h.o.Logger.LogAttrs(context.Background(), level, "request", attrs...)
}

// requestLevel is the level of a request's log line by the worst status it met: ERROR for a 5xx,
// WARNING for a 4xx other than the client leaving (499), INFO otherwise.
func requestLevel(worst int) slog.Level {
	switch {
	case worst >= 500:
		return slog.LevelError
	case worst >= 400 && worst != statusClientClosed:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// requestAttrs returns the attributes of a request's log line.
func (h *Handler) requestAttrs(r *http.Request, rs *reqState, status, worst int, lat time.Duration) []slog.Attr {
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
		var secs [32]byte
		attrs = append(attrs, slog.Attr{Key: "httpRequest", Value: slog.GroupValue(
			slog.String("requestMethod", rs.method),
			slog.String("requestUrl", rs.route),
			slog.Int("status", status),
			// Cloud Logging wants seconds: "0.001547s"
			slog.String("latency", string(append(strconv.AppendFloat(secs[:0], lat.Seconds(), 'f', -1, 64), 's'))),
			slog.String("userAgent", r.UserAgent()))})
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
	return h.usageAttrs(attrs, rs, worst, lat)
}

// appendRequestLine appends the log line of a request that ended without an error, a panic or
// an EMF block (on Cloud Functions, or Lambda without metrics): what appendLine writes for
// requestAttrs at level, with the constant keys written as they are quoted and no attribute
// built.
func (h *Handler) appendRequestLine(b []byte, now time.Time, level slog.Level, r *http.Request, rs *reqState, status int, lat time.Duration) []byte {
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","severity":"`...)
	b = appendSeverity(b, level)
	b = append(b, `","message":"request","trace_id":`...)
	b = openai.AppendSlogString(b, rs.traceID)
	b = append(b, `,"route":`...)
	b = openai.AppendSlogString(b, rs.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"latency_ms":`...)
	b = appendJSONFloat(b, float64(lat.Microseconds())/1000)
	if h.o.TraceProject != "" {
		b = append(b, `,"logging.googleapis.com/trace":`...)
		b = openai.AppendSlogString(b, "projects/"+h.o.TraceProject+"/traces/"+rs.traceID)
	}
	b = append(b, `,"httpRequest":{"requestMethod":`...)
	b = openai.AppendSlogString(b, rs.method)
	b = append(b, `,"requestUrl":`...)
	b = openai.AppendSlogString(b, rs.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"latency":"`...)
	b = strconv.AppendFloat(b, lat.Seconds(), 'f', -1, 64) // digits and '.': nothing to quote
	b = append(b, `s","userAgent":`...)
	b = openai.AppendSlogString(b, r.UserAgent())
	b = append(b, '}')
	if rs.model != "" {
		b = append(b, `,"model":`...)
		b = openai.AppendSlogString(b, rs.model)
		b = append(b, `,"upstream_model":`...)
		b = openai.AppendSlogString(b, rs.upstreamModel)
		b = append(b, `,"stream":`...)
		b = strconv.AppendBool(b, rs.stream)
	}
	if rs.key != "" {
		b = append(b, `,"key":`...)
		b = openai.AppendSlogString(b, rs.key)
	}
	if u := rs.usage; u != nil {
		b = append(b, `,"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
		b = append(b, `,"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokensDetails.ReasoningTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
	}
	b = append(b, `,"status_class":"`...)
	b = append(b, statusClass(status)...)
	b = append(b, '"')
	if u := rs.usage; u != nil {
		b = append(b, `,"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokensDetails.CachedTokens), 10)
	}
	return append(b, "}\n"...)
}

// NewLogger returns the JSON logger whose keys Cloud Logging and CloudWatch understand:
// "severity" (INFO, WARNING, ERROR), "message" and "time".
//
// Its handler writes the request log line's shapes itself (lineHandler) and hands everything
// else to slog's JSONHandler; both give the same bytes (FuzzLineHandler).
func NewLogger(w interface{ Write([]byte) (int, error) }, level slog.Level) *slog.Logger {
	lw := &lockedWriter{w: w}
	return slog.New(&lineHandler{w: lw, level: level, std: newJSONHandler(lw, level)})
}

// newJSONHandler is slog's JSONHandler with NewLogger's key names.
func newJSONHandler(w io.Writer, level slog.Level) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
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
	}})
}

// lockedWriter serializes the lines of lineHandler and of the JSONHandler it falls back to.
type lockedWriter struct {
	mu sync.Mutex
	w  interface{ Write([]byte) (int, error) }
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// lineHandler is NewLogger's handler. slog's JSONHandler spends more on a request's log line
// than the rest of a small request's bookkeeping (a ReplaceAttr call per attribute, json.Marshal
// per float); lineHandler writes the line's own shapes — string, integer, float and bool values,
// groups of them, a record without attributes added by With — directly, byte for byte as the
// JSONHandler would, and passes any other record to it (std).
type lineHandler struct {
	w     *lockedWriter
	level slog.Level
	std   slog.Handler
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

// WithAttrs and WithGroup give slog's handler: only the root logger's records take the fast path.
func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler { return h.std.WithAttrs(as) }
func (h *lineHandler) WithGroup(name string) slog.Handler    { return h.std.WithGroup(name) }

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	written, err := h.writeLine(func(b []byte) ([]byte, bool) {
		return appendLine(b, r.Time, r.Level, r.Message, r.Attrs)
	})
	if !written {
		return h.std.Handle(ctx, r)
	}
	return err
}

// logAttrs is Logger.LogAttrs without the Record: the request log line's attributes are
// written from their slice, with no caller's PC looked up (slog looks it up for every line).
func (h *lineHandler) logAttrs(level slog.Level, msg string, attrs []slog.Attr) {
	if level < h.level {
		return
	}
	now := time.Now()
	written, _ := h.writeLine(func(b []byte) ([]byte, bool) {
		return appendLine(b, now, level, msg, func(f func(slog.Attr) bool) {
			for _, a := range attrs {
				if !f(a) {
					return
				}
			}
		})
	})
	if !written {
		r := slog.NewRecord(now, level, msg, 0)
		r.AddAttrs(attrs...)
		_ = h.std.Handle(context.Background(), r)
	}
}

// writeLine writes the line appendTo appends to an empty pooled buffer, unless appendTo reports
// false (a record it leaves to JSONHandler): then nothing is written and written is false.
func (h *lineHandler) writeLine(appendTo func([]byte) ([]byte, bool)) (written bool, err error) {
	bp := linePool.Get().(*[]byte)
	b, ok := appendTo((*bp)[:0])
	if ok {
		_, err = h.w.Write(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b
		linePool.Put(bp)
	}
	return ok, err
}

// appendLine appends a record (its time, level, message and attributes) as JSONHandler writes
// it under NewLogger's options, or reports false for a record it leaves to JSONHandler.
func appendLine(b []byte, t time.Time, level slog.Level, msg string, attrs func(func(slog.Attr) bool)) ([]byte, bool) {
	b = append(b, '{')
	if !t.IsZero() {
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"severity":"`...)
	b = appendSeverity(b, level)
	b = append(b, `","message":`...)
	b = openai.AppendSlogString(b, msg)
	ok := true
	attrs(func(a slog.Attr) bool {
		if a.Key == slog.LevelKey || a.Key == slog.MessageKey { // ReplaceAttr renames these
			ok = false
			return false
		}
		b, ok = appendLogAttr(b, a, false)
		return ok
	})
	return append(b, "}\n"...), ok
}

// appendSeverity appends level's name as NewLogger writes it: WARN as WARNING.
func appendSeverity(b []byte, level slog.Level) []byte {
	if level == slog.LevelWarn {
		return append(b, "WARNING"...)
	}
	return append(b, level.String()...)
}

// appendLogAttr appends "key":value, after a comma unless first; groups nest. An empty key, an empty group, or a kind other
// than string, int64, uint64, float64 (finite), bool and group is left to JSONHandler.
func appendLogAttr(b []byte, a slog.Attr, first bool) ([]byte, bool) {
	if a.Key == "" {
		return b, false
	}
	if !first {
		b = append(b, ',')
	}
	b = openai.AppendSlogString(b, a.Key)
	b = append(b, ':')
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		b = openai.AppendSlogString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		b = appendJSONFloat(b, f)
	case slog.KindGroup:
		g := v.Group()
		if len(g) == 0 {
			return b, false
		}
		b = append(b, '{')
		for i, ga := range g {
			var ok bool
			if b, ok = appendLogAttr(b, ga, i == 0); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	default:
		return b, false
	}
	return b, true
}

// appendJSONFloat formats f as encoding/json does (which JSONHandler calls for floats): the
// shortest decimal, in exponent form below 1e-6 and from 1e21, with a one-digit negative exponent
// as e-7, not e-07.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
