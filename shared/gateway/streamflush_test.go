package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
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
	if len(rec.flushes) != 1 || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") || !strings.Contains(rec.Body.String(), `"content":"w5 "`) {
		t.Errorf("want the rest of the burst to leave with the end, got %d flushes:\n%q\nbody:\n%s", len(rec.flushes), rec.flushes, rec.Body)
	}
}

// A stream whose events arrive one at a time flushes each as it comes, up to the one that
// finishes every choice: that one leaves with the usage chunk and [DONE].
func TestStreamSpacedFlushesEachEvent(t *testing.T) {
	h := benchHandler(t, &http.Client{Transport: spacedTransport{4}}, "http://upstream.invalid")
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(rec.flushes) != 3 {
		t.Fatalf("status %d, want 3 flushes (events w0, w1, w2), got %d:\n%q", rec.Code, len(rec.flushes), rec.flushes)
	}
	for i, f := range rec.flushes {
		if want := fmt.Sprintf(`"content":"w%d "`, i); !strings.Contains(f, want) || strings.Contains(f, fmt.Sprintf(`"content":"w%d "`, i+1)) {
			t.Errorf("flush %d does not end at event %d:\n%s", i, i, f)
		}
	}
	if tail := strings.TrimPrefix(rec.Body.String(), rec.flushes[2]); !strings.Contains(tail, `"content":"w3 "`) || !strings.Contains(tail, `"finish_reason":"stop"`) || !strings.HasSuffix(tail, "data: [DONE]\n\n") {
		t.Errorf("the finishing event does not leave with [DONE]:\n%s", tail)
	}
}

// spacedTransport answers with n events that each arrive in their own read, as from an
// upstream that sends them apart.
type spacedTransport struct{ n int }

func (t spacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := burstTransport(t).RoundTrip(r)
	if err == nil {
		resp.Body = io.NopCloser(iotest.OneByteReader(resp.Body))
	}
	return resp, err
}

// The end of a stream (the finishing event's chunks, the usage chunk and [DONE]) is not flushed
// on its own: it leaves with the end of the body when the handler returns, in one write, and
// the body is complete.
func TestStreamDoneLeavesWithEndOfBody(t *testing.T) {
	rec := serveBurst(t, 3, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	body := rec.Body.String()
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("body does not end with [DONE]:\n%s", body)
	}
	last := rec.flushes[len(rec.flushes)-1]
	tail := strings.TrimPrefix(body, last)
	if strings.Contains(last, "[DONE]") || !strings.Contains(tail, `"choices":[]`) || !strings.Contains(tail, `"total_tokens":6`) {
		t.Errorf("want the usage chunk and [DONE] after the last flush, got tail:\n%s", tail)
	}
	if !strings.Contains(tail, `"finish_reason":"stop"`) || strings.Contains(last, `"finish_reason":"stop"`) {
		t.Errorf("the finish chunk should leave with the end:\nflushed:\n%s\ntail:\n%s", last, tail)
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

// serveResponses streams a Responses API request through rt and records its flushes.
func serveResponses(t *testing.T, rt http.RoundTripper) *flushRecorder {
	t.Helper()
	h := benchHandler(t, &http.Client{Transport: rt}, "http://upstream.invalid")
	req := httptest.NewRequest(http.MethodPost, "/v1/responses", strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"input":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(rec.flushes) == 0 {
		t.Fatalf("status %d, %d flushes: %s", rec.Code, len(rec.flushes), rec.Body)
	}
	return rec
}

// delta is how the Responses stream carries the text of upstream event i.
func delta(i int) string { return fmt.Sprintf(`"delta":"w%d "`, i) }

// The Responses API's stream flushes as chat's does under a burst: response.created and
// in_progress as soon as the upstream answers, then the first event's output alone, and the
// rest of the burst with the closing events and the end of the body.
func TestResponsesStreamBurstFlushesFirstEventAlone(t *testing.T) {
	rec := serveResponses(t, burstTransport{6})
	if len(rec.flushes) != 2 {
		t.Fatalf("want 2 flushes (created, then the first event), got %d:\n%q", len(rec.flushes), rec.flushes)
	}
	if f := rec.flushes[0]; !strings.Contains(f, "event: response.created") || strings.Contains(f, "delta") {
		t.Errorf("first flush is not response.created alone:\n%s", f)
	}
	if f := rec.flushes[1]; !strings.Contains(f, delta(0)) || strings.Contains(f, delta(1)) {
		t.Errorf("second flush does not end at the first event:\n%s", f)
	}
	tail := strings.TrimPrefix(rec.Body.String(), rec.flushes[1])
	if !strings.Contains(tail, delta(5)) || !strings.Contains(tail, "event: response.completed") {
		t.Errorf("the rest of the burst does not leave with response.completed:\n%s", tail)
	}
}

// Events that arrive one at a time are flushed one at a time, up to the one that finishes the
// response: it leaves with response.completed, not flushed on its own, so the client gets the
// end of the stream and of the body in one write.
func TestResponsesStreamSpacedFlushesEachEvent(t *testing.T) {
	rec := serveResponses(t, spacedTransport{4})
	if len(rec.flushes) != 4 {
		t.Fatalf("want 4 flushes (created, events w0, w1, w2), got %d:\n%q", len(rec.flushes), rec.flushes)
	}
	for i, f := range rec.flushes[1:] {
		if !strings.Contains(f, delta(i)) || strings.Contains(f, delta(i+1)) {
			t.Errorf("flush %d does not end at event %d:\n%s", i+1, i, f)
		}
	}
	tail := strings.TrimPrefix(rec.Body.String(), rec.flushes[3])
	if !strings.Contains(tail, delta(3)) || !strings.Contains(tail, "event: response.completed") || strings.Contains(rec.flushes[3], "response.completed") {
		t.Errorf("the finishing event does not leave with response.completed:\n%s", tail)
	}
}
