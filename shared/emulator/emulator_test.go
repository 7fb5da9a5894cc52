package emulator

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
)

func post(t *testing.T, srv *httptest.Server, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestEmulatorAnswers pins the emulator's contract: deterministic text quoting the last user
// turn, thoughts when asked, usage adding up, both API path styles, streams ending with a
// finish reason, a forced function call, and Gemini-shaped errors.
func TestEmulatorAnswers(t *testing.T) {
	srv := httptest.NewServer(Handler{})
	defer srv.Close()
	body := `{"contents":[{"role":"user","parts":[{"text":"ping"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`
	for _, path := range []string{"/v1beta/models/gemini-2.5-flash:generateContent", "/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"} {
		var r gemini.Response
		if err := json.NewDecoder(post(t, srv, path, body).Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		parts := r.Candidates[0].Content.Parts
		u := r.UsageMetadata
		if len(parts) != 2 || !parts[0].Thought || !strings.Contains(parts[1].Text, `"ping"`) || r.Candidates[0].FinishReason != "STOP" ||
			u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount+u.ThoughtsTokenCount {
			t.Errorf("%s: %+v", path, r)
		}
	}
	resp := post(t, srv, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body)
	er := gemini.NewEventReader(bufio.NewReader(resp.Body))
	var last gemini.Response
	n := 0
	for {
		data, _, err := er.Next()
		if err != nil {
			break
		}
		n++
		last = gemini.Response{}
		_ = json.Unmarshal(data, &last)
	}
	if n < 3 || last.Candidates[0].FinishReason != "STOP" {
		t.Errorf("stream: %d events, last %+v", n, last)
	}
	var call gemini.Response
	_ = json.NewDecoder(post(t, srv, "/v1beta/models/gemini-3-flash-preview:generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`).Body).Decode(&call)
	if p := call.Candidates[0].Content.Parts[0]; p.FunctionCall == nil || p.FunctionCall.Name != "f" || p.ThoughtSignature == "" {
		t.Errorf("forced call: %+v", call)
	}
	if resp := post(t, srv, "/v1beta/models/gpt-4:generateContent", body); resp.StatusCode != 404 {
		t.Errorf("unknown model: %d", resp.StatusCode)
	}
	if resp := post(t, srv, "/v1beta/models/gemini-2.5-flash:generateContent", `{`); resp.StatusCode != 400 {
		t.Errorf("bad JSON: %d", resp.StatusCode)
	}
}
