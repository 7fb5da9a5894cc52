package batch_test

import (
	"bytes"
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/store"
)

// instant answers every request at once with a fixed small completion.
type instant struct{}

var instantBody = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gemini-2.5-flash",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)

func (instant) Complete(context.Context, []byte) batch.Completion {
	return batch.Completion{Status: 200, Body: instantBody, RequestID: "chatcmpl-1"}
}

// BenchmarkRunFile measures the runner's own cost per line (parse, claim, persist, assemble)
// on a 1,000-line file with an instant Completer and the in-memory store: a fresh store each
// time, so every line runs.
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

// BenchmarkRunFileRedelivered measures a redelivery of a finished file: the input is read to
// key it, the final files are found, nothing is called or written.
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

// heapPeak samples the Go heap until stop is closed and returns the highest values seen: the
// heap's objects (live and not yet collected: what the process must hold) and the live heap
// as of the last collection.
func heapPeak(stop <-chan struct{}) <-chan [2]uint64 {
	out := make(chan [2]uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		var peak [2]uint64
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak[0] = max(peak[0], s[0].Value.Uint64())
			peak[1] = max(peak[1], s[1].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkPeakMemory100k runs a 100,000-line file (about 23 MB) on the online engine, input
// and results in a local folder (store.Dir), and reports the peak Go heap above the baseline,
// per 10,000 lines: what one invocation needs for a large file. It runs once per iteration;
// `make bench` runs it with the other benchmarks.
func BenchmarkPeakMemory100k(b *testing.B) {
	const lines = 100_000
	cfg := batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/", MaxLines: lines}
	var peakPer10k, livePer10k float64
	for b.Loop() {
		b.StopTimer()
		dir, err := store.NewDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		data, _ := batchtest.File(lines)
		size := len(data)
		if err := dir.Create(b.Context(), "input/big.jsonl", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		data = nil
		runtime.GC()
		base := heapPeak(closed())
		baseline := <-base
		stop := make(chan struct{})
		peak := heapPeak(stop)
		b.StartTimer()
		r := batch.NewRunner(instant{}, func(string) store.Store { return dir }, cfg, nil)
		if err := r.RunFile(b.Context(), dir, "input/big.jsonl"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		close(stop)
		p := <-peak
		peakPer10k = float64(p[0]-min(p[0], baseline[0])) / (1 << 20) / (lines / 10_000)
		livePer10k = float64(p[1]-min(p[1], baseline[1])) / (1 << 20) / (lines / 10_000)
		b.SetBytes(int64(size))
		b.StartTimer()
	}
	b.ReportMetric(peakPer10k, "peak-heap-MiB/10k-lines")
	b.ReportMetric(livePer10k, "peak-live-MiB/10k-lines")
}

var closeOnce sync.Once
var closedCh = make(chan struct{})

func closed() <-chan struct{} {
	closeOnce.Do(func() { close(closedCh) })
	return closedCh
}
