package translate

import (
	"net/http"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// ResponseFromGemini translates a generateContent response into a chat.completion.
func ResponseFromGemini(r *gemini.Response, m Meta) (*openai.Response, error) {
	if len(r.Candidates) == 0 {
		out := &openai.Response{ID: m.ID, Object: "chat.completion", Created: m.Created, Model: m.Model,
			Usage: usageFromGemini(r.UsageMetadata)}
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			// The prompt was blocked: Gemini answers 200 with no candidates (sample 11).
			reason := "content_filter"
			out.Choices = []openai.Choice{{Index: 0, Message: openai.OutMessage{Role: "assistant"},
				FinishReason: &reason, NativeFinishReason: r.PromptFeedback.BlockReason}}
			return out, nil
		}
		return nil, openai.Errorf(http.StatusBadGateway, openai.CodeUpstreamError, "", "Gemini returned no candidates")
	}
	// One allocation holds the response of one candidate with its usage and the strings its
	// pointers point at; more candidates get their choices and strings in one allocation each.
	u := &unaryResponse{}
	out := &u.resp
	out.ID, out.Object, out.Created, out.Model = m.ID, "chat.completion", m.Created, m.Model
	if r.UsageMetadata != nil {
		usageInto(&u.usage, r.UsageMetadata)
		out.Usage = &u.usage
	}
	n := len(r.Candidates)
	choices, strs := u.choice[:0], u.strs[:]
	if n > 1 {
		choices, strs = make([]openai.Choice, 0, n), make([]string, 3*n)
	}
	for i := range r.Candidates {
		c := &r.Candidates[i]
		var st choiceState
		var a accum
		if c.Content != nil {
			m.addParts(&st, &a, c.Content.Parts, false)
		}
		m.closeThought(&st, &a)
		reason, ok := finishReason(c.FinishReason, len(a.calls) > 0)
		if !ok && !a.hasContent && len(a.calls) == 0 && len(a.images) == 0 {
			return nil, abnormalError(c)
		}
		s := strs[3*i : 3*i+3 : 3*i+3]
		s[0] = reason
		ch := openai.Choice{Index: c.Index, FinishReason: &s[0], Logprobs: logprobsFromGemini(c.LogprobsResult),
			Message: openai.OutMessage{Role: "assistant", ToolCalls: a.calls, Audio: a.audio, Images: a.images,
				Annotations: annotationsFromGrounding(c.GroundingMetadata)}}
		if a.hasContent {
			s[1] = a.content.String()
			ch.Message.Content = &s[1]
		}
		if a.hasReasoning {
			s[2] = a.reasoning.String()
			ch.Message.ReasoningContent = &s[2]
		}
		if a.signature != "" {
			ch.Message.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: a.signature}}
		}
		if c.FinishReason != "STOP" && c.FinishReason != "" {
			ch.NativeFinishReason = c.FinishReason
		}
		choices = append(choices, ch)
	}
	out.Choices = choices
	return out, nil
}

// unaryResponse is a chat.completion of one choice in one allocation: the response, its usage,
// the choice and its finish reason, content and reasoning content.
type unaryResponse struct {
	resp   openai.Response
	usage  openai.Usage
	choice [1]openai.Choice
	strs   [3]string
}
