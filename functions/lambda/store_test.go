package main

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/shared/config"
)

// TestStoreBucketBatchFlow pins the deployed shape on AWS: with GATEWAY_STORE_BUCKET the files
// and batches API works on the S3 bucket (gofakes3 through the real client, the objects land
// there) through the official OpenAI client, and the EventBridge Scheduler input
// {"gateway_task":"refresh_batches"} given to the Lambda handler finalizes a batch nobody polls.
func TestStoreBucketBatchFlow(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	ctx := t.Context()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gateway-store")}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456", "GATEWAY_STORE_BUCKET": "gateway-store"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	lc, err := assemble(ctx, cfg, s3c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Close)
	srv := httptest.NewServer(lc.Handler)
	t.Cleanup(srv.Close)
	c := oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test-key-123456"), option.WithMaxRetries(0))

	input := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question one"}]}}` + "\n"
	f, err := c.Files.New(ctx, oai.FileNewParams{File: oai.File(strings.NewReader(input), "input.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Batches.New(ctx, oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h}); err != nil {
		t.Fatal(err)
	}
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("gateway-store")})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("store bucket after upload and create: %+v, %v", objs, err)
	}

	handle := lambda.NewHandler(lc)
	ended := 0
	for deadline := time.Now().Add(20 * time.Second); ended == 0; time.Sleep(5 * time.Millisecond) {
		out, err := handle(ctx, json.RawMessage(`{"gateway_task":"refresh_batches"}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(out)
		var r struct {
			Ended int `json:"ended"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("result %s: %v", raw, err)
		}
		ended = r.Ended
		if ended == 0 && time.Now().After(deadline) {
			t.Fatal("the refresh never ended the batch")
		}
	}
	page, err := c.Batches.List(ctx, oai.BatchListParams{}) // List does not refresh
	if err != nil || len(page.Data) != 1 || page.Data[0].Status != oai.BatchStatusCompleted || page.Data[0].OutputFileID == "" {
		t.Fatalf("after the refresh: %+v, %v", page, err)
	}
	resp, err := c.Files.Content(ctx, page.Data[0].OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(out), `"custom_id":"a"`) {
		t.Errorf("output:\n%s", out)
	}
	if _, err := handle(ctx, json.RawMessage(`{"gateway_task":"something_else"}`)); err != nil {
		t.Errorf("an unknown task: %v; want dropped (logged)", err)
	}
}
