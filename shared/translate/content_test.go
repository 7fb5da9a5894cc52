package translate

import (
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// TestAssistantHistoryParts pins assistant content given as parts, refusal included, and that
// system messages refuse media.
func TestAssistantHistoryParts(t *testing.T) {
	models, _ := NewModels("")
	req, err := openai.DecodeRequest([]byte(`{"model":"gemini-2.5-flash","messages":[
		{"role":"user","content":"hi"},
		{"role":"assistant","content":[{"type":"text","text":"I can't "},{"type":"refusal","refusal":"help with that."}]},
		{"role":"user","content":"ok"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := RequestToGemini(req, models, RequestOptions{Backend: gemini.Developer})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Request.Contents[1].Parts[0].Text; got != "I can't help with that." {
		t.Errorf("assistant text = %q", got)
	}
	req, _ = openai.DecodeRequest([]byte(`{"model":"gemini-2.5-flash","messages":[
		{"role":"system","content":[{"type":"image_url","image_url":{"url":"gs://b/o.png"}}]},{"role":"user","content":"x"}]}`))
	if _, err := RequestToGemini(req, models, RequestOptions{Backend: gemini.Developer}); err == nil {
		t.Error("media in a system message was accepted")
	}
}
