package app_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/config"
)

// TestBucketJobsOnEmulator pins the wiring of bucket jobs: with an output bucket (Options.Open)
// and a store, a file above GATEWAY_BATCH_ONLINE_MAX_LINES is submitted by App.Jobs to the local
// engine on the emulator and App.Refresh (the scheduled refresh) writes its output object.
func TestBucketJobsOnEmulator(t *testing.T) {
	cfg, err := config.Load(env(map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456",
		"GATEWAY_STORE_DIR": t.TempDir(), "GATEWAY_OUTPUT_BUCKET": "jobs", "GATEWAY_BATCH_ONLINE_MAX_LINES": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	bucket := batchtest.NewMemStore()
	a, err := app.NewWith(t.Context(), cfg, app.Options{Open: bucket.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	bucket.Put("input/five.jsonl", []byte(batchLines(5)))
	if o := a.Jobs.Handle(t.Context(), batch.Job{ID: "ev", Bucket: "jobs", Name: "input/five.jsonl"}); o != batch.Ack {
		t.Fatalf("Handle = %v", o)
	}
	if _, ok := bucket.Object("output/five.output.jsonl"); ok {
		t.Fatal("the event wrote the output of a file above the threshold")
	}
	for {
		n, err := a.Refresh(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("the refresh never ended the bucket job")
		case <-time.After(2 * time.Millisecond):
		}
	}
	out, _ := bucket.Object("output/five.output.jsonl")
	if bytes.Count(out, []byte("\n")) != 5 || !strings.Contains(string(out), "question 3") {
		t.Errorf("output:\n%s", out)
	}
}

// TestBucketEngineBatchNeedsStore pins the refusal of GATEWAY_BATCH_BUCKET_ENGINE=batch where
// there is no object store for the engine's files: one line naming both settings at start,
// not jobs that silently run online.
func TestBucketEngineBatchNeedsStore(t *testing.T) {
	cfg, err := config.Load(env(map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456",
		"GATEWAY_OUTPUT_BUCKET": "jobs", "GATEWAY_BATCH_BUCKET_ENGINE": "batch"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.NewWith(t.Context(), cfg, app.Options{Open: batchtest.NewMemStore().Bucket})
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_BATCH_BUCKET_ENGINE") || !strings.Contains(err.Error(), "GATEWAY_STORE_BUCKET") {
		t.Fatalf("NewWith = %v", err)
	}
}

// BenchmarkBucketJob1000OnEmulator measures a 1,000-line bucket file on the emulator, from the
// event to the output object: on the local batch engine (written by the refresh) and online
// (GATEWAY_BATCH_BUCKET_ENGINE=online, written by the event).
func BenchmarkBucketJob1000OnEmulator(b *testing.B) {
	for _, mode := range []string{"batch", "online"} {
		b.Run(mode, func(b *testing.B) {
			cfg, err := config.Load(env(map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456",
				"GATEWAY_STORE_DIR": b.TempDir(), "GATEWAY_OUTPUT_BUCKET": "jobs", "GATEWAY_BATCH_BUCKET_ENGINE": mode}))
			if err != nil {
				b.Fatal(err)
			}
			bucket := batchtest.NewMemStore()
			a, err := app.NewWith(b.Context(), cfg, app.Options{Open: bucket.Bucket})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(a.Close)
			input := []byte(batchLines(1000))
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("input/run-%d.jsonl", i)
				bucket.Put(name, input)
				if o := a.Jobs.Handle(b.Context(), batch.Job{ID: "ev", Bucket: "jobs", Name: name}); o != batch.Ack {
					b.Fatalf("Handle = %v", o)
				}
				for {
					if _, ok := bucket.Object(fmt.Sprintf("output/run-%d.output.jsonl", i)); ok {
						break
					}
					if _, err := a.Refresh(b.Context()); err != nil {
						b.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}
