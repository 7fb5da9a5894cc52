package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/geminigateway/gateway/shared/emulator"
)

// embedAnswer is an in-process batchEmbedContents: it drains the request and answers a canned
// body of n vectors of dim values, compact as prettyPrint=false asks, so a benchmark through it
// measures only the gateway's work (decode, translate, encode the upstream body, decode the
// answer, reassemble, encode the vectors, write the response).
type embedAnswer struct{ body []byte }

func newEmbedAnswer(n, dim int) embedAnswer {
	type vec struct {
		Values []float32 `json:"values"`
	}
	var out struct {
		Embeddings []vec `json:"embeddings"`
	}
	for i := range n {
		out.Embeddings = append(out.Embeddings, vec{emulator.Vector(fmt.Sprint(i), dim)})
	}
	b, _ := json.Marshal(out)
	return embedAnswer{b}
}

func (a embedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: r}, nil
}

// BenchmarkEmbeddings100 measures one POST /v1/embeddings of 100 inputs (one batchEmbedContents
// call of 100 requests), float and base64, at 768 and 3072 dimensions, with the upstream
// in-process: the time and allocations are what the gateway adds over the upstream call.
// cpu-ns/op is the process's user+system CPU time per request, a steadier figure than ns/op
// on a shared machine.
func BenchmarkEmbeddings100(b *testing.B) {
	in := make([]string, 100)
	for i := range in {
		in[i] = fmt.Sprintf("Passage %d: the quick brown fox jumps over the lazy dog near the river bank.", i)
	}
	for _, dim := range []int{768, 3072} {
		up := newEmbedAnswer(len(in), dim)
		h := benchHandler(b, &http.Client{Transport: up}, "http://upstream.invalid")
		for _, format := range []string{"float", "base64"} {
			body, _ := json.Marshal(map[string]any{"model": "gemini-embedding-001", "input": in, "dimensions": dim, "encoding_format": format})
			b.Run(fmt.Sprintf("dim=%d/%s", dim, format), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(up.body)))
				cpu0 := cpuTime()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+testKey)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
