package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/keys"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// start does what the mains do: config.Load, then app.New; local is what functions/local sets.
func start(t *testing.T, getenv func(string) string, local bool) (*app.App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Local = local
	return app.New(t.Context(), cfg)
}

// TestEmulatorEndToEnd pins that with nothing configured a local run (`make run`) serves the
// offline emulator with a generated key.
func TestEmulatorEndToEnd(t *testing.T) {
	a, err := start(t, env(nil), true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Config.Backend != "emulator" || a.LocalKey == "" {
		t.Fatalf("backend %q key %q", a.Config.Backend, a.LocalKey)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gemini-3.1-pro","messages":[{"role":"user","content":"ping"}]}`))
	req.Header.Set("Authorization", "Bearer "+a.LocalKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct {
				Content          string
				ReasoningContent string `json:"reasoning_content"`
			}
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if !strings.Contains(out.Choices[0].Message.Content, `"ping"`) || out.Choices[0].Message.ReasoningContent == "" || out.Usage.TotalTokens == 0 {
		t.Errorf("emulator answer = %s", b)
	}
}

// TestBadSettingsStopTheStart pins one clear error naming the setting.
func TestBadSettingsStopTheStart(t *testing.T) {
	for m, want := range map[string]string{
		"GATEWAY_MAX_BODY_BYTES=lots": "GATEWAY_MAX_BODY_BYTES",
		"GATEWAY_BACKEND=openai":      "GATEWAY_BACKEND",
		"GATEWAY_BACKEND=gemini":      "GEMINI_API_KEY",
		"GATEWAY_MODEL_ALIASES=[":     "GATEWAY_MODEL_ALIASES",
		"GATEWAY_BACKEND=emulator":    "no client keys",
	} {
		k, v, _ := strings.Cut(m, "=")
		_, err := start(t, env(map[string]string{k: v}), false)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", m, err)
		}
	}
}

// TestVertexThroughWorkloadIdentityFederation pins the AWS path: with Lambda-style AWS
// credentials in the environment and an external_account configuration whose STS and IAM
// endpoints are fakes, a chat reaches the Vertex fake with the impersonated token, and the fake
// STS received an AWS-signed GetCallerIdentity as the subject token.
func TestVertexThroughWorkloadIdentityFederation(t *testing.T) {
	var mu sync.Mutex
	var subject string
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/token":
			_ = r.ParseForm()
			mu.Lock()
			subject = r.PostForm.Get("subject_token")
			mu.Unlock()
			_, _ = io.WriteString(w, `{"access_token":"federated-token","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`)
		case strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
			if r.Header.Get("Authorization") != "Bearer federated-token" {
				w.WriteHeader(401)
				return
			}
			_, _ = io.WriteString(w, `{"accessToken":"impersonated-token","expireTime":"2099-01-01T00:00:00Z"}`)
		case strings.HasPrefix(r.URL.Path, "/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"):
			if got := r.Header.Get("Authorization"); got != "Bearer impersonated-token" {
				t.Errorf("Vertex got Authorization %q", got)
				w.WriteHeader(401)
				return
			}
			_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"from vertex"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3}}`)
		default:
			t.Errorf("unexpected request %s", r.URL)
			w.WriteHeader(404)
		}
	}))
	defer google.Close()
	cfg := map[string]any{
		"type":                              "external_account",
		"audience":                          "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/aws",
		"subject_token_type":                "urn:ietf:params:aws:token-type:aws4_request",
		"token_url":                         google.URL + "/v1/token",
		"service_account_impersonation_url": google.URL + "/v1/projects/-/serviceAccounts/gw@proj.iam.gserviceaccount.com:generateAccessToken",
		"credential_source": map[string]any{
			"environment_id":                 "aws1",
			"region_url":                     "http://169.254.169.254/latest/meta-data/placement/availability-zone",
			"url":                            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
			"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
		},
	}
	b, _ := json.Marshal(cfg)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session",
		"AWS_REGION": "eu-west-3", "GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED": "",
		"GOOGLE_EXTERNAL_ACCOUNT_JSON": string(b), "GATEWAY_BACKEND": "vertex", "GOOGLE_CLOUD_PROJECT": "proj",
		"GOOGLE_CLOUD_LOCATION": "us-central1", "GATEWAY_UPSTREAM_URL": google.URL, "GATEWAY_API_KEYS": "client-key-123456",
	} {
		t.Setenv(k, v)
	}
	a, err := start(t, os.Getenv, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer client-key-123456")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "from vertex") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	raw, err := url.QueryUnescape(subject)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		URL     string                        `json:"url"`
		Method  string                        `json:"method"`
		Headers []struct{ Key, Value string } `json:"headers"`
	}
	if err := json.Unmarshal([]byte(raw), &tok); err != nil {
		t.Fatalf("subject token %q: %v", raw, err)
	}
	auth := ""
	for _, h := range tok.Headers {
		if strings.EqualFold(h.Key, "Authorization") {
			auth = h.Value
		}
	}
	if tok.Method != "POST" || !strings.Contains(tok.URL, "sts.eu-west-3.amazonaws.com") ||
		!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-3/sts/aws4_request") {
		t.Errorf("subject token = %s", raw)
	}
}

// TestKeyRotationWhileServing pins that a key added to the keys document works, and a revoked
// one stops working, within the refresh interval and without a restart.
func TestKeyRotationWhileServing(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/keys.json"
	doc := func(entries ...string) {
		var parts []string
		for _, e := range entries {
			name, raw, _ := strings.Cut(e, "=")
			parts = append(parts, `{"name":"`+name+`","sha256":"`+keys.HashKey(raw)+`"}`)
		}
		if err := os.WriteFile(file+".tmp", []byte(`{"keys":[`+strings.Join(parts, ",")+`]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	doc("old=old-key-0123456789")
	a, err := start(t, env(map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_KEYS_FILE": file, "GATEWAY_KEYS_REFRESH": "20ms"}), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	status := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status("old-key-0123456789") != 200 || status("new-key-0123456789") != 401 {
		t.Fatal("initial key set not served")
	}
	doc("new=new-key-0123456789")
	deadline := time.Now().Add(10 * time.Second)
	for status("old-key-0123456789") != 401 || status("new-key-0123456789") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("rotation not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
