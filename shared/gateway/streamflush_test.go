package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// burstTransport answers every call with a stream of n events that are all there at once, as
// an upstream that delivers several events in one read.
type burstTransport struct{ n int }

func (t burstTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	var b strings.Builder
	for i := range t.n {
		finish := ""
		if i == t.n-1 {
			finish = `,"finishReason":"STOP"`
		}
		fmt.Fprintf(&b, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"w%d \"}]}%s}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d}}\r\n\r\n", i, finish, i+1, i+4)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(b.String())), ContentLength: -1, Request: r}, nil
}

// flushRecorder records the body as it stood at each flush: what the client had received.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes []string
}

func (f *flushRecorder) Flush() {
	f.flushes = append(f.flushes, f.Body.String())
	f.ResponseRecorder.Flush()
}

func serveBurst(t *testing.T, n int, body string) *flushRecorder {
	t.Helper()
	h := benchHandler(t, &http.Client{Transport: burstTransport{n}}, "http://upstream.invalid")
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(rec.flushes) == 0 {
		t.Fatalf("status %d, %d flushes: %s", rec.Code, len(rec.flushes), rec.Body)
	}
	return rec
}

// A burst of upstream events does not hold the first byte back: the first event's chunks (the
// role chunk and its text) are flushed before the events behind it are translated, and the
// rest of the burst leaves together.
func TestStreamBurstFlushesFirstEventAlone(t *testing.T) {
	rec := serveBurst(t, 6, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	first := rec.flushes[0]
	if got := strings.Count(first, "data: "); got != 2 || !strings.Contains(first, `"role":"assistant"`) || !strings.Contains(first, `"content":"w0 "`) {
		t.Errorf("first flush holds %d events, want the role chunk and w0 only:\n%s", got, first)
	}
	if strings.Contains(first, "w1 ") {
		t.Errorf("first flush waited for the second event:\n%s", first)
	}
	if len(rec.flushes) != 2 || !strings.Contains(rec.flushes[1], `"content":"w5 "`) {
		t.Errorf("want the rest of the burst in one second flush, got %d flushes:\n%q", len(rec.flushes), rec.flushes)
	}
}

// The end of a stream (the usage chunk and [DONE]) is not flushed on its own: it leaves with the
// end of the body when the handler returns, in one write, and the body is complete.
func TestStreamDoneLeavesWithEndOfBody(t *testing.T) {
	rec := serveBurst(t, 3, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	body := rec.Body.String()
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("body does not end with [DONE]:\n%s", body)
	}
	last := rec.flushes[len(rec.flushes)-1]
	tail := strings.TrimPrefix(body, last)
	if strings.Contains(last, "[DONE]") || strings.Count(tail, "data: ") != 2 || !strings.Contains(tail, `"choices":[]`) || !strings.Contains(tail, `"total_tokens":6`) {
		t.Errorf("want the usage chunk and [DONE] after the last flush, got tail:\n%s", tail)
	}
	if !strings.Contains(last, `"finish_reason":"stop"`) {
		t.Errorf("the finish chunk was not flushed before the end:\n%s", last)
	}
}

// BenchmarkStreamEvents measures the gateway's work per upstream event of a long stream (64
// text events delivered at once, translated, encoded and written): ns/event and allocs/event.
func BenchmarkStreamEvents(b *testing.B) {
	const n = 64
	h := benchHandler(b, &http.Client{Transport: burstTransport{n}}, "http://upstream.invalid")
	body := `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/n, "allocs/event")
}
