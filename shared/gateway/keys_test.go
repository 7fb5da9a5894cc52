package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/keys"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogLineCarriesNoSecrets pins one JSON line per request with the fields Cloud Logging and
// CloudWatch read, the key's name, and neither the prompt, the answer, the key nor its hash.
func TestLogLineCarriesNoSecrets(t *testing.T) {
	var logs syncBuffer
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) {
		o.Logger = gateway.NewLogger(&logs, slog.LevelDebug)
	})
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"TOP-SECRET-PROMPT"}]}`)
	_, _ = io.ReadAll(resp.Body)
	resp = rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"TOP-SECRET-PROMPT"}]}`)
	_, _ = io.ReadAll(resp.Body)
	g.srv.Close() // wait for handlers, so both lines are written
	out := logs.String()
	sum := sha256.Sum256([]byte(testKey))
	for _, secret := range []string{"TOP-SECRET-PROMPT", "Hello there", testKey, hex.EncodeToString(sum[:])} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per request, got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{`"severity":"INFO"`, `"trace_id":`, `"route":"/v1/chat/completions"`, `"status":200`, `"latency_ms":`,
		`"model":"gemini-2.5-flash"`, `"key":"tester"`, `"prompt_tokens":8`, `"completion_tokens":8`, `"httpRequest":{`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
}

// TestPerKeyModelsAndRate pins a key limited to one model (403 naming the model) and to one
// request a minute (429 with Retry-After).
func TestPerKeyModelsAndRate(t *testing.T) {
	limited := "limited-key-0123456789"
	sum := sha256.Sum256([]byte(limited))
	store := keys.NewStore(keys.NewSet([]*keys.Key{{Name: "limited", Hash: sum, Models: []string{"gemini-2.5-flash"}, RPM: 1}}))
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) { o.Keys = store })
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", limited, `{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"x"}]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(b), "permission_denied") || !strings.Contains(string(b), "gemini-2.5-pro") {
		t.Errorf("other model: %d %s", resp.StatusCode, b)
	}
	resp = rawPost(t, g.srv.URL+"/v1/chat/completions", limited, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || !strings.Contains(string(b), "too_many_requests") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over rate: %d %s (Retry-After %q)", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	if g.up.calls.Load() != 0 {
		t.Errorf("upstream called %d times", g.up.calls.Load())
	}
}
