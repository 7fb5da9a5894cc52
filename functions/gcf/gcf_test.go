package gcf

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

// startFramework serves the registered functions through functions-framework's own server on a
// free loopback port with FUNCTION_TARGET=target, as Cloud Functions does. The server lives until
// the test binary exits: ListenAndServe cannot be stopped.
func startFramework(t *testing.T, target string) string {
	t.Helper()
	t.Setenv("FUNCTION_TARGET", target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	errc := make(chan error, 1)
	go func() { errc <- funcframework.StartHostPort("127.0.0.1", port) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-errc:
			t.Fatalf("functions-framework: %v", err)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("functions-framework did not start listening")
		}
	}
}

// TestGatewayThroughFramework runs the real gateway (emulator backend, in-process and offline)
// behind the registered Gateway function: a streamed chat arrives as SSE ending in [DONE], and
// with no output bucket configured a job event is refused so that it is redelivered.
func TestGatewayThroughFramework(t *testing.T) {
	t.Setenv("GATEWAY_BACKEND", "emulator")
	t.Setenv("GATEWAY_API_KEYS", "test-key-123456")
	t.Setenv("GATEWAY_OUTPUT_BUCKET", "")
	base := startFramework(t, "Gateway")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions",
		strings.NewReader(`{"model":"gemini-3-flash","stream":true,"messages":[{"role":"user","content":"Say hi"}]}`))
	req.Header.Set("Authorization", "Bearer test-key-123456")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			events = append(events, line)
		}
	}
	if len(events) < 2 || events[len(events)-1] != "data: [DONE]" || !strings.Contains(events[0], `"chat.completion.chunk"`) {
		t.Errorf("events = %q", events)
	}

	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer test-key-123456")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != 200 || !bytes.Contains(b, []byte(`"object":"list"`)) {
		t.Errorf("GET /v1/models = %d %s", resp2.StatusCode, b)
	}
}

// TestJobEventWithoutBucketIsRedelivered pins that PubSubJob, deployed without
// GATEWAY_OUTPUT_BUCKET, answers non-2xx (the event is kept and retried) instead of dropping it.
func TestJobEventWithoutBucketIsRedelivered(t *testing.T) {
	t.Setenv("GATEWAY_BACKEND", "emulator")
	t.Setenv("GATEWAY_API_KEYS", "test-key-123456")
	t.Setenv("GATEWAY_OUTPUT_BUCKET", "")
	base := startFramework(t, "PubSubJob")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/", strings.NewReader(`{"message":{"data":"e30=","messageId":"1"},"subscription":"projects/p/subscriptions/s"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", "1")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/t")
	req.Header.Set("ce-type", "google.cloud.pubsub.topic.v1.messagePublished")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 300 {
		t.Errorf("status %d, want non-2xx", resp.StatusCode)
	}
}
