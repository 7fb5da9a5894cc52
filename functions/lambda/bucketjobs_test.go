package main

import (
	"bytes"
	"encoding/json"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/shared/config"
)

// TestS3BucketJobsOnBatchEngine pins bucket jobs in the deployed shape on S3 (gofakes3 through
// the real client): a file above GATEWAY_BATCH_ONLINE_MAX_LINES delivered to two function
// instances at once (the S3 ObjectCreated event) is submitted once (each valid line reaches
// Gemini once), the invocations return before any result, and the EventBridge refresh input
// writes the output and errors objects; a file forced online by GATEWAY_BATCH_BUCKET_ENGINE
// runs inside its event however large.
func TestS3BucketJobsOnBatchEngine(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	ctx := t.Context()
	for _, b := range []string{"gateway-store", "gateway-jobs"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ":generateContent") {
			t.Errorf("upstream got %s", r.URL.Path)
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1,"totalTokenCount":3},"modelVersion":"gemini-2.5-flash"}`)
	}))
	t.Cleanup(up.Close)
	instance := func(extra map[string]string) lambda.Handler {
		env := map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_UPSTREAM_URL": up.URL, "GATEWAY_API_KEYS": "test-key-123456",
			"GATEWAY_STORE_BUCKET": "gateway-store", "GATEWAY_OUTPUT_BUCKET": "gateway-jobs", "GATEWAY_BATCH_ONLINE_MAX_LINES": "3"}
		for k, v := range extra {
			env[k] = v
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		lc, err := assemble(ctx, cfg, s3c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lc.Close)
		return lambda.NewHandler(lc)
	}
	input := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"custom_id":"r-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"q %d"}]}}`+"\n", i, i)
		}
		b.WriteString(`{"custom_id":"bad","method":"GET"}` + "\n")
		return b.String()
	}
	put := func(key, content string) json.RawMessage {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("gateway-jobs"), Key: aws.String(key), Body: strings.NewReader(content)}); err != nil {
			t.Fatal(err)
		}
		return json.RawMessage(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",` +
			`"responseElements":{"x-amz-request-id":"r1"},"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"gateway-jobs","arn":"arn:aws:s3:::gateway-jobs"},` +
			`"object":{"key":"` + key + `","size":` + fmt.Sprint(len(content)) + `}}}]}`)
	}
	get := func(bucket, key string) []byte {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil
		}
		if err != nil {
			t.Fatalf("GetObject(%s): %v", key, err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return b
	}
	keys := func(bucket, prefix string) []string {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		return ks
	}

	// Forced online: a file above the threshold runs inside its event.
	forced := instance(map[string]string{"GATEWAY_BATCH_BUCKET_ENGINE": "online"})
	if _, err := forced(ctx, put("input/forced.jsonl", input(5))); err != nil {
		t.Fatal(err)
	}
	if out := get("gateway-jobs", "output/forced.output.jsonl"); bytes.Count(out, []byte("\n")) != 5 || calls.Load() != 5 {
		t.Fatalf("forced online: output %q after %d calls", out, calls.Load())
	}

	const valid = 6
	calls.Store(0)
	handlers := []lambda.Handler{instance(nil), instance(nil)}
	ev := put("input/big.jsonl", input(valid))
	var wg sync.WaitGroup
	var errs [2]error
	for i, h := range handlers {
		wg.Go(func() { _, errs[i] = h(ctx, ev) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil { // the other delivery was submitting: Lambda's retry finds its job
			if _, err := handlers[i](ctx, ev); err != nil {
				t.Fatalf("retry on instance %d: %v", i, err)
			}
		}
	}
	if out := get("gateway-jobs", "output/big.output.jsonl"); out != nil {
		t.Fatal("the event wrote the output: a bucket job's is the refresh's to write")
	}
	// Let the submitting instance's local engine finish before a refresh polls it (the local
	// engine is per process; a poll elsewhere would start the job there too).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		done := false
		for _, k := range keys("gateway-store", "bucketjobs/work/") {
			done = done || strings.HasSuffix(k, "/results.jsonl")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine job never finished")
		}
	}
	for deadline := time.Now().Add(20 * time.Second); get("gateway-jobs", "output/big.output.jsonl") == nil; time.Sleep(5 * time.Millisecond) {
		if _, err := handlers[1](ctx, json.RawMessage(`{"gateway_task":"refresh_batches"}`)); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh never wrote the output")
		}
	}
	if got := calls.Load(); got != valid {
		t.Errorf("two deliveries at once made %d model calls, want %d (each valid line once)", got, valid)
	}
	out, errLines := get("gateway-jobs", "output/big.output.jsonl"), get("gateway-jobs", "output/big.errors.jsonl")
	if bytes.Count(out, []byte("\n")) != valid || !bytes.Contains(errLines, []byte(`"custom_id":"bad"`)) {
		t.Errorf("output:\n%s\nerrors:\n%s", out, errLines)
	}
	if left := keys("gateway-store", "bucketjobs/work/"); len(left) != 0 {
		t.Errorf("work objects left: %v", left)
	}
}
