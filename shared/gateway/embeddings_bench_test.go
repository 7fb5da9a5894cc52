package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gemini"
)

// embedAnswer is an in-process upstream: it drains the request and answers a canned body of
// vectors, compact as prettyPrint=false asks, so a benchmark through it measures only the
// gateway's work (decode, translate, encode the upstream bodies, read the answers, reassemble,
// encode the vectors, write the response). body answers batchEmbedContents, or a predict call
// of n instances; one answers a predict call of one instance.
type embedAnswer struct{ body, one []byte }

func newEmbedAnswer(n, dim int, vertex bool) embedAnswer {
	if !vertex {
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
		return embedAnswer{body: b}
	}
	// Vertex's predict answer (Text embeddings API): predictions[].embeddings{statistics,
	// values} and the top-level metadata.
	type pred struct {
		Embeddings struct {
			Statistics struct {
				Truncated  bool `json:"truncated"`
				TokenCount int  `json:"token_count"`
			} `json:"statistics"`
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	answer := func(n int) []byte {
		var out struct {
			Predictions []pred `json:"predictions"`
			Metadata    struct {
				BillableCharacterCount int `json:"billableCharacterCount"`
			} `json:"metadata"`
		}
		for i := range n {
			var p pred
			p.Embeddings.Statistics.TokenCount = 17
			p.Embeddings.Values = emulator.Vector(fmt.Sprint(i), dim)
			out.Predictions = append(out.Predictions, p)
		}
		out.Metadata.BillableCharacterCount = 75 * n
		b, _ := json.Marshal(out)
		return b
	}
	return embedAnswer{body: answer(n), one: answer(1)}
}

func (a embedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	body := a.body
	if strings.Contains(r.URL.Path, "/gemini-embedding-001:predict") {
		body = a.one
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// countingWriter is the benchmark's client connection: it keeps the status and counts the body
// bytes, as a socket takes them, where httptest.ResponseRecorder would grow a buffer for a
// megabyte of body by doubling, work that is the recorder's and not the gateway's.
type countingWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *countingWriter) Header() http.Header         { return w.h }
func (w *countingWriter) WriteHeader(status int)      { w.status = status }
func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkEmbeddings100 measures one POST /v1/embeddings of 100 inputs, float and base64, at
// 768 and 3072 dimensions, with the upstream in-process: the time and allocations are what the
// gateway adds over the upstream calls. dim=… is the Developer API (one batchEmbedContents call
// of 100 requests); vertex/text-embedding-005/… one predict call of 100 instances;
// vertex/gemini-embedding-001/… 100 predict calls of one instance, 8 at a time.
// cpu-ns/op is the process's user+system CPU time per request, a steadier figure than ns/op
// on a shared machine.
func BenchmarkEmbeddings100(b *testing.B) {
	in := make([]string, 100)
	for i := range in {
		in[i] = fmt.Sprintf("Passage %d: the quick brown fox jumps over the lazy dog near the river bank.", i)
	}
	type run struct {
		name, model string
		vertex      bool
		dims        []int
	}
	for _, r := range []run{
		{"", "gemini-embedding-001", false, []int{768, 3072}},
		{"vertex/text-embedding-005/", "text-embedding-005", true, []int{768}},
		{"vertex/gemini-embedding-001/", "gemini-embedding-001", true, []int{768}},
	} {
		for _, dim := range r.dims {
			up := newEmbedAnswer(len(in), dim, r.vertex)
			h := embedBenchHandler(b, up, r.vertex)
			for _, format := range []string{"float", "base64"} {
				body, _ := json.Marshal(map[string]any{"model": r.model, "input": in, "dimensions": dim, "encoding_format": format})
				newRequest := func() *http.Request {
					req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+testKey)
					return req
				}
				// Once through a recorder, to check the answer is the list of 100 vectors.
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, newRequest())
				var list struct {
					Data []struct {
						Embedding json.RawMessage `json:"embedding"`
					} `json:"data"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &list); rec.Code != 200 || err != nil || len(list.Data) != len(in) {
					b.Fatalf("status %d, %v: %.300s", rec.Code, err, rec.Body)
				}
				b.Run(fmt.Sprintf("%sdim=%d/%s", r.name, dim, format), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(up.body)))
					cpu0 := cpuTime()
					for b.Loop() {
						w := &countingWriter{h: http.Header{}}
						h.ServeHTTP(w, newRequest())
						if w.status != 200 || w.n == 0 {
							b.Fatalf("status %d, %d bytes", w.status, w.n)
						}
					}
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

// embedBenchHandler is benchHandler on either backend.
func embedBenchHandler(tb testing.TB, up http.RoundTripper, vertex bool) http.Handler {
	tb.Helper()
	if !vertex {
		return benchHandler(tb, &http.Client{Transport: up}, "http://upstream.invalid")
	}
	return benchHandlerFor(tb, gemini.Options{Backend: gemini.Vertex, BaseURL: "http://upstream.invalid", Project: "proj", Location: "us-central1",
		Tokens: staticToken{}, HTTPClient: &http.Client{Transport: up}})
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
