package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/gateway"
)

// TestRefusalsThroughHandler pins issues 11 and 12 end to end: each unknown field, limit and
// out-of-range value is a 400 whose param names it, and Gemini is never called.
func TestRefusalsThroughHandler(t *testing.T) {
	up := newUpstream(t, jsonResponse(thoughtfulAnswer))
	g := newGateway(t, up, func(o *gateway.Options) { o.MaxMessages, o.MaxParts = 3, 4 })
	rep := func(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }
	const user = `{"role":"user","content":"hi"}`
	body := func(msgs, extra string) string {
		return `{"model":"gemini-2.5-flash","messages":[` + msgs + `]` + extra + `}`
	}
	for _, c := range []struct{ name, body, param string }{
		{"google typo", body(user, `,"google":{"thinking_confg":{"include_thoughts":false}}`), "google.thinking_confg"},
		{"google both", body(user, `,"google":{"cached_content":"a"},"extra_body":{"google":{"cached_content":"b"}}`), "google.cached_content"},
		{"message field", body(`{"role":"user","content":"hi","contnet":"x"}`, ""), "messages[0].contnet"},
		{"part field", body(`{"role":"user","content":[{"type":"text","text":"a","tex":"b"}]}`, ""), "messages[0].content[0].tex"},
		{"messages", body(rep(user, 4), ""), "messages"},
		{"parts", body(`{"role":"user","content":[`+rep(`{"type":"text","text":"a"}`, 5)+`]}`, ""), "messages[0].content"},
		{"stop", body(user, `,"stop":[`+rep(`"x"`, 5)+`]`), "stop"},
		{"tools", body(user, `,"tools":[`+rep(`{"type":"function","function":{"name":"f"}}`, 129)+`]`), "tools"},
		{"temperature", body(user, `,"temperature":2.01`), "temperature"},
		{"top_p", body(user, `,"top_p":1.5`), "top_p"},
		{"top_k", body(user, `,"top_k":0`), "top_k"},
		{"n", body(user, `,"n":0`), "n"},
		{"max_tokens", body(user, `,"max_tokens":0`), "max_tokens"},
		{"max_completion_tokens", body(user, `,"max_completion_tokens":0`), "max_completion_tokens"},
		{"top_logprobs", body(user, `,"logprobs":true,"top_logprobs":21`), "top_logprobs"},
		{"seed", body(user, `,"seed":-2147483649`), "seed"},
		{"tool name", body(user, `,"tools":[{"type":"function","function":{"name":"a\u0000b"}}]`), "tools[0].function.name"},
		{"audio file url", body(`{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"file:///etc/passwd","format":"wav"}}]}`, ""), "messages[0].content[0].input_audio.data"},
		{"bare file_data", body(`{"role":"user","content":[{"type":"file","file":{"file_data":"gopher://x","filename":"a.pdf"}}]}`, ""), "messages[0].content[0].file.file_data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, c.body)
			b, _ := io.ReadAll(resp.Body)
			var e struct {
				Error struct{ Message, Code, Param string }
			}
			_ = json.Unmarshal(b, &e)
			if resp.StatusCode != 400 || e.Error.Param != c.param || !strings.Contains(e.Error.Message, c.param) {
				t.Errorf("status %d, body %s; want 400 naming %s", resp.StatusCode, b, c.param)
			}
		})
	}
	// The official Go client gets the same refusal as an *openai.Error.
	_, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}, Temperature: oai.Float(3)},
		option.WithJSONSet("google", map[string]any{"thinking_level": "low"}))
	var ae *oai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Param != "google.thinking_level" && ae.Param != "temperature" {
		t.Errorf("Go client: %v", err)
	}
	if n := up.calls.Load(); n != 0 {
		t.Errorf("Gemini was called %d times for refused requests", n)
	}
	// At the limits the request goes through.
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, body(rep(user, 3), `,"stop":["a","b","c","d"]`))
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("at the limits: %d %s", resp.StatusCode, b)
	}
}
