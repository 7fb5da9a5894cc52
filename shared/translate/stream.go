package translate

import (
	"net/http"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// Stream translates a Gemini event stream into chat.completion.chunks. It is the stream-state
// struct of the converter: role sent, per-choice tool-call index and thought state, the last
// usage seen. Feed each event to Event, then call End.
type Stream struct {
	meta     Meta
	choices  map[int]*streamChoice
	usage    *gemini.UsageMetadata
	finished int
	blocked  bool
}

type streamChoice struct {
	st       choiceState
	roleSent bool
	done     bool
}

// NewStream returns a stream translator.
func NewStream(m Meta) *Stream {
	return &Stream{meta: m, choices: map[int]*streamChoice{}}
}

func (s *Stream) chunk(choices ...openai.ChunkChoice) openai.Chunk {
	return openai.Chunk{ID: s.meta.ID, Object: "chat.completion.chunk", Created: s.meta.Created, Model: s.meta.Model, Choices: choices,
		Usage: openai.ChunkUsage{Null: s.meta.IncludeUsage}}
}

func (s *Stream) choice(i int) *streamChoice {
	c := s.choices[i]
	if c == nil {
		c = &streamChoice{}
		s.choices[i] = c
	}
	return c
}

// roleChunk opens a choice: delta.role "assistant" with empty content, as OpenAI sends first.
func (s *Stream) roleChunk(out []openai.Chunk, i int) []openai.Chunk {
	c := s.choice(i)
	if c.roleSent {
		return out
	}
	c.roleSent = true
	empty := ""
	return append(out, s.chunk(openai.ChunkChoice{Index: i, Delta: openai.Delta{Role: "assistant", Content: &empty}}))
}

// Event translates one Gemini stream event. The Developer API repeats running usage totals on
// every event and Vertex sends them at the end, so only the last usage seen is kept.
func (s *Stream) Event(r *gemini.Response) ([]openai.Chunk, error) {
	if r.UsageMetadata != nil && (r.UsageMetadata.TotalTokenCount > 0 || r.UsageMetadata.PromptTokenCount > 0) {
		s.usage = r.UsageMetadata
	}
	var out []openai.Chunk
	if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" && !s.blocked {
		s.blocked = true
		out = s.roleChunk(out, 0)
		reason := "content_filter"
		s.choice(0).done = true
		s.finished++
		return append(out, s.chunk(openai.ChunkChoice{Index: 0, FinishReason: &reason, NativeFinishReason: r.PromptFeedback.BlockReason})), nil
	}
	for i := range r.Candidates {
		cand := &r.Candidates[i]
		c := s.choice(cand.Index)
		if c.done {
			continue
		}
		out = s.roleChunk(out, cand.Index)
		var a accum
		if cand.Content != nil {
			s.meta.addParts(&c.st, &a, cand.Content.Parts, true)
		}
		if cand.FinishReason != "" {
			s.meta.closeThought(&c.st, &a)
		}
		if !a.empty() || cand.LogprobsResult != nil || cand.GroundingMetadata != nil {
			d := a.delta()
			d.Annotations = annotationsFromGrounding(cand.GroundingMetadata)
			c.st.emitted = c.st.emitted || !a.empty()
			out = append(out, s.chunk(openai.ChunkChoice{Index: cand.Index, Delta: d, Logprobs: logprobsFromGemini(cand.LogprobsResult)}))
		}
		if cand.FinishReason == "" {
			continue
		}
		if c.st.partial != nil { // a streamed call cut off by the finish: close its JSON
			var fin accum
			s.meta.addPartialCall(&c.st, &fin, &gemini.Part{FunctionCall: &gemini.FunctionCall{}})
			out = append(out, s.chunk(openai.ChunkChoice{Index: cand.Index, Delta: fin.delta()}))
		}
		reason, ok := finishReason(cand.FinishReason, c.st.calls > 0)
		if !ok && !c.st.emitted {
			return out, abnormalError(cand)
		}
		ch := openai.ChunkChoice{Index: cand.Index, FinishReason: &reason}
		if cand.FinishReason != "STOP" {
			ch.NativeFinishReason = cand.FinishReason
		}
		out = append(out, s.chunk(ch))
		c.done = true
		s.finished++
	}
	return out, nil
}

// End closes the stream: the usage chunk (choices: [], from the last usage seen) when
// includeUsage is set. A stream that ended before any choice finished is an error: the
// upstream died mid-way.
func (s *Stream) End(includeUsage bool) ([]openai.Chunk, error) {
	if s.finished == 0 || s.finished < len(s.choices) {
		return nil, openai.Errorf(http.StatusBadGateway, openai.CodeUpstreamError, "", "the Gemini stream ended before the response was complete")
	}
	if !includeUsage {
		return nil, nil
	}
	c := s.chunk()
	c.Choices = []openai.ChunkChoice{}
	c.Usage.Totals = usageFromGemini(s.usage)
	if c.Usage.Totals == nil {
		c.Usage.Totals = &openai.Usage{}
	}
	return []openai.Chunk{c}, nil
}

// Finished reports whether every choice has finished: what is left of the stream is its end
// (the usage chunk, from the last usage seen).
func (s *Stream) Finished() bool { return s.finished > 0 && s.finished >= len(s.choices) }

// Usage returns the last usage seen, for logging.
func (s *Stream) Usage() *openai.Usage { return usageFromGemini(s.usage) }
