package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// benchEvents is how many text events the benchmark stream has before its last one.
const benchEvents = 64

// benchStream is a Gemini stream of benchEvents short text events and a last one with
// finishReason and usage, in the shape of the recorded stream 02 (usage on every event).
var benchStream = func() string {
	var b strings.Builder
	for i := range benchEvents {
		fmt.Fprintf(&b, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"token %d of the answer, \"}], \"role\": \"model\"}, \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 7, \"candidatesTokenCount\": %d, \"totalTokenCount\": %d}, \"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n", i, i+1, i+8)
	}
	b.WriteString("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"done.\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 7, \"candidatesTokenCount\": 70, \"totalTokenCount\": 77}, \"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n")
	return b.String()
}()

type benchStreamTransport struct{}

func (benchStreamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(benchStream)), ContentLength: -1, Request: r}, nil
}

// firstByteWriter records when the first byte of the response body is written, and discards
// the body (buffering it would measure the recorder, not the gateway).
type firstByteWriter struct {
	h     http.Header
	code  int
	n     int
	first time.Time
}

func (w *firstByteWriter) Header() http.Header { return w.h }

func (w *firstByteWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *firstByteWriter) Write(p []byte) (int, error) {
	if w.first.IsZero() {
		w.first = time.Now()
	}
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func (w *firstByteWriter) Flush() {}

// BenchmarkStreamResponsesVsChat streams the same in-process upstream stream (65 Gemini
// events) through POST /v1/chat/completions and POST /v1/responses, reporting time to first byte
// and to last byte per request and heap allocations per upstream event: what the Responses
// layer (items, typed events) adds on top of chat's stream translation.
func BenchmarkStreamResponsesVsChat(b *testing.B) {
	for _, tc := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Write an answer."}]}`},
		{"responses", "/v1/responses", `{"model":"gemini-2.5-flash","stream":true,"input":"Write an answer."}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := benchHandler(b, &http.Client{Transport: benchStreamTransport{}}, "http://upstream.invalid")
			var ttfb, ttlb time.Duration
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				req.Header.Set("Content-Type", "application/json")
				w := &firstByteWriter{h: http.Header{}}
				start := time.Now()
				h.ServeHTTP(w, req)
				end := time.Now()
				if w.code != 200 || w.first.IsZero() {
					b.Fatalf("status %d", w.code)
				}
				ttfb += w.first.Sub(start)
				ttlb += end.Sub(start)
			}
			runtime.ReadMemStats(&ms1)
			n := float64(b.N)
			b.ReportMetric(float64(ttfb.Nanoseconds())/n, "ttfb-ns/op")
			b.ReportMetric(float64(ttlb.Nanoseconds())/n, "ttlb-ns/op")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n/(benchEvents+1), "allocs/event")
		})
	}
}

// BenchmarkStreamResponsesOverChat runs the chat and the Responses request alternately in each
// iteration, against the same in-process upstream stream, so that load from elsewhere on the
// machine weighs on both alike, and reports the Responses path's time to first and to last byte
// as a ratio of chat's.
func BenchmarkStreamResponsesOverChat(b *testing.B) {
	h := benchHandler(b, &http.Client{Transport: benchStreamTransport{}}, "http://upstream.invalid")
	run := func(path, body string) (ttfb, ttlb time.Duration) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		w := &firstByteWriter{h: http.Header{}}
		start := time.Now()
		h.ServeHTTP(w, req)
		end := time.Now()
		if w.code != 200 || w.first.IsZero() {
			b.Fatalf("%s: status %d", path, w.code)
		}
		return w.first.Sub(start), end.Sub(start)
	}
	var chatFirst, chatLast, respFirst, respLast time.Duration
	for b.Loop() {
		f, l := run("/v1/chat/completions", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Write an answer."}]}`)
		chatFirst, chatLast = chatFirst+f, chatLast+l
		f, l = run("/v1/responses", `{"model":"gemini-2.5-flash","stream":true,"input":"Write an answer."}`)
		respFirst, respLast = respFirst+f, respLast+l
	}
	n := float64(b.N)
	b.ReportMetric(float64(chatFirst.Nanoseconds())/n, "chat-ttfb-ns")
	b.ReportMetric(float64(chatLast.Nanoseconds())/n, "chat-ttlb-ns")
	b.ReportMetric(float64(respFirst.Nanoseconds())/n, "resp-ttfb-ns")
	b.ReportMetric(float64(respLast.Nanoseconds())/n, "resp-ttlb-ns")
	b.ReportMetric(float64(respFirst)/float64(chatFirst), "ttfb-ratio")
	b.ReportMetric(float64(respLast)/float64(chatLast), "ttlb-ratio")
}
