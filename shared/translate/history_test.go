package translate

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// TestAssistantTurnRoundTrips pins that a model turn the gateway returned comes back to Gemini
// as the same parts, each with its own signature and each image once, when the client sends the
// assistant message back as it received it: text and image both signed, only the image signed
// (its signature then also stands at message level), and an image alone.
func TestAssistantTurnRoundTrips(t *testing.T) {
	const img = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	image := func(sig string) gemini.Part {
		return gemini.Part{InlineData: &gemini.Blob{MIMEType: "image/png", Data: img}, ThoughtSignature: sig}
	}
	for name, parts := range map[string][]gemini.Part{
		"both signed":      {{Text: "Here is a cat.", ThoughtSignature: "c2lnLXRleHQ="}, image("c2lnLWltZw==")},
		"image signed":     {{Text: "Here is a cat."}, image("c2lnLWltZw==")},
		"image alone":      {image("c2lnLWltZw==")},
		"two images":       {{Text: "Two cats.", ThoughtSignature: "c2lnLXRleHQ="}, image("c2lnLTE="), image("c2lnLTI=")},
		"text signed last": {{Text: "Hello."}, {Text: " Bye.", ThoughtSignature: "c2lnLWxhc3Q="}},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "two images" {
				parts[2].InlineData = &gemini.Blob{MIMEType: "image/jpeg", Data: "/9j/4AAQ"}
			}
			resp, err := ResponseFromGemini(&gemini.Response{Candidates: []gemini.Candidate{{Content: &gemini.Content{Role: "model", Parts: parts}, FinishReason: "STOP"}}}, testMeta())
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := json.Marshal(resp.Choices[0].Message)
			body := `{"model":"gemini-3-pro-image","messages":[{"role":"user","content":"Draw."},` + string(msg) + `,{"role":"user","content":"Make it blue."}]}`
			req, err := openai.DecodeRequest([]byte(body))
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			models, _ := NewModels("")
			tr, err := RequestToGemini(t.Context(), req, models, RequestOptions{Backend: gemini.Developer})
			if err != nil {
				t.Fatal(err)
			}
			c := tr.Request.Contents
			if len(c) != 3 || c[1].Role != "model" || c[2].Role != "user" {
				t.Fatalf("contents = %+v", c)
			}
			want := parts
			if name == "text signed last" { // one content string: the signature goes on it
				want = []gemini.Part{{Text: "Hello. Bye.", ThoughtSignature: "c2lnLWxhc3Q="}}
			}
			if d := cmp.Diff(want, c[1].Parts); d != "" {
				t.Errorf("model turn (-want +got):\n%s\nassistant message: %s", d, msg)
			}
		})
	}
}

// TestThoughtTagMarkerBrackets pins that "<think>" names the same tag as "think".
func TestThoughtTagMarkerBrackets(t *testing.T) {
	for in, want := range map[string]string{"think": "think", "<think>": "think", " <reasoning> ": "reasoning", "": ""} {
		if got, err := tagMarker(in); err != nil || got != want {
			t.Errorf("tagMarker(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"<>", "<a<b>"} {
		if _, err := tagMarker(bad); err == nil {
			t.Errorf("tagMarker(%q) accepted", bad)
		}
	}
}
