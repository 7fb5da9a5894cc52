package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/geminigateway/gateway/adapters/lambda/lambdatest"
)

// TestS3Endpoint pins the endpoint override order the SDK's config loader uses.
func TestS3Endpoint(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"AWS_ENDPOINT_URL": "http://global:1"}, "http://global:1"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_S3": "http://s3:2"}, "http://s3:2"},
	} {
		if got := s3Endpoint(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.env, got, tc.want)
		}
	}
}

// TestBootstrapJobs runs the deployed bootstrap's SQS and S3 job paths end to end: aws-lambda-go's
// runtime loop against the fake Runtime API, the emulator backend, and gofakes3 reached through
// AWS_ENDPOINT_URL_S3 (path-style), as a local S3 is. An SQS batch's results land under
// results/messages/<custom_id>/<message id>.json (two messages share a custom_id and keep their
// own results; a malformed one is recorded); an S3 ObjectCreated event's file gets its output
// and errors files; a redelivered S3 event writes nothing new.
func TestBootstrapJobs(t *testing.T) {
	bin := lambdatest.Build(t, ".", t.TempDir())
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	const bucket = "gateway-jobs"
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	get := func(key string) []byte {
		t.Helper()
		out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject(%s): %v", key, err)
		}
		defer out.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(out.Body)
		return b.Bytes()
	}
	rt := lambdatest.NewRuntime(t)
	rt.Start(t, bin, "GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS=test-key-123456", "HOME="+t.TempDir(),
		"GATEWAY_OUTPUT_BUCKET="+bucket, "GATEWAY_INPUT_PREFIX=requests/", "GATEWAY_OUTPUT_PREFIX=results/",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3="+srv.URL)

	line := func(id string) string {
		return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-3-flash","messages":[{"role":"user","content":"hi"}]}}`, id)
	}
	record := func(id, body string) map[string]any {
		return map[string]any{"messageId": id, "receiptHandle": "rh-" + id, "body": body, "eventSource": "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs", "awsRegion": "us-east-1"}
	}
	sqsEvent, _ := json.Marshal(map[string]any{"Records": []any{
		record("m-1", line("same")), record("m-2", line("same")), record("m-3", "not json")}})
	rt.Invoke("sqs-1", sqsEvent)
	resp := rt.Response(t).ReadAll(t)
	var batchResp struct {
		BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(resp, &batchResp); err != nil || len(batchResp.BatchItemFailures) != 0 {
		t.Fatalf("SQS response %s (%v), want no failures", resp, err)
	}
	for _, key := range []string{"results/messages/same/m-1.json", "results/messages/same/m-2.json"} {
		var res struct {
			CustomID string `json:"custom_id"`
			Response struct {
				StatusCode int `json:"status_code"`
			} `json:"response"`
		}
		if b := get(key); json.Unmarshal(b, &res) != nil || res.CustomID != "same" || res.Response.StatusCode != 200 {
			t.Errorf("%s = %s", key, b)
		}
	}
	if b := get("results/messages/~/m-3.json"); !bytes.Contains(b, []byte(`"code":"invalid_request"`)) {
		t.Errorf("malformed message result = %s", b)
	}

	input := line("a") + "\n" + line("b") + "\n" + `{"custom_id":"c","method":"GET"}` + "\n"
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("requests/day 1/f.jsonl"),
		Body: strings.NewReader(input)}); err != nil {
		t.Fatal(err)
	}
	// The key arrives URL-encoded, as S3 sends it (a space is "+").
	s3Event := []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",` +
		`"responseElements":{"x-amz-request-id":"r1"},"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"` + bucket + `","arn":"arn:aws:s3:::` + bucket + `"},` +
		`"object":{"key":"requests/day+1/f.jsonl","size":` + fmt.Sprint(len(input)) + `}}}]}`)
	for i := range 2 {
		rt.Invoke(fmt.Sprintf("s3-%d", i), s3Event)
		if b := rt.Response(t).ReadAll(t); string(b) != "null" {
			t.Fatalf("S3 delivery %d: response %s, want null", i, b)
		}
		if i == 0 {
			continue
		}
		// The redelivery found the files: same content, and no work objects left.
		list, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("results/.work/")})
		if err != nil || len(list.Contents) != 0 {
			t.Errorf("work objects left: %v %v", list, err)
		}
	}
	out, errs := get("results/day 1/f.output.jsonl"), get("results/day 1/f.errors.jsonl")
	if bytes.Count(out, []byte("\n")) != 2 || bytes.Count(errs, []byte("\n")) != 1 || !bytes.Contains(errs, []byte(`"custom_id":"c"`)) {
		t.Errorf("output:\n%s\nerrors:\n%s", out, errs)
	}
}
