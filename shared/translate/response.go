package translate

import (
	"net/http"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// ResponseFromGemini translates a generateContent response into a chat.completion.
func ResponseFromGemini(r *gemini.Response, m Meta) (*openai.Response, error) {
	out := &openai.Response{ID: m.ID, Object: "chat.completion", Created: m.Created, Model: m.Model,
		Usage: usageFromGemini(r.UsageMetadata)}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			// The prompt was blocked: Gemini answers 200 with no candidates (sample 11).
			reason := "content_filter"
			out.Choices = []openai.Choice{{Index: 0, Message: openai.OutMessage{Role: "assistant"},
				FinishReason: &reason, NativeFinishReason: r.PromptFeedback.BlockReason}}
			return out, nil
		}
		return nil, openai.Errorf(http.StatusBadGateway, openai.CodeUpstreamError, "", "Gemini returned no candidates")
	}
	out.Choices = make([]openai.Choice, 0, len(r.Candidates))
	for i := range r.Candidates {
		c := &r.Candidates[i]
		st := &choiceState{}
		var a accum
		if c.Content != nil {
			m.addParts(st, &a, c.Content.Parts, false)
		}
		m.closeThought(st, &a)
		reason, ok := finishReason(c.FinishReason, len(a.calls) > 0)
		if !ok && !a.hasContent && len(a.calls) == 0 && len(a.images) == 0 {
			return nil, abnormalError(c)
		}
		d := a.delta()
		ch := openai.Choice{Index: c.Index, FinishReason: &reason, Logprobs: logprobsFromGemini(c.LogprobsResult),
			Message: openai.OutMessage{Role: "assistant", Content: d.Content, ReasoningContent: d.ReasoningContent,
				ToolCalls: d.ToolCalls, Audio: d.Audio, Images: d.Images, ExtraContent: d.ExtraContent,
				Annotations: annotationsFromGrounding(c.GroundingMetadata)}}
		if c.FinishReason != "STOP" && c.FinishReason != "" {
			ch.NativeFinishReason = c.FinishReason
		}
		out.Choices = append(out.Choices, ch)
	}
	return out, nil
}
