package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
)

// TestResponsesStoredOnEmulator pins the local setup of the Responses API: under `make run`
// with GATEWAY_STORE_DIR the emulator answers POST /v1/responses, the response is written under
// the folder, and GET /v1/responses/{id} reads it back.
func TestResponsesStoredOnEmulator(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(env(map[string]string{"GATEWAY_STORE_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Local = true // as functions/local (`make run`) sets it
	a, err := app.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.LocalKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return resp.StatusCode, m
	}
	code, created := do(http.MethodPost, "/v1/responses", `{"model":"gemini-2.5-flash","input":"ping"}`)
	if code != 200 || created["store"] != true || created["status"] != "completed" {
		t.Fatalf("%d %v", code, created)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "responses" {
		t.Errorf("store folder holds %v (%v)", entries, err)
	}
	code, got := do(http.MethodGet, "/v1/responses/"+created["id"].(string), "")
	if code != 200 || got["id"] != created["id"] {
		t.Errorf("GET: %d %v", code, got)
	}
}
