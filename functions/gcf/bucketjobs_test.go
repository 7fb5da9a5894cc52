package gcf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/iterator"
	gapioption "google.golang.org/api/option"

	adapter "github.com/geminigateway/gateway/adapters/gcf"
	"github.com/geminigateway/gateway/shared/config"
)

const jobsBucket = "gateway-jobs"

// countingGemini is a Developer API generateContent fake that counts its calls.
func countingGemini(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ":generateContent") || r.Method != http.MethodPost {
			t.Errorf("upstream got %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1,"totalTokenCount":3},"modelVersion":"gemini-2.5-flash"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// jobLines is a bucket file of n valid lines and one malformed line.
func jobLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"custom_id":"r-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"q %d"}]}}`+"\n", i, i)
	}
	b.WriteString(`{"custom_id":"bad","method":"GET"}` + "\n")
	return b.String()
}

// storageEvent is the finalized CloudEvent Eventarc delivers for an upload (the shape of
// adapters/gcf/testdata/storage-object-finalized.json).
func storageEvent(t *testing.T, bucket string, attrs *storage.ObjectAttrs) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("ev-%d", attrs.Generation))
	e.SetSource("//storage.googleapis.com/projects/_/buckets/" + bucket)
	e.SetType(adapter.StorageType)
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"kind": "storage#object", "bucket": bucket, "name": attrs.Name,
		"generation": fmt.Sprint(attrs.Generation), "size": fmt.Sprint(attrs.Size)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestStoreBucketJobsOnBatchEngine pins bucket jobs in the deployed shape on Cloud Storage
// (fake-gcs-server through the real client): a file above GATEWAY_BATCH_ONLINE_MAX_LINES
// delivered to two function instances at once is submitted once to the batch engine (each
// valid line reaches Gemini once), the events return before any result, and the scheduled
// refresh (the Pub/Sub marker) writes its output and errors objects in the output bucket and
// removes the work objects; a file at the threshold still runs online inside its event.
func TestStoreBucketJobsOnBatchEngine(t *testing.T) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range []string{storeBucket, jobsBucket} {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	gcs, err := storage.NewClient(t.Context(), gapioption.WithEndpoint(srv.URL()+"/storage/v1/"), gapioption.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gcs.Close() })
	up, calls := countingGemini(t)
	env := map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_UPSTREAM_URL": up.URL, "GATEWAY_API_KEYS": "test-key-123456",
		"GATEWAY_STORE_BUCKET": storeBucket, "GATEWAY_OUTPUT_BUCKET": jobsBucket, "GATEWAY_BATCH_ONLINE_MAX_LINES": "3"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Two function instances, each with its own gateway and engine.
	var fns [2]*adapter.Functions
	for i := range fns {
		d, err := assemble(t.Context(), cfg, gcs)
		if err != nil {
			t.Fatal(err)
		}
		fns[i] = adapter.New(func(context.Context) (*adapter.Deps, error) { return d, nil })
	}
	ctx := t.Context()
	put := func(name, content string) *storage.ObjectAttrs {
		t.Helper()
		w := gcs.Bucket(jobsBucket).Object(name).NewWriter(ctx)
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return w.Attrs()
	}
	get := func(bucket, name string) []byte {
		rc, err := gcs.Bucket(bucket).Object(name).NewReader(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return b
	}
	list := func(bucket, prefix string) []string {
		var names []string
		it := gcs.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
		for {
			o, err := it.Next()
			if err == iterator.Done {
				return names
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, o.Name)
		}
	}

	// At the threshold: online, inside the event.
	small := put("input/small.jsonl", jobLines(2))
	if err := fns[0].StorageJob(ctx, storageEvent(t, jobsBucket, small)); err != nil {
		t.Fatal(err)
	}
	if out := get(jobsBucket, "output/small.output.jsonl"); bytes.Count(out, []byte("\n")) != 2 || calls.Load() != 2 {
		t.Fatalf("small file: output %q after %d calls; want it run online in the event", out, calls.Load())
	}
	if recs := list(storeBucket, "bucketjobs/"); len(recs) != 0 {
		t.Errorf("small file made bucket job objects: %v", recs)
	}

	// Above it: two deliveries at once, one job.
	const valid = 6
	calls.Store(0)
	big := put("input/big.jsonl", jobLines(valid))
	ev := storageEvent(t, jobsBucket, big)
	var wg sync.WaitGroup
	var errs [2]error
	for i := range fns {
		wg.Go(func() { errs[i] = fns[i].StorageJob(ctx, ev) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil { // the other delivery was submitting: the redelivery finds its job
			if err := fns[i].StorageJob(ctx, ev); err != nil {
				t.Fatalf("redelivery to instance %d: %v", i, err)
			}
		}
	}
	if out := get(jobsBucket, "output/big.output.jsonl"); out != nil {
		t.Fatal("the event wrote the output: a bucket job's is the refresh's to write")
	}
	// Let the submitting instance's local engine finish before any refresh polls it (a poll
	// from another instance would start the job there too: the local engine is per process).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		done := false
		for _, n := range list(storeBucket, "bucketjobs/work/") {
			done = done || strings.HasSuffix(n, "/results.jsonl")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine job never finished")
		}
	}
	for deadline := time.Now().Add(20 * time.Second); get(jobsBucket, "output/big.output.jsonl") == nil; time.Sleep(5 * time.Millisecond) {
		if err := fns[1].PubSubJob(ctx, refreshEvent(t, map[string]string{adapter.TaskAttribute: adapter.RefreshTask}, "")); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh never wrote the output")
		}
	}
	if got := calls.Load(); got != valid {
		t.Errorf("two deliveries at once made %d model calls, want %d (each valid line once)", got, valid)
	}
	out, errLines := get(jobsBucket, "output/big.output.jsonl"), get(jobsBucket, "output/big.errors.jsonl")
	if bytes.Count(out, []byte("\n")) != valid || bytes.Count(errLines, []byte("\n")) != 1 || !bytes.Contains(errLines, []byte(`"custom_id":"bad"`)) {
		t.Errorf("output:\n%s\nerrors:\n%s", out, errLines)
	}
	if left := list(storeBucket, "bucketjobs/work/"); len(left) != 0 {
		t.Errorf("work objects left: %v", left)
	}
	if left := list(storeBucket, "bucketjob-index/"); len(left) != 0 {
		t.Errorf("index markers left: %v", left)
	}
}
