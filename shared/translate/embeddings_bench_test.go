package translate

import (
	"bytes"
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
// the Developer API writes them, compact) and write the OpenAI response body into a buffer
// reused from one op to the next, as the handler's pool reuses it.
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
				var out []byte // reused, as the handler reuses its response buffers
				cpu0 := cpuTime()
				for b.Loop() {
					e, err := EmbeddingsToGemini(req, models, gemini.Developer)
					if err != nil {
						b.Fatal(err)
					}
					for _, c := range e.Calls {
						_ = c.Body.AppendJSON(nil)
					}
					if out, _, err = AppendEmbeddings(out[:0], e, []*gemini.EmbedResponse{resp}, req.Model); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
		// Floors under the float path, on the same vectors: copying the answer's vector bytes into
		// one reused buffer (floor-copy); reading them once at memory speed, bytes.Count's SIMD
		// loop (floor-count); touching each byte once in a scalar Go loop of one comparison, as
		// any byte-by-byte check at least does (floor-bytes).
		size := 0
		for _, e := range resp.Embeddings {
			size += len(e.Values)
		}
		b.Run(fmt.Sprintf("dim=%d/floor-copy", dim), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			out := make([]byte, 0, size)
			for b.Loop() {
				out = out[:0]
				for _, e := range resp.Embeddings {
					out = append(out, e.Values...)
				}
			}
		})
		b.Run(fmt.Sprintf("dim=%d/floor-count", dim), func(b *testing.B) {
			b.SetBytes(int64(size))
			n := 0
			for b.Loop() {
				for _, e := range resp.Embeddings {
					n += bytes.Count(e.Values, []byte{','})
				}
			}
			if n == 0 {
				b.Fatal("no commas")
			}
		})
		b.Run(fmt.Sprintf("dim=%d/floor-bytes", dim), func(b *testing.B) {
			b.SetBytes(int64(size))
			n := 0
			for b.Loop() {
				for _, e := range resp.Embeddings {
					for _, c := range e.Values {
						if c == ',' {
							n++
						}
					}
				}
			}
			if n == 0 {
				b.Fatal("no commas")
			}
		})
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

// BenchmarkBase64Vectors measures appendBase64Vector alone on the hundred 768-dimension vectors
// of BenchmarkEmbedTranslate100 (the emulator's values as encoding/json writes float32s), per
// number: the decimal-to-float32 parse and the base64 encoding, with nothing around them.
func BenchmarkBase64Vectors(b *testing.B) {
	vecs := make([][]byte, 100)
	numbers := 0
	for i := range vecs {
		vecs[i], _ = json.Marshal(emulator.Vector(fmt.Sprint(i), 768))
		numbers += bytes.Count(vecs[i], []byte{','}) + 1
	}
	var out []byte
	for b.Loop() {
		out = out[:0]
		for _, v := range vecs {
			var err error
			if out, err = appendBase64Vector(out, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*numbers), "ns/number")
}
