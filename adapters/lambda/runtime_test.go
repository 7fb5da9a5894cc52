package lambda_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/adapters/lambda/lambdatest"
)

// TestRuntimeAPI runs ./internal/testbootstrap — this adapter serving a stand-in handler and
// fake jobs, with aws-lambda-go's real runtime loop — built as deployed (-tags lambda.norpc,
// CGO_ENABLED=0), as a process against a fake Runtime API on loopback, for each event kind and
// failure.
func TestRuntimeAPI(t *testing.T) {
	bin := lambdatest.Build(t, "./internal/testbootstrap", t.TempDir())

	// A streamed chat reaches the Runtime API as the http-integration-response prelude, 8 NUL
	// bytes, then each SSE event before the handler writes the next one: the stand-in waits at
	// gate i after event i until the test has seen event i arrive.
	t.Run("StreamedChatArrivesEventByEvent", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		rt.Start(t, bin)
		inv := rt.Invoke("req-chat", chatEvent(t, "/v1/chat/completions"))
		resp := rt.Response(t)
		if resp.ID != "req-chat" || resp.ContentType != "application/vnd.awslambda.http-integration-response" {
			t.Fatalf("response id %q, content type %q", resp.ID, resp.ContentType)
		}
		var got []byte
		for i := 1; i <= 3; i++ {
			for event := fmt.Sprintf("data: {\"n\":%d}\n\n", i); !bytes.Contains(got, []byte(event)); {
				c, ok := resp.Next(t)
				if !ok {
					t.Fatalf("body ended before event %d: %q", i, got)
				}
				got = append(got, c...)
			}
			if next := fmt.Sprintf("data: {\"n\":%d}", i+1); bytes.Contains(got, []byte(next)) {
				t.Fatalf("event %d arrived before gate %d was released", i+1, i)
			}
			if n := rt.Gate(t); n != i {
				t.Fatalf("gate %d reached, want %d", n, i)
			}
			rt.Release()
		}
		got = append(got, resp.ReadAll(t)...)
		prelude, body := lambdatest.SplitStream(t, got)
		want := map[string]any{"statusCode": float64(200), "headers": map[string]any{
			"Content-Type": "text/event-stream",
			"X-Deadline":   strconv.FormatInt(inv.Deadline.UnixMilli(), 10), // the Lambda deadline is the request's
		}}
		if d := cmp.Diff(want, prelude); d != "" {
			t.Errorf("prelude (-want +got):\n%s", d)
		}
		if want := "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: {\"n\":3}\n\ndata: [DONE]\n\n"; body != want {
			t.Errorf("body = %q, want %q", body, want)
		}
		if et := resp.Trailer.Get("Lambda-Runtime-Function-Error-Type"); et != "" {
			t.Errorf("error trailer %q on a clean stream", et)
		}
	})

	// A panic before any output is our 500 error body, and the process lives on to serve the
	// next invocation; a panic mid-stream ends the body with the runtime's error trailers.
	t.Run("PanicIs500AndProcessSurvives", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		rt.Start(t, bin)
		rt.Invoke("req-panic", chatEvent(t, "/panic"))
		prelude, body := lambdatest.SplitStream(t, rt.Response(t).ReadAll(t))
		headers, _ := prelude["headers"].(map[string]any)
		if prelude["statusCode"] != float64(500) || len(headers) != 2 || headers["Content-Type"] != "application/json" {
			t.Errorf("panic: prelude %v", prelude)
		}
		lambda.CheckInternalError(t, body, headers["X-Request-Id"])

		rt.Invoke("req-mid", chatEvent(t, "/panic-mid"))
		resp := rt.Response(t)
		prelude, body = lambdatest.SplitStream(t, resp.ReadAll(t))
		if prelude["statusCode"] != float64(200) || body != "data: {\"n\":1}\n\n" {
			t.Errorf("mid-stream panic: prelude %v body %q", prelude, body)
		}
		if et := resp.Trailer.Get("Lambda-Runtime-Function-Error-Type"); et == "" {
			t.Errorf("mid-stream panic: no error trailer (trailers %v)", resp.Trailer)
		}
		eb, _ := base64.StdEncoding.DecodeString(resp.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		if !strings.Contains(string(eb), "handler panicked mid-stream") {
			t.Errorf("error body trailer = %s", eb)
		}

		rt.Invoke("req-after", chatEvent(t, "/healthz"))
		prelude, body = lambdatest.SplitStream(t, rt.Response(t).ReadAll(t))
		if prelude["statusCode"] != float64(200) || !strings.Contains(body, `"path":"/healthz"`) {
			t.Errorf("after panics: prelude %v body %s", prelude, body)
		}
	})

	// SQS: exactly the transiently failing message id comes back in batchItemFailures; the
	// permanent failure is done. S3: the URL-encoded key is decoded before the job sees it.
	t.Run("SQSPartialFailureAndS3", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		rt.Start(t, bin)
		rt.Invoke("req-sqs", sqsEvent(t, "arn:aws:sqs:us-west-2:123456789012:jobs", "ok-1", "transient-2", "permanent-3", "ok-4"))
		if b := rt.Response(t).ReadAll(t); string(b) != `{"batchItemFailures":[{"itemIdentifier":"m1"}]}` {
			t.Errorf("SQS response = %s", b)
		}
		rt.Invoke("req-s3-ok", s3Event(t, "ok+batch.jsonl"))
		if b := rt.Response(t).ReadAll(t); string(b) != "null" {
			t.Errorf("S3 ok response = %s", b)
		}
		rt.Invoke("req-s3-retry", s3Event(t, "transient%20batch.jsonl"))
		p := rt.Error(t)
		if p.ID != "req-s3-retry" || !strings.Contains(string(p.Body), "s3://sourcebucket/transient batch.jsonl failed") {
			t.Errorf("S3 transient: /error %s: %s", p.ID, p.Body)
		}
	})

	// A bad setting fails the init: the error goes to /runtime/init/error with its type, the
	// process exits 1 and never asks for an invocation.
	t.Run("InitFailureGoesToInitError", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		p := rt.Start(t, bin, "GATEWAY_LAMBDA_MODE=bogus")
		posted := rt.InitError(t)
		if posted.ErrorType != "Runtime.ConfigError" {
			t.Errorf("error type header = %q", posted.ErrorType)
		}
		var body struct{ ErrorMessage, ErrorType string }
		if err := json.Unmarshal(posted.Body, &body); err != nil || !strings.Contains(body.ErrorMessage, "GATEWAY_LAMBDA_MODE") || body.ErrorType != "Runtime.ConfigError" {
			t.Errorf("init error body = %s (%v)", posted.Body, err)
		}
		<-p.Exited
		if code := p.Cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		if n := rt.NextCalls(); n != 0 {
			t.Errorf("%d /next calls after a failed init", n)
		}
		if lines := strings.Split(strings.TrimSpace(p.Output()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "gateway: init failed: GATEWAY_LAMBDA_MODE") {
			t.Errorf("output = %q, want one line", p.Output())
		}
	})

	// Buffered mode answers an HTTP API v2 event with one JSON response.
	t.Run("BufferedHTTPAPI", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		rt.Start(t, bin, "GATEWAY_LAMBDA_MODE=buffered")
		rt.Invoke("req-buf", edit(t, "http-api-v2-request.json", func(m map[string]any) { m["rawPath"] = "/v1/models" }))
		resp := rt.Response(t)
		var got struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		if err := json.Unmarshal(resp.ReadAll(t), &got); err != nil {
			t.Fatal(err)
		}
		if got.StatusCode != 200 || got.Headers["Content-Type"] != "application/json" || got.Body != "{\"path\":\"/v1/models\"}\n" {
			t.Errorf("buffered response = %+v", got)
		}
	})
}

// edit decodes a testdata event, lets change edit it and encodes it again.
func edit(t *testing.T, name string, change func(map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

// chatEvent is the captured Function URL event turned into a streamed chat request to path.
func chatEvent(t *testing.T, path string) []byte {
	return edit(t, "function-url-request.json", func(m map[string]any) {
		m["rawPath"], m["rawQueryString"] = path, ""
		m["body"] = `{"model":"gemini-3-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	})
}

// sqsEvent is the testdata SQS event with one record per body, ids m0, m1, ….
func sqsEvent(t *testing.T, arn string, bodies ...string) []byte {
	return edit(t, "sqs-event.json", func(m map[string]any) {
		tmpl := m["Records"].([]any)[0].(map[string]any)
		var recs []any
		for i, b := range bodies {
			r := make(map[string]any, len(tmpl))
			for k, v := range tmpl {
				r[k] = v
			}
			r["messageId"], r["body"], r["eventSourceARN"] = fmt.Sprintf("m%d", i), b, arn
			recs = append(recs, r)
		}
		m["Records"] = recs
	})
}

// s3Event is the testdata S3 event for key (URL-encoded, as S3 sends it).
func s3Event(t *testing.T, key string) []byte {
	return edit(t, "s3-event.json", func(m map[string]any) {
		m["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)["key"] = key
	})
}
