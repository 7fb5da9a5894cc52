package translate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// SkipSignature is the value Gemini documents for history whose thought signatures were lost:
// it disables validation for that part. Vertex accepts only this value (pydantic-ai#3881).
// https://ai.google.dev/gemini-api/docs/thought-signatures
const SkipSignature = "skip_thought_signature_validator"

// contentConverter turns messages into Gemini contents and the system instruction.
type contentConverter struct {
	opt      RequestOptions
	model    string
	out      *Translated
	contents []gemini.Content
	system   *gemini.Content
	// calls maps tool_call_id to the call's name and its position in its assistant message.
	calls   map[string]callRef
	pending []pendingResult
	// resolution is the highest image_url detail seen, for models without per-part resolution.
	resolution string
}

type callRef struct {
	name  string
	order int
}

type pendingResult struct {
	order int
	part  gemini.Part
}

func (cv *contentConverter) messages(msgs []openai.Message) error {
	cv.calls = map[string]callRef{}
	for i := range msgs {
		m := &msgs[i]
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			text, err := textOnly(m.Content, field)
			if err != nil {
				return err
			}
			if cv.system == nil {
				cv.system = &gemini.Content{}
			}
			cv.system.Parts = append(cv.system.Parts, gemini.Part{Text: text})
		case "user":
			cv.flushResults()
			parts, err := cv.userParts(m.Content, field)
			if err != nil {
				return err
			}
			cv.add("user", parts)
		case "assistant":
			cv.flushResults()
			parts, err := cv.assistantParts(m, field)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				cv.add("model", parts)
			}
		case "tool", "function":
			if err := cv.toolResult(m, field); err != nil {
				return err
			}
		case "":
			return openai.InvalidParam(field+".role", "%s.role is required", field)
		default:
			return openai.InvalidParam(field+".role", "unknown role %q (want system, developer, user, assistant or tool)", m.Role)
		}
	}
	cv.flushResults()
	cv.globalResolution()
	if len(cv.contents) == 0 {
		return openai.InvalidParam("messages", "messages must contain at least one user, assistant or tool message")
	}
	cv.fillMissingSignatures()
	return nil
}

// add appends a turn, merging it into the previous one when the role repeats, which Gemini
// requires to alternate. Function-response turns are never merged with text turns.
func (cv *contentConverter) add(role string, parts []gemini.Part) {
	if n := len(cv.contents); n > 0 && cv.contents[n-1].Role == role && !hasFunctionResponse(cv.contents[n-1].Parts) && !hasFunctionResponse(parts) {
		cv.contents[n-1].Parts = append(cv.contents[n-1].Parts, parts...)
		return
	}
	cv.contents = append(cv.contents, gemini.Content{Role: role, Parts: parts})
}

func hasFunctionResponse(parts []gemini.Part) bool {
	for i := range parts {
		if parts[i].FunctionResponse != nil {
			return true
		}
	}
	return false
}

func textOnly(c openai.Content, field string) (string, error) {
	if !c.IsParts {
		return c.Text, nil
	}
	var b strings.Builder
	for j, p := range c.Parts {
		switch p.Type {
		case "text":
			b.WriteString(p.Text)
		case "refusal": // assistant history may hold the model's refusal as a part
			b.WriteString(p.Refusal)
		default:
			return "", openai.InvalidParam(fmt.Sprintf("%s.content[%d].type", field, j), "only text parts are allowed here, got %q", p.Type)
		}
	}
	return b.String(), nil
}

func (cv *contentConverter) userParts(c openai.Content, field string) ([]gemini.Part, error) {
	if !c.IsParts {
		if c.IsNull {
			return nil, openai.InvalidParam(field+".content", "%s.content is required for user messages", field)
		}
		return []gemini.Part{{Text: c.Text}}, nil
	}
	parts := make([]gemini.Part, 0, len(c.Parts))
	hasText := false
	for j := range c.Parts {
		p, err := cv.part(&c.Parts[j], fmt.Sprintf("%s.content[%d]", field, j))
		if err != nil {
			return nil, err
		}
		hasText = hasText || (p.Text != "")
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, openai.InvalidParam(field+".content", "%s.content must not be empty", field)
	}
	if !hasText {
		// A turn of media alone is rejected by some Gemini versions ("must include a text part",
		// litellm#5515); a minimal text part satisfies them and changes nothing for the rest.
		parts = append(parts, gemini.Part{Text: " "})
	}
	if err := cv.registerFetches(parts, field+".content"); err != nil {
		return nil, err
	}
	return parts, nil
}

func (cv *contentConverter) assistantParts(m *openai.Message, field string) ([]gemini.Part, error) {
	var parts []gemini.Part
	text, err := textOnly(m.Content, field)
	if err != nil {
		return nil, err
	}
	if text != "" {
		p := gemini.Part{Text: text}
		if m.ExtraContent != nil && m.ExtraContent.Google != nil {
			p.ThoughtSignature = m.ExtraContent.Google.ThoughtSignature
		}
		parts = append(parts, p)
	}
	calls := m.ToolCalls
	if m.FunctionCall != nil && len(calls) == 0 {
		calls = []openai.ToolCall{{Function: *m.FunctionCall}}
	}
	for k := range calls {
		tc := &calls[k]
		f := fmt.Sprintf("%s.tool_calls[%d]", field, k)
		if tc.Function.Name == "" {
			return nil, openai.InvalidParam(f+".function.name", "%s.function.name is required", f)
		}
		args := json.RawMessage("{}")
		if s := strings.TrimSpace(tc.Function.Arguments); s != "" {
			if !json.Valid([]byte(s)) || s[0] != '{' {
				return nil, openai.InvalidParam(f+".function.arguments", "%s.function.arguments must be a JSON object", f)
			}
			args = json.RawMessage(s)
		}
		part := gemini.Part{FunctionCall: &gemini.FunctionCall{Name: tc.Function.Name, Args: args}}
		part.ThoughtSignature = signatureOf(tc)
		parts = append(parts, part)
		if tc.ID != "" {
			cv.calls[tc.ID] = callRef{name: tc.Function.Name, order: k}
		}
	}
	return parts, nil
}

// signatureOf finds a tool call's thought signature where clients keep it: extra_content (what
// we return), the id (which survives clients that drop unknown fields), or function.thought_signature.
func signatureOf(tc *openai.ToolCall) string {
	if tc.ExtraContent != nil && tc.ExtraContent.Google != nil && tc.ExtraContent.Google.ThoughtSignature != "" {
		return tc.ExtraContent.Google.ThoughtSignature
	}
	if s := SignatureFromCallID(tc.ID); s != "" {
		return s
	}
	return tc.Function.ThoughtSignature
}

func (cv *contentConverter) toolResult(m *openai.Message, field string) error {
	name, order := m.Name, len(cv.pending)+1<<20
	if ref, ok := cv.calls[m.ToolCallID]; ok {
		name, order = ref.name, ref.order
	}
	if name == "" {
		return openai.InvalidParam(field+".tool_call_id", "%s.tool_call_id %q matches no tool call of an earlier assistant message", field, m.ToolCallID)
	}
	text, err := textOnly(m.Content, field)
	if err != nil {
		return err
	}
	hasParts := m.ExtraContent != nil && m.ExtraContent.Google != nil && len(m.ExtraContent.Google.Parts) > 0
	resp, err := toolResponse(text, hasParts)
	if err != nil {
		return openai.InvalidParam(field+".content", "%s.content: %v", field, err)
	}
	fr := &gemini.FunctionResponse{Name: name, Response: resp}
	if hasParts {
		parts, err := extraParts(m.ExtraContent.Google.Parts)
		if err != nil {
			return openai.InvalidParam(field+".extra_content.google.parts", "%v", err)
		}
		fr.Parts = parts
	}
	cv.pending = append(cv.pending, pendingResult{order: order, part: gemini.Part{FunctionResponse: fr}})
	return nil
}

// flushResults emits the collected tool results as one user turn, in the order of the calls.
func (cv *contentConverter) flushResults() {
	if len(cv.pending) == 0 {
		return
	}
	sort.SliceStable(cv.pending, func(a, b int) bool { return cv.pending[a].order < cv.pending[b].order })
	parts := make([]gemini.Part, len(cv.pending))
	for i, p := range cv.pending {
		parts[i] = p.part
	}
	cv.pending = cv.pending[:0]
	cv.contents = append(cv.contents, gemini.Content{Role: "user", Parts: parts})
}

// fillMissingSignatures marks Gemini 3 function calls in history that lost their signature, so
// the API does not reject the whole conversation. Only the first call of a turn carries a
// signature (parallel calls share it), so only that one is marked.
func (cv *contentConverter) fillMissingSignatures() {
	if !IsGemini3(cv.model) {
		return
	}
	for i := range cv.contents {
		c := &cv.contents[i]
		if c.Role != "model" {
			continue
		}
		for j := range c.Parts {
			if c.Parts[j].FunctionCall != nil {
				if c.Parts[j].ThoughtSignature == "" {
					c.Parts[j].ThoughtSignature = SkipSignature
				}
				break
			}
		}
	}
}

// callIDSep separates a tool-call id from the thought signature embedded in it.
const callIDSep = "__ts__"

// CallID builds a tool-call id from a unique base, embedding sig (standard base64, as Gemini
// sends it) as unpadded base64url so clients that keep only the id still round-trip it.
func CallID(base, sig string) string {
	if sig == "" {
		return base
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return base
	}
	return base + callIDSep + base64.RawURLEncoding.EncodeToString(raw)
}

// SignatureFromCallID returns the signature embedded by CallID, or "".
func SignatureFromCallID(id string) string {
	_, enc, ok := strings.Cut(id, callIDSep)
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// globalResolution moves per-part media resolution to the request on models before Gemini 3,
// which accept only generationConfig.mediaResolution: the highest detail asked for wins.
// https://ai.google.dev/gemini-api/docs/media-resolution
func (cv *contentConverter) globalResolution() {
	if IsGemini3(cv.model) {
		return
	}
	rank := map[string]int{"MEDIA_RESOLUTION_LOW": 1, "MEDIA_RESOLUTION_MEDIUM": 2, "MEDIA_RESOLUTION_HIGH": 3}
	for i := range cv.contents {
		for j := range cv.contents[i].Parts {
			p := &cv.contents[i].Parts[j]
			if p.MediaResolution == nil {
				continue
			}
			if rank[p.MediaResolution.Level] > rank[cv.resolution] {
				cv.resolution = p.MediaResolution.Level
			}
			p.MediaResolution = nil
		}
	}
}
