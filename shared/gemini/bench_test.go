package gemini

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The representative exchange of the latency benchmark (scripts/loadbench, and the gateway's
// BenchmarkSmallRequests/unary): the body the gateway sends for "What is the capital of France?"
// with max_tokens 100, and the answer the mock upstream gives.
const (
	benchRequest = `{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"maxOutputTokens":100}}`
	benchAnswer  = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is the capital of France."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19},"modelVersion":"gemini-2.5-flash"}`
)

// answerTransport is an in-process upstream: it reads the request body to the end and answers
// 200 with a fixed body, so a benchmark through it counts the client's own work and nothing of a
// network stack or a fake server.
type answerTransport struct{ body string }

func (a answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body: io.NopCloser(strings.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: r}, nil
}

// BenchmarkGenerate measures one unary call of the representative answer around the upstream
// wait: the context, the request, the read of the body and its decoding.
func BenchmarkGenerate(b *testing.B) {
	c, err := New(Options{Backend: Developer, APIKey: "gemini-key", HTTPClient: &http.Client{Transport: answerTransport{benchAnswer}}})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchRequest)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.Generate(ctx, "gemini-2.5-flash", body)
		if err != nil {
			b.Fatal(err)
		}
		if r.UsageMetadata == nil || r.UsageMetadata.TotalTokenCount != 19 {
			b.Fatalf("decoded %+v", r)
		}
	}
}
