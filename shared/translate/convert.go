package translate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// Meta is what a response translation needs besides Gemini's body: the values the gateway
// chose (id, time, the echoed model name), the id source and the shaping options.
type Meta struct {
	ID      string // chatcmpl-…
	Created int64  // unix seconds
	Model   string // the model name the client sent
	// NewCallID returns a unique tool-call id base; it is called once per tool call.
	NewCallID        func() string
	ThoughtTagMarker string
	MaxToolCalls     int // 0: no limit
	// IncludeUsage says the stream ends with a usage chunk, so every chunk before it carries
	// "usage": null, as OpenAI's streams do (and seed 000 shows).
	IncludeUsage bool
}

// choiceState is the per-choice state the part converter carries between stream events; a
// unary response uses the same converter over all its parts at once.
type choiceState struct {
	inThought bool // inside <marker>…</marker> when thought_tag_marker is set
	calls     int  // tool calls emitted so far; also the next stream index
	emitted   bool // anything was emitted for this choice
	partial   *partialCall
}

// accum collects what parts convert to, for one delta or one whole message.
type accum struct {
	content, reasoning       joined
	hasContent, hasReasoning bool
	calls                    []openai.ToolCall
	images                   []openai.Image
	audio                    *openai.Audio
	signature                string
}

// addParts converts parts into a. Thoughts go to reasoning_content, or inline between marker
// tags; text to content; functionCall parts to tool calls with unique ids carrying the thought
// signature; inline data to audio and images.
func (m *Meta) addParts(st *choiceState, a *accum, parts []gemini.Part, stream bool) {
	for i := range parts {
		p := &parts[i]
		switch {
		case p.FunctionCall != nil:
			m.closeThought(st, a)
			m.addCall(st, a, p, stream)
		case p.Thought:
			if p.Text == "" {
				break
			}
			if m.ThoughtTagMarker != "" {
				if !st.inThought {
					a.content.WriteString("<")
					a.content.WriteString(m.ThoughtTagMarker)
					a.content.WriteString(">")
					st.inThought = true
				}
				a.content.WriteString(p.Text)
				a.hasContent = true
			} else {
				a.reasoning.WriteString(p.Text)
				a.hasReasoning = true
			}
		case p.InlineData != nil:
			m.closeThought(st, a)
			// Each image keeps its own thought signature: image models need it back with the
			// image to edit it (https://ai.google.dev/gemini-api/docs/thought-signatures).
			n := len(a.images)
			im := openai.Image{Type: "image_url", Index: n,
				ImageURL: openai.ImageURL{URL: "data:" + p.InlineData.MIMEType + ";base64," + p.InlineData.Data}}
			if p.ThoughtSignature != "" {
				im.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: p.ThoughtSignature}}
			}
			a.images = append(a.images, im)
			if a.audio == nil {
				// Vertex's OpenAI endpoint returns generated media in message.audio with the
				// mime type in extra_content.google.mime_type (seed 004).
				a.audio = &openai.Audio{Data: p.InlineData.Data, ExtraContent: &openai.ExtraContent{Google: &openai.GoogleExtra{
					MIMEType: p.InlineData.MIMEType, ThoughtSignature: p.ThoughtSignature}}}
			}
		case p.Text != "":
			m.closeThought(st, a)
			a.content.WriteString(p.Text)
			a.hasContent = true
		}
		if p.ThoughtSignature != "" && p.FunctionCall == nil && a.signature == "" {
			a.signature = p.ThoughtSignature
		}
	}
}

func (m *Meta) closeThought(st *choiceState, a *accum) {
	if st.inThought {
		a.content.WriteString("</")
		a.content.WriteString(m.ThoughtTagMarker)
		a.content.WriteString(">")
		a.hasContent = true
		st.inThought = false
	}
}

func (m *Meta) addCall(st *choiceState, a *accum, p *gemini.Part, stream bool) {
	fc := p.FunctionCall
	if st.partial != nil || fc.WillContinue || len(fc.PartialArgs) > 0 {
		m.addPartialCall(st, a, p)
		return
	}
	if m.MaxToolCalls > 0 && st.calls >= m.MaxToolCalls {
		return // parallel_tool_calls: false
	}
	args := compactArgs(fc.Args)
	tc := openai.ToolCall{ID: CallID(m.NewCallID(), p.ThoughtSignature), Type: "function",
		Function: openai.FunctionCall{Name: fc.Name, Arguments: args}}
	if p.ThoughtSignature != "" {
		tc.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: p.ThoughtSignature}}
	}
	if stream {
		idx := st.calls
		tc.Index = &idx
	}
	st.calls++
	a.calls = append(a.calls, tc)
}

// joined is the concatenation of the strings written to it. The common message is one text
// part: a single string is kept as it is, without the copy a strings.Builder makes.
type joined struct {
	first string
	b     strings.Builder
	n     int // strings written
}

func (j *joined) WriteString(s string) {
	switch j.n {
	case 0:
		j.first = s
	case 1:
		j.b.Grow(len(j.first) + len(s))
		j.b.WriteString(j.first)
		j.b.WriteString(s)
	default:
		j.b.WriteString(s)
	}
	j.n++
}

// String returns the concatenation.
func (j *joined) String() string {
	if j.n <= 1 {
		return j.first
	}
	return j.b.String()
}

// empty reports whether a holds nothing to send.
func (a *accum) empty() bool {
	return !a.hasContent && !a.hasReasoning && len(a.calls) == 0 && len(a.images) == 0 && a.signature == ""
}

func (a *accum) delta() openai.Delta {
	var d openai.Delta
	if a.hasContent {
		s := a.content.String()
		d.Content = &s
	}
	if a.hasReasoning {
		s := a.reasoning.String()
		d.ReasoningContent = &s
	}
	d.ToolCalls = a.calls
	d.Images = a.images
	d.Audio = a.audio
	if a.signature != "" {
		d.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: a.signature}}
	}
	return d
}

// finishReason maps Gemini's finishReason. ok is false for reasons that mean the model failed
// to produce a proper answer (MALFORMED_FUNCTION_CALL, NO_IMAGE, OTHER…), which must never be
// reported as a silent empty success.
// https://ai.google.dev/api/generate-content#FinishReason
func finishReason(fr string, calls bool) (reason string, ok bool) {
	switch fr {
	case "STOP":
		if calls {
			return "tool_calls", true
		}
		return "stop", true
	case "MAX_TOKENS":
		return "length", true
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter", true
	}
	if calls {
		return "tool_calls", false
	}
	return "stop", false
}

// abnormalError is the error for a candidate that ended with a failure reason and no content.
func abnormalError(c *gemini.Candidate) *openai.Error {
	msg := "Gemini ended the response with " + c.FinishReason
	if c.FinishMessage != "" {
		msg += ": " + c.FinishMessage
	}
	e := openai.Errorf(http.StatusBadGateway, openai.CodeUpstreamError, "", "%s", msg)
	e.Message = msg
	return e
}

// usageFromGemini maps usageMetadata. Gemini's total is prompt + toolUsePrompt + candidates +
// thoughts, so prompt and completion are summed to match it; cached tokens are part of the prompt.
func usageFromGemini(u *gemini.UsageMetadata) *openai.Usage {
	if u == nil {
		return nil
	}
	out := &openai.Usage{}
	usageInto(out, u)
	return out
}

// usageInto is usageFromGemini into out, which is zero.
func usageInto(out *openai.Usage, u *gemini.UsageMetadata) {
	out.PromptTokens = u.PromptTokenCount + u.ToolUsePromptTokenCount
	out.CompletionTokens = u.CandidatesTokenCount + u.ThoughtsTokenCount
	out.TotalTokens = u.TotalTokenCount
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	if u.TrafficType != "" {
		out.ExtraProperties = &openai.UsageExtra{Google: &openai.UsageGoogle{TrafficType: u.TrafficType}}
	}
	out.PromptTokensDetails.CachedTokens = u.CachedContentTokenCount
	for _, d := range u.PromptTokensDetails {
		switch d.Modality {
		case "TEXT":
			out.PromptTokensDetails.TextTokens += d.TokenCount
		case "AUDIO":
			out.PromptTokensDetails.AudioTokens += d.TokenCount
		case "IMAGE", "VIDEO":
			out.PromptTokensDetails.ImageTokens += d.TokenCount
		}
	}
	out.CompletionTokensDetails.ReasoningTokens = u.ThoughtsTokenCount
	if len(u.CandidatesTokensDetails) == 0 {
		out.CompletionTokensDetails.TextTokens = u.CandidatesTokenCount
	}
	for _, d := range u.CandidatesTokensDetails {
		switch d.Modality {
		case "TEXT":
			out.CompletionTokensDetails.TextTokens += d.TokenCount
		case "AUDIO":
			out.CompletionTokensDetails.AudioTokens += d.TokenCount
		case "IMAGE":
			out.CompletionTokensDetails.ImageTokens += d.TokenCount
		}
	}
}

// logprobsFromGemini maps logprobsResult: one entry per chosen token, with the alternatives of
// the same step.
func logprobsFromGemini(l *gemini.LogprobsResult) *openai.Logprobs {
	if l == nil || len(l.ChosenCandidates) == 0 {
		return nil
	}
	out := &openai.Logprobs{Content: make([]openai.TokenLogprob, len(l.ChosenCandidates))}
	for i, c := range l.ChosenCandidates {
		tl := openai.TokenLogprob{Token: c.Token, Logprob: c.LogProbability, Bytes: tokenBytes(c.Token), TopLogprobs: []openai.TopLogprob{}}
		if i < len(l.TopCandidates) {
			for _, t := range l.TopCandidates[i].Candidates {
				tl.TopLogprobs = append(tl.TopLogprobs, openai.TopLogprob{Token: t.Token, Logprob: t.LogProbability, Bytes: tokenBytes(t.Token)})
			}
		}
		out.Content[i] = tl
	}
	return out
}

func tokenBytes(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}

// annotationsFromGrounding maps Google Search grounding to url_citation annotations: one per
// (supported segment, source) pair, with the segment's offsets in the answer text.
func annotationsFromGrounding(g *gemini.GroundingMetadata) []openai.Annotation {
	if g == nil {
		return nil
	}
	var out []openai.Annotation
	for _, s := range g.GroundingSupports {
		for _, idx := range s.GroundingChunkIndices {
			if idx < 0 || idx >= len(g.GroundingChunks) || g.GroundingChunks[idx].Web == nil {
				continue
			}
			w := g.GroundingChunks[idx].Web
			a := openai.Annotation{Type: "url_citation", URLCitation: openai.URLCitation{URL: w.URI, Title: w.Title}}
			if s.Segment != nil {
				a.URLCitation.StartIndex, a.URLCitation.EndIndex = s.Segment.StartIndex, s.Segment.EndIndex
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		for _, c := range g.GroundingChunks {
			if c.Web != nil {
				out = append(out, openai.Annotation{Type: "url_citation", URLCitation: openai.URLCitation{URL: c.Web.URI, Title: c.Web.Title}})
			}
		}
	}
	return out
}

// compactArgs returns function-call arguments as OpenAI sends them: compact JSON text, "{}" when
// there are none. Google's REST responses are indented; OpenAI's arguments never are.
func compactArgs(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	if json.Compact(&b, raw) != nil {
		return string(raw) // cannot happen: raw was decoded as JSON
	}
	return b.String()
}

// rawString is a JSON string literal's value for partial-argument fragments.
func rawString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
