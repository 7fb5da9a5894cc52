package batch_test

import (
	"context"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
)

// instant answers every request at once with a fixed small completion.
type instant struct{}

var instantBody = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gemini-2.5-flash",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)

func (instant) Complete(context.Context, []byte) batch.Completion {
	return batch.Completion{Status: 200, Body: instantBody, RequestID: "chatcmpl-1"}
}

// BenchmarkRunFile measures the runner's own cost per line (parse, persist, assemble) on a
// 1,000-line file with an instant Completer and the in-memory store: a fresh store each time,
// so every line runs.
func BenchmarkRunFile(b *testing.B) {
	data, _ := batchtest.File(1000)
	cfg := batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/"}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := batchtest.NewMemStore()
		s.Put("input/a.jsonl", data)
		if err := batch.NewRunner(instant{}, s.Bucket, cfg, nil).RunFile(b.Context(), s, "input/a.jsonl"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkRunFileRedelivered measures a redelivery of a finished file: every line's result
// is read back from the store, nothing is called.
func BenchmarkRunFileRedelivered(b *testing.B) {
	data, _ := batchtest.File(1000)
	cfg := batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/"}
	s := batchtest.NewMemStore()
	s.Put("input/a.jsonl", data)
	r := batch.NewRunner(instant{}, s.Bucket, cfg, nil)
	if err := r.RunFile(b.Context(), s, "input/a.jsonl"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.RunFile(b.Context(), s, "input/a.jsonl"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "lines/s")
}
