package translate

import (
	"strings"
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
	tr, err := RequestToGemini(t.Context(), req, models, RequestOptions{Backend: gemini.Developer})
	if err != nil {
		t.Fatal(err)
	}
	// Each content part stays its own Gemini part, so a signature on one goes back on it alone.
	if p := tr.Request.Contents[1].Parts; len(p) != 2 || p[0].Text != "I can't " || p[1].Text != "help with that." {
		t.Errorf("assistant parts = %+v", p)
	}
	req, _ = openai.DecodeRequest([]byte(`{"model":"gemini-2.5-flash","messages":[
		{"role":"system","content":[{"type":"image_url","image_url":{"url":"gs://b/o.png"}}]},{"role":"user","content":"x"}]}`))
	if _, err := RequestToGemini(t.Context(), req, models, RequestOptions{Backend: gemini.Developer}); err == nil {
		t.Error("media in a system message was accepted")
	}
}

// TestCallIDCarriesAnySignature pins that every signature string survives the trip through a
// tool-call id: Gemini's standard base64 in the short form, anything else (not base64, unpadded,
// non-canonical, non-ASCII, containing the markers themselves) in the second form.
func TestCallIDCarriesAnySignature(t *testing.T) {
	for _, sig := range []string{
		"c2lnLXBhcmlz", "CrcCAdHtim9L2xQOKUQhJK/Wm3e3685FOLAaJ6YEJJsqO1k66u4/883+8Ogg1kPw1Wk=",
		"c2lnLXBhcmlzYQ", "c2lnLXBhcmlzYR==", "not base64: ü/+==", "__ts__x", "a__tsr__b", "_", " ",
		SkipSignature,
	} {
		id := CallID("call_x1", sig)
		if got := SignatureFromCallID(id); got != sig {
			t.Errorf("signature %q: id %q gives back %q", sig, id, got)
		}
		if !strings.HasPrefix(id, "call_x1__ts") {
			t.Errorf("signature %q: id %q does not keep its base", sig, id)
		}
	}
	if got := CallID("call_x1", ""); got != "call_x1" {
		t.Errorf("no signature: id %q", got)
	}
	for _, id := range []string{"call_x1", "call_x1__ts__!!", "call_x1__tsq__abc", "function-call-123"} {
		if got := SignatureFromCallID(id); got != "" {
			t.Errorf("id %q: signature %q, want none", id, got)
		}
	}
}
