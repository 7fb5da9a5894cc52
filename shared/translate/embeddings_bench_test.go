package translate

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"

	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// BenchmarkEmbedTranslate100 measures the gateway's own embedding work for 100 inputs with no
// HTTP and no upstream at all: translate the decoded request into batchEmbedContents calls and
// encode them (AppendJSON, as the gateway does), assemble the already-decoded answer (vectors as
// the Developer API writes them, compact) and write the OpenAI response body.
// BenchmarkEmbeddings100 (shared/gateway) is the whole request. cpu-ns/op is the process's
// user+system CPU time per op, steadier on a shared machine.
func BenchmarkEmbedTranslate100(b *testing.B) {
	in := make([]string, 100)
	for i := range in {
		in[i] = fmt.Sprintf("Passage %d: the quick brown fox jumps over the lazy dog near the river bank.", i)
	}
	models, err := NewModels("")
	if err != nil {
		b.Fatal(err)
	}
	for _, dim := range []int{768, 3072} {
		resp := &gemini.EmbedResponse{Embeddings: make([]gemini.ContentEmbedding, len(in))}
		for i := range in {
			v, _ := json.Marshal(emulator.Vector(fmt.Sprint(i), dim))
			resp.Embeddings[i].Values = v
		}
		for _, format := range []string{"float", "base64"} {
			body, _ := json.Marshal(map[string]any{"model": "gemini-embedding-001", "input": in, "dimensions": dim, "encoding_format": format})
			req, err := openai.DecodeEmbeddingRequest(body)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("dim=%d/%s", dim, format), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					e, err := EmbeddingsToGemini(req, models, gemini.Developer)
					if err != nil {
						b.Fatal(err)
					}
					for _, c := range e.Calls {
						_ = c.Body.AppendJSON(nil)
					}
					if _, _, err := AppendEmbeddings(nil, e, []*gemini.EmbedResponse{resp}, req.Model); err != nil {
						b.Fatal(err)
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
