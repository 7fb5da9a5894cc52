package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
)

// lineRecord builds a record shaped like a request's log line from fuzzed parts.
func lineRecord(at int64, level int, msg, key, s string, n int64, f float64, ok bool) slog.Record {
	r := slog.NewRecord(time.Unix(0, at).UTC(), slog.Level(level), msg, 0)
	r.AddAttrs(
		slog.String(key, s),
		slog.Int64("n", n),
		slog.Float64("latency_ms", f),
		slog.Bool(key+"_ok", ok),
		slog.Uint64("u", uint64(n)),
		slog.Group("httpRequest", slog.String("requestMethod", s), slog.Group(key, slog.Int("status", int(n)), slog.String("latency", msg))),
	)
	return r
}

// both writes r with NewLogger's handler and with slog's JSONHandler configured as NewLogger
// configures it, and returns the two lines.
func both(t *testing.T, r slog.Record) (got, want string) {
	t.Helper()
	var gb, wb bytes.Buffer
	if err := NewLogger(&gb, slog.LevelDebug).Handler().Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := newJSONHandler(&wb, slog.LevelDebug).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return gb.String(), wb.String()
}

// The request log line's shapes take the hand-written path (a handler that always fell back would
// match JSONHandler and save nothing), and give JSONHandler's bytes: escapes, a warning's
// severity name, floats in both of encoding/json's forms, nested groups.
func TestLineHandlerWritesJSONHandlersBytes(t *testing.T) {
	for _, r := range []slog.Record{
		lineRecord(1764364000123456789, 0, "request", "trace_id", "0af7651916cd43dd8448eb211c80319c", 200, 1.547, false),
		lineRecord(1, 4, "a\"b\\c\n\r\t\x01\x7f<>&\u2028\u2029\xff é", "k\x1f", "\xed\xa0\x80", -5, 1e21, true),
		lineRecord(0, 8, "", "key", "", math.MinInt64, 1e-7, true),
		lineRecord(-1, -4, "m", "key", "v", 0, -0.000001, false),
		lineRecord(2, 5, "m", "key", "v", 0, 123456789.125, false),
	} {
		if _, ok := appendLine(nil, r.Time, r.Level, r.Message, r.Attrs); !ok {
			t.Errorf("appendLine declined %v", r)
		}
		if got, want := both(t, r); got != want {
			t.Errorf("line handler wrote\n%s\nJSONHandler writes\n%s", got, want)
		}
	}
}

// Records the hand-written path leaves to JSONHandler still come out as JSONHandler writes them.
func TestLineHandlerFallsBack(t *testing.T) {
	for _, a := range []slog.Attr{
		slog.Any("err", context.Canceled),
		slog.Duration("d", time.Second),
		slog.Float64("nan", math.NaN()),
		slog.String("", "empty key"),
		slog.Group("g", slog.Any("m", map[string]int{"a": 1})),
		slog.String("level", "renamed by ReplaceAttr"),
		slog.Time("t", time.Unix(5, 0).UTC()),
	} {
		r := slog.NewRecord(time.Unix(1, 0).UTC(), slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.String("before", "x"), a)
		if _, ok := appendLine(nil, r.Time, r.Level, r.Message, r.Attrs); ok {
			t.Errorf("appendLine took %v", a)
		}
		if got, want := both(t, r); got != want {
			t.Errorf("%v: line handler wrote\n%s\nJSONHandler writes\n%s", a, got, want)
		}
	}
	r := slog.NewRecord(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0)
	if got, want := both(t, r); got != want {
		t.Errorf("year 10000: line handler wrote\n%s\nJSONHandler writes\n%s", got, want)
	}
}

// FuzzLineHandler holds the hand-written log line to slog's JSONHandler byte for byte.
func FuzzLineHandler(f *testing.F) {
	f.Add(int64(1764364000123456789), 0, "request", "trace_id", "abc", int64(200), 1.547, true)
	f.Add(int64(1), 4, "a\"b\\c\n\x01\u2028\xff", "k\x1f", "\xed\xa0\x80", int64(-5), 1e21, false)
	f.Add(int64(0), -4, "", "x", "", int64(0), 1e-7, false)
	f.Fuzz(func(t *testing.T, at int64, level int, msg, key, s string, n int64, fl float64, ok bool) {
		if got, want := both(t, lineRecord(at, level, msg, key, s, n, fl, ok)); got != want {
			t.Fatalf("line handler wrote\n%s\nJSONHandler writes\n%s", got, want)
		}
	})
}

// The request log line's direct path (logAttrs, no Record) writes what JSONHandler writes for
// the same attributes at the same time, both when it writes the line itself and when it falls
// back.
func TestLineHandlerLogAttrs(t *testing.T) {
	for _, attrs := range [][]slog.Attr{
		{slog.String("trace_id", "abc"), slog.Int("status", 200), slog.Float64("latency_ms", 0.25),
			slog.Attr{Key: "httpRequest", Value: slog.GroupValue(slog.String("requestMethod", "POST"), slog.String("latency", "0.00025s"))}},
		{slog.String("route", "/v1/x"), slog.Any("_aws", map[string]int{"a": 1})},
	} {
		var gb, wb bytes.Buffer
		NewLogger(&gb, slog.LevelInfo).Handler().(*lineHandler).logAttrs(slog.LevelWarn, "request", attrs)
		var line struct{ Time time.Time }
		if err := json.Unmarshal(gb.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", gb.Bytes(), err)
		}
		r := slog.NewRecord(line.Time, slog.LevelWarn, "request", 0)
		r.AddAttrs(attrs...)
		if err := newJSONHandler(&wb, slog.LevelInfo).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if gb.String() != wb.String() {
			t.Errorf("logAttrs wrote\n%s\nJSONHandler writes\n%s", gb.String(), wb.String())
		}
	}
}

// FuzzRequestLine holds the direct request line (appendRequestLine, written for a request that
// ended without an error) to slog's JSONHandler writing requestAttrs at the same time and level,
// byte for byte.
func FuzzRequestLine(f *testing.F) {
	f.Add(int64(1764364000123456789), "0123456789abcdef0123456789abcdef", "/v1/chat/completions", "POST", "OpenAI/Go 3.0",
		"gemini-2.5-flash", "gemini-2.5-flash", "bench", true, 200, int64(1547000), true, 12, 7, 3, 19, 4, "")
	f.Add(int64(1), "t", "/v1/x\"\\\n", "GE\x01T", "\xff\u2028", "m\"", "", "", false, 499, int64(0), false, 0, 0, 0, 0, 0, "proj-1")
	f.Add(int64(0), "", "", "", "", "", "", "k", false, 503, int64(-5), true, -1, 1<<40, 0, 0, 0, "p\"")
	f.Add(int64(5), "a", "/b", "POST", "ua", "m", "u", "k", false, 404, int64(123456789012), false, 0, 0, 0, 0, 0, "")
	f.Fuzz(func(t *testing.T, at int64, traceID, route, method, ua, model, upstream, key string, stream bool, status int,
		latNs int64, withUsage bool, prompt, completion, reasoning, total, cached int, project string) {
		if status < 100 || status > 999 {
			status = 100 + abs(status)%900
		}
		h := &Handler{o: Options{TraceProject: project}}
		rs := &reqState{traceID: traceID, route: route, method: method, model: model, upstreamModel: upstream, stream: stream, key: key}
		if withUsage {
			rs.usage = &openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: total}
			rs.usage.CompletionTokensDetails.ReasoningTokens = reasoning
			rs.usage.PromptTokensDetails.CachedTokens = cached
		}
		r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
		if ua != "" {
			r.Header.Set("User-Agent", ua)
		}
		now := time.Unix(0, at).UTC()
		lat := time.Duration(latNs)
		level := requestLevel(status)
		got := string(h.appendRequestLine(nil, now, level, r, rs, status, lat))
		rec := slog.NewRecord(now, level, "request", 0)
		rec.AddAttrs(h.requestAttrs(r, rs, status, status, lat)...)
		var wb bytes.Buffer
		if err := newJSONHandler(&wb, slog.LevelDebug).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if got != wb.String() {
			t.Fatalf("appendRequestLine wrote\n%s\nJSONHandler writes\n%s", got, wb.String())
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
