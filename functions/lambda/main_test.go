package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/adapters/lambda/lambdatest"
)

// functionURLChat is a Function URL event (shape of aws-lambda-go's captured
// lambdaurl/testdata events) carrying a streamed chat request with the test key.
const functionURLChat = `{
  "version": "2.0",
  "rawPath": "/v1/chat/completions",
  "rawQueryString": "",
  "headers": {
    "authorization": "Bearer test-key-123456",
    "content-type": "application/json",
    "host": "lambda-url-id.lambda-url.us-west-2.on.aws",
    "x-forwarded-for": "127.0.0.1",
    "x-forwarded-proto": "https"
  },
  "requestContext": {
    "accountId": "aws-account-id",
    "apiId": "lambda-url-id",
    "domainName": "lambda-url-id.lambda-url.us-west-2.on.aws",
    "domainPrefix": "lambda-url-id",
    "http": {"method": "POST", "path": "/v1/chat/completions", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
    "requestId": "9701a3d4-36ad-40bd-bf0b-a525c987d27f",
    "routeKey": "$default",
    "stage": "$default",
    "time": "18/Apr/2023:17:01:47 +0000",
    "timeEpoch": 1681837307386
  },
  "body": "{\"model\":\"gemini-3-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}]}",
  "isBase64Encoded": false
}`

// TestBootstrap builds the deployed bootstrap (-tags lambda.norpc, CGO_ENABLED=0) and runs it
// against a fake Runtime API with the offline emulator backend: a streamed chat comes back as
// the streaming prelude then SSE chunks ending in [DONE]; a bad setting goes to
// /runtime/init/error.
func TestBootstrap(t *testing.T) {
	bin := lambdatest.Build(t, ".", t.TempDir())
	env := []string{"GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS=test-key-123456", "HOME=" + t.TempDir()}

	t.Run("StreamedChat", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		rt.Start(t, bin, env...)
		rt.Invoke("req-1", []byte(functionURLChat))
		resp := rt.Response(t)
		if resp.ContentType != "application/vnd.awslambda.http-integration-response" {
			t.Fatalf("content type %q", resp.ContentType)
		}
		prelude, body := lambdatest.SplitStream(t, resp.ReadAll(t))
		headers, _ := prelude["headers"].(map[string]any)
		if prelude["statusCode"] != float64(200) || !strings.HasPrefix(headers["Content-Type"].(string), "text/event-stream") {
			t.Fatalf("prelude %v, body %s", prelude, body)
		}
		var events []string
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "data: ") {
				events = append(events, strings.TrimPrefix(line, "data: "))
			}
		}
		if len(events) < 2 || events[len(events)-1] != "[DONE]" {
			t.Fatalf("events = %q", events)
		}
		var chunk struct{ Object string }
		if err := json.Unmarshal([]byte(events[0]), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
			t.Errorf("first event %s: %v", events[0], err)
		}
		if et := resp.Trailer.Get("Lambda-Runtime-Function-Error-Type"); et != "" {
			t.Errorf("error trailer %q", et)
		}
	})

	t.Run("BadSettingIsInitError", func(t *testing.T) {
		rt := lambdatest.NewRuntime(t)
		p := rt.Start(t, bin, append(env, "GATEWAY_BACKEND=nonsense")...)
		posted := rt.InitError(t)
		if !strings.Contains(string(posted.Body), "GATEWAY_BACKEND") {
			t.Errorf("init error = %s", posted.Body)
		}
		<-p.Exited
		if code := p.Cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})
}
