package translate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// assistantParts rebuilds the model turn of an assistant message in history: its text, its
// images and its tool calls, each with the thought signature it came with. Gemini 3 validates
// the signatures of the current turn, and image models need each image back with its own
// signature to edit it.
// https://ai.google.dev/gemini-api/docs/thought-signatures
//
// Signatures are read where the gateway (and Vertex's endpoint) put them: on a content part's
// extra_content, on a tool call, on an image (images[i].extra_content, audio.extra_content), and
// at message level. The message-level one is Vertex's place for the signature of a message with
// string content; it goes back on the last text part, where Gemini 3 puts it, or on the first
// image when there is no text, unless a part already carries it.
func (cv *contentConverter) assistantParts(m *openai.Message, msg int) ([]gemini.Part, error) {
	var parts []gemini.Part
	var carry string // the signature of an empty text part, for the part next to it
	emit := func(p gemini.Part) {
		if p.ThoughtSignature == "" {
			p.ThoughtSignature, carry = carry, ""
		}
		parts = append(parts, p)
	}
	thoughts := newThoughtStripper(cv.out.ThoughtTagMarker)
	text := func(t, sig string) {
		t = thoughts.visible(t)
		if t == "" {
			// A part with neither text nor data is invalid in Gemini; Gemini 3 streams often end
			// with such a part holding the signature, so the signature moves to its neighbour.
			if sig != "" && !attachToLast(parts, sig) {
				carry = sig
			}
			return
		}
		emit(gemini.Part{Text: t, ThoughtSignature: sig})
	}
	images := map[string]bool{} // image data already in the turn: audio repeats images[0]
	image := func(url, mime, sig, f string) error {
		p, err := mediaPart(url, mime, f)
		if err != nil {
			return err
		}
		if p.InlineData != nil {
			if images[p.InlineData.Data] {
				return nil
			}
			images[p.InlineData.Data] = true
		}
		p.ThoughtSignature = sig
		emit(p)
		return nil
	}

	if !m.Content.IsParts {
		text(m.Content.Text, "")
	}
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		sig := googleSignature(p.ExtraContent)
		switch p.Type {
		case "text":
			text(p.Text, sig)
		case "refusal": // assistant history may hold the model's refusal as a part
			text(p.Refusal, sig)
		case "image_url":
			f := fmt.Sprintf("%s.content[%d]", messageField(msg), j)
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, openai.InvalidParam(f+".image_url", "%s.image_url.url is required", f)
			}
			if err := image(p.ImageURL.URL, "", sig, f+".image_url.url"); err != nil {
				return nil, err
			}
		default:
			f := fmt.Sprintf("%s.content[%d]", messageField(msg), j)
			return nil, openai.InvalidParam(f+".type", "assistant content parts must be text, refusal or image_url, got %q", p.Type)
		}
	}
	for k := range m.Images {
		im := &m.Images[k]
		f := fmt.Sprintf("%s.images[%d]", messageField(msg), k)
		if im.ImageURL.URL == "" {
			return nil, openai.InvalidParam(f+".image_url.url", "%s.image_url.url is required", f)
		}
		if err := image(im.ImageURL.URL, "", googleSignature(im.ExtraContent), f+".image_url.url"); err != nil {
			return nil, err
		}
	}
	if a := m.Audio; a != nil && a.Data != "" {
		// Vertex returns generated media in message.audio with the mime type in
		// extra_content.google.mime_type (seed 004); it is the first image of images[] again
		// when both are there.
		mime := ""
		if a.ExtraContent != nil && a.ExtraContent.Google != nil {
			mime = a.ExtraContent.Google.MIMEType
		}
		f := messageField(msg) + ".audio"
		if mime == "" {
			return nil, openai.InvalidParam(f+".extra_content.google.mime_type", "%s needs extra_content.google.mime_type to be sent back to Gemini", f)
		}
		if err := image("data:"+mime+";base64,"+a.Data, "", googleSignature(a.ExtraContent), f+".data"); err != nil {
			return nil, err
		}
	}
	if carry != "" {
		attachToLast(parts, carry)
	}
	if sig := googleSignature(m.ExtraContent); sig != "" {
		placeMessageSignature(parts, sig)
	}

	calls := m.ToolCalls
	if m.FunctionCall != nil && len(calls) == 0 {
		calls = []openai.ToolCall{{Function: *m.FunctionCall}}
	}
	for k := range calls {
		tc := &calls[k]
		if tc.Function.Name == "" {
			f := callField(msg, k)
			return nil, openai.InvalidParam(f+".function.name", "%s.function.name is required", f)
		}
		var args json.RawMessage
		if s := strings.TrimSpace(tc.Function.Arguments); s == "" {
			args = json.RawMessage("{}")
		} else {
			if !json.Valid([]byte(s)) || s[0] != '{' {
				f := callField(msg, k)
				return nil, openai.InvalidParam(f+".function.arguments", "%s.function.arguments must be a JSON object", f)
			}
			args = json.RawMessage(s)
		}
		part := gemini.Part{FunctionCall: &gemini.FunctionCall{Name: tc.Function.Name, Args: args}}
		part.ThoughtSignature = signatureOf(tc)
		parts = append(parts, part)
		if tc.ID != "" {
			if cv.calls == nil {
				cv.calls = map[string]callRef{}
			}
			cv.calls[tc.ID] = callRef{name: tc.Function.Name, order: k}
		}
	}
	return parts, nil
}

// callField names messages[msg].tool_calls[k], for errors.
func callField(msg, k int) string {
	return messageField(msg) + ".tool_calls[" + strconv.Itoa(k) + "]"
}

// googleSignature returns extra_content.google.thought_signature, or "".
func googleSignature(x *openai.ExtraContent) string {
	if x == nil || x.Google == nil {
		return ""
	}
	return x.Google.ThoughtSignature
}

// attachToLast puts sig on the last part when it has none, and reports whether it did.
func attachToLast(parts []gemini.Part, sig string) bool {
	if n := len(parts); n > 0 && parts[n-1].ThoughtSignature == "" {
		parts[n-1].ThoughtSignature = sig
		return true
	}
	return false
}

// placeMessageSignature puts a message-level signature back on the part it came from: nowhere
// when a part already carries it (the gateway repeats an image's signature at message level when
// the image stands alone, as Vertex does), else the last text part, else the first image.
func placeMessageSignature(parts []gemini.Part, sig string) {
	for i := range parts {
		if parts[i].ThoughtSignature == sig {
			return
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i].Text != "" {
			if parts[i].ThoughtSignature == "" {
				parts[i].ThoughtSignature = sig
			}
			return
		}
	}
	for i := range parts {
		if parts[i].InlineData != nil || parts[i].FileData != nil {
			if parts[i].ThoughtSignature == "" {
				parts[i].ThoughtSignature = sig
			}
			return
		}
	}
}

// thoughtStripper removes, with thought_tag_marker set, the thoughts the gateway inlined as
// <marker>…</marker> from assistant text before it goes back to Gemini, as Vertex documents for
// its own endpoint. A span may open in one content part and close in a later one; an unclosed
// span runs to the end of the message.
type thoughtStripper struct {
	open, closing string
	in            bool
}

func newThoughtStripper(marker string) *thoughtStripper {
	if marker == "" {
		return nil
	}
	return &thoughtStripper{open: "<" + marker + ">", closing: "</" + marker + ">"}
}

// visible returns the part of s outside thought spans.
func (t *thoughtStripper) visible(s string) string {
	if t == nil || !t.in && !strings.Contains(s, t.open) {
		return s
	}
	var b strings.Builder
	for s != "" {
		if t.in {
			j := strings.Index(s, t.closing)
			if j < 0 {
				return b.String()
			}
			s, t.in = s[j+len(t.closing):], false
			continue
		}
		i := strings.Index(s, t.open)
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s, t.in = s[i+len(t.open):], true
	}
	return b.String()
}
