package translate

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
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
	ctx  context.Context
	opt  RequestOptions
	caps caps // of the upstream model
	out  *Translated
	// t holds the system instruction, and the turn and part of a one-message conversation.
	t        *translation
	contents []gemini.Content
	// slab holds the parts of plain-text turns, one each, handed out in order.
	slab []gemini.Part
	// textOnly reports whether every turn so far came from a plain-text message, so that no part
	// carries media, a call or a media resolution.
	textOnly bool
	// lastResults reports whether the last content holds function responses, so that merging a
	// turn into it never rescans what was merged before (issue 12: quadratic merge).
	lastResults bool
	system      *gemini.Content
	// calls maps tool_call_id to the call's name and its position in its assistant message.
	calls   map[string]callRef
	pending []pendingResult
	// resolution is the highest image_url detail seen, for models without per-part resolution.
	resolution string
	// urlParams names, for each http(s) media URL, the request field it first appeared in.
	urlParams map[string]string
}

type callRef struct {
	name  string
	order int
}

type pendingResult struct {
	order int
	part  gemini.Part
}

// cancelEvery is how many messages are translated between checks of the request context.
const cancelEvery = 256

// maxPresized bounds the turns and parts allocated ahead of a long conversation; beyond it
// they grow as needed.
const maxPresized = 1024

func (cv *contentConverter) messages(msgs []openai.Message) error {
	// Each message makes at most one turn (a run of tool results makes one) and a plain-text
	// message one part, so both are allocated once; a one-message conversation uses t's.
	if n := min(len(msgs), maxPresized); n == 1 {
		cv.contents, cv.slab = cv.t.content[:0], cv.t.part[:0]
	} else {
		cv.contents, cv.slab = make([]gemini.Content, 0, n), make([]gemini.Part, 0, n)
	}
	cv.textOnly = true
	for i := range msgs {
		if i%cancelEvery == 0 {
			if err := cv.ctx.Err(); err != nil {
				return err
			}
		}
		m := &msgs[i]
		if !m.Content.IsParts && !m.Content.IsNull {
			// The common cases, without the allocations of the general path.
			switch {
			case m.Role == "user":
				cv.flushResults()
				cv.addText("user", m.Content.Text)
				continue
			case m.Role == "assistant" && len(m.Content.Parts) == 0 && plainAssistant(m) && cv.out.ThoughtTagMarker == "":
				cv.flushResults()
				if m.Content.Text != "" {
					cv.addText("model", m.Content.Text)
				}
				continue
			}
		}
		switch m.Role {
		case "system", "developer":
			text, err := textOnly(m.Content, i)
			if err != nil {
				return err
			}
			if cv.system == nil {
				cv.system = &cv.t.system
				cv.system.Parts = cv.textPart(text)
			} else {
				cv.system.Parts = append(cv.system.Parts, gemini.Part{Text: text})
			}
		case "user":
			cv.flushResults()
			parts, err := cv.userParts(m.Content, i)
			if err != nil {
				return err
			}
			cv.textOnly = false
			cv.add("user", parts)
		case "assistant":
			cv.flushResults()
			parts, err := cv.assistantParts(m, i)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				cv.textOnly = false
				cv.add("model", parts)
			}
		case "tool", "function":
			if err := cv.toolResult(m, i); err != nil {
				return err
			}
			cv.textOnly = false
		case "":
			field := messageField(i)
			return openai.InvalidParam(field+".role", "%s.role is required", field)
		default:
			return openai.InvalidParam(messageField(i)+".role", "unknown role %q (want system, developer, user, assistant or tool)", m.Role)
		}
	}
	cv.flushResults()
	if len(cv.contents) == 0 {
		return openai.InvalidParam("messages", "messages must contain at least one user, assistant or tool message")
	}
	if cv.textOnly {
		return nil // no part has a media resolution, a URL to fetch or a call to sign
	}
	cv.globalResolution()
	if err := cv.registerFetches(); err != nil {
		return err
	}
	cv.fillMissingSignatures()
	return nil
}

// plainAssistant reports whether an assistant message with string content is that text alone:
// no tool calls, media or signatures, so that its turn is its text (none when it is empty).
func plainAssistant(m *openai.Message) bool {
	return len(m.ToolCalls) == 0 && m.FunctionCall == nil && m.ExtraContent == nil && m.Audio == nil && len(m.Images) == 0
}

// add appends a turn, merging it into the previous one when the role repeats, which Gemini
// requires to alternate. Function-response turns are never merged with text turns. Only the new
// parts are looked at, so n merged messages cost O(n).
func (cv *contentConverter) add(role string, parts []gemini.Part) {
	results := hasFunctionResponse(parts)
	if n := len(cv.contents); n > 0 && cv.contents[n-1].Role == role && !cv.lastResults && !results {
		cv.contents[n-1].Parts = append(cv.contents[n-1].Parts, parts...)
		return
	}
	cv.contents = append(cv.contents, gemini.Content{Role: role, Parts: parts})
	cv.lastResults = results
}

// addText is add for a single text part. A new turn takes its part from the slab, with no room
// to grow into the next part there: a later merge into the turn reallocates its parts.
func (cv *contentConverter) addText(role, text string) {
	if n := len(cv.contents); n > 0 && cv.contents[n-1].Role == role && !cv.lastResults {
		cv.contents[n-1].Parts = append(cv.contents[n-1].Parts, gemini.Part{Text: text})
		return
	}
	cv.contents = append(cv.contents, gemini.Content{Role: role, Parts: cv.textPart(text)})
	cv.lastResults = false
}

// textPart returns a one-part slice of a text part, from the slab while it lasts (each message
// takes at most one). The slice has no room to grow into the slab's next part.
func (cv *contentConverter) textPart(text string) []gemini.Part {
	k := len(cv.slab)
	if k == cap(cv.slab) {
		return []gemini.Part{{Text: text}}
	}
	cv.slab = append(cv.slab, gemini.Part{Text: text})
	return cv.slab[k : k+1 : k+1]
}

func hasFunctionResponse(parts []gemini.Part) bool {
	for i := range parts {
		if parts[i].FunctionResponse != nil {
			return true
		}
	}
	return false
}

// messageField names messages[i] in errors and media URL notes; it is built only for them.
func messageField(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// textOnly returns the text of the content of messages[msg], which must hold no media.
func textOnly(c openai.Content, msg int) (string, error) {
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
			return "", openai.InvalidParam(fmt.Sprintf("%s.content[%d].type", messageField(msg), j), "only text parts are allowed here, got %q", p.Type)
		}
	}
	return b.String(), nil
}

func (cv *contentConverter) userParts(c openai.Content, msg int) ([]gemini.Part, error) {
	if !c.IsParts {
		if c.IsNull {
			field := messageField(msg)
			return nil, openai.InvalidParam(field+".content", "%s.content is required for user messages", field)
		}
		return []gemini.Part{{Text: c.Text}}, nil
	}
	parts := make([]gemini.Part, 0, len(c.Parts)+1) // room for the text part added below
	hasText := false
	for j := range c.Parts {
		var p gemini.Part
		if c.Parts[j].Type == "text" { // what part makes of it, without naming the field
			p = gemini.Part{Text: c.Parts[j].Text}
		} else {
			var err error
			if p, err = cv.part(&c.Parts[j], fmt.Sprintf("%s.content[%d]", messageField(msg), j)); err != nil {
				return nil, err
			}
		}
		hasText = hasText || (p.Text != "")
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		field := messageField(msg)
		return nil, openai.InvalidParam(field+".content", "%s.content must not be empty", field)
	}
	if !hasText {
		// A turn of media alone is rejected by some Gemini versions ("must include a text part",
		// litellm#5515); a minimal text part satisfies them and changes nothing for the rest.
		parts = append(parts, gemini.Part{Text: " "})
	}
	if hasHTTPFile(parts) {
		if err := cv.noteMediaURLs(parts, messageField(msg)+".content"); err != nil {
			return nil, err
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

func (cv *contentConverter) toolResult(m *openai.Message, msg int) error {
	name, order := m.Name, len(cv.pending)+1<<20
	if ref, ok := cv.calls[m.ToolCallID]; ok {
		name, order = ref.name, ref.order
	}
	if name == "" {
		field := messageField(msg)
		return openai.InvalidParam(field+".tool_call_id", "%s.tool_call_id %q matches no tool call of an earlier assistant message", field, m.ToolCallID)
	}
	text, err := textOnly(m.Content, msg)
	if err != nil {
		return err
	}
	hasParts := m.ExtraContent != nil && m.ExtraContent.Google != nil && len(m.ExtraContent.Google.Parts) > 0
	resp, err := toolResponse(text, hasParts)
	if err != nil {
		field := messageField(msg)
		return openai.InvalidParam(field+".content", "%s.content: %v", field, err)
	}
	fr := &gemini.FunctionResponse{Name: name, Response: resp}
	if hasParts {
		field := messageField(msg)
		parts, err := extraParts(m.ExtraContent.Google.Parts, field+".extra_content.google.parts")
		if err == nil {
			err = cv.noteMediaURLs(parts, field+".extra_content.google.parts")
		}
		if err != nil {
			return err
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
	if !slices.IsSortedFunc(cv.pending, byOrder) {
		slices.SortStableFunc(cv.pending, byOrder)
	}
	parts := make([]gemini.Part, len(cv.pending))
	for i, p := range cv.pending {
		parts[i] = p.part
	}
	cv.pending = cv.pending[:0]
	cv.contents = append(cv.contents, gemini.Content{Role: "user", Parts: parts})
	cv.lastResults = true
}

func byOrder(a, b pendingResult) int { return cmp.Compare(a.order, b.order) }

// fillMissingSignatures marks Gemini 3 function calls in history that lost their signature, so
// the API does not reject the whole conversation. Only the first call of a turn carries a
// signature (parallel calls share it), so only that one is marked.
func (cv *contentConverter) fillMissingSignatures() {
	if !cv.caps.gen3 {
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

// The thought signature rides in a tool-call id after a marker, so clients that keep only the id
// (the official SDKs' ToParam drops extra_content) still send it back. Gemini's signatures are
// standard base64 and travel as the same bytes in unpadded base64url (shorter, and safe in any
// id); any other string travels as its own bytes in base64url after a second marker, so every
// signature round-trips exactly.
const (
	callIDSep    = "__ts__"  // then base64url of the bytes the standard-base64 signature encodes
	callIDSepRaw = "__tsr__" // then base64url of the signature string itself
)

// CallID builds a tool-call id from a unique base, embedding sig losslessly.
func CallID(base, sig string) string {
	if sig == "" {
		return base
	}
	if raw, err := base64.StdEncoding.DecodeString(sig); err == nil && base64.StdEncoding.EncodeToString(raw) == sig {
		return base + callIDSep + base64.RawURLEncoding.EncodeToString(raw)
	}
	return base + callIDSepRaw + base64.RawURLEncoding.EncodeToString([]byte(sig))
}

// SignatureFromCallID returns the signature embedded by CallID, or "". The first marker in the
// id is the one CallID wrote: the base never holds one, and base64url text may contain "_" but
// the marker's "__ts" is found before it.
func SignatureFromCallID(id string) string {
	i := strings.Index(id, "__ts")
	if i < 0 {
		return ""
	}
	rest := id[i:]
	switch {
	case strings.HasPrefix(rest, callIDSep):
		raw, err := base64.RawURLEncoding.DecodeString(rest[len(callIDSep):])
		if err != nil {
			return ""
		}
		return base64.StdEncoding.EncodeToString(raw)
	case strings.HasPrefix(rest, callIDSepRaw):
		raw, err := base64.RawURLEncoding.DecodeString(rest[len(callIDSepRaw):])
		if err != nil {
			return ""
		}
		return string(raw)
	}
	return ""
}

// globalResolution moves per-part media resolution to the request on models before Gemini 3,
// which accept only generationConfig.mediaResolution: the highest detail asked for wins.
// https://ai.google.dev/gemini-api/docs/media-resolution
func (cv *contentConverter) globalResolution() {
	if cv.caps.gen3 {
		return
	}
	rank := func(level string) int {
		switch level {
		case "MEDIA_RESOLUTION_LOW":
			return 1
		case "MEDIA_RESOLUTION_MEDIUM":
			return 2
		case "MEDIA_RESOLUTION_HIGH":
			return 3
		}
		return 0
	}
	for i := range cv.contents {
		for j := range cv.contents[i].Parts {
			p := &cv.contents[i].Parts[j]
			if p.MediaResolution == nil {
				continue
			}
			if rank(p.MediaResolution.Level) > rank(cv.resolution) {
				cv.resolution = p.MediaResolution.Level
			}
			p.MediaResolution = nil
		}
	}
}
