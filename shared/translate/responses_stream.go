package translate

import (
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// ResponsesStream translates a Gemini event stream into Responses stream events. It runs chat's
// stream translator (Stream) and feeds its deltas to the output builder, which opens and closes
// items and numbers the events; Start, then Event per upstream event, then End.
type ResponsesStream struct {
	chat *Stream
	b    *outputBuilder
}

// NewResponsesStream returns a stream translator.
func NewResponsesStream(m ResponsesMeta) *ResponsesStream {
	m.Meta.IncludeUsage = false
	return &ResponsesStream{chat: NewStream(m.Meta), b: newOutputBuilder(&m, true)}
}

// take returns the events built since the last call. Its slice is reused by the next call of
// Start, Event or End: the caller writes the events out (or copies them) before that.
func (s *ResponsesStream) take() []openai.ResponseEvent {
	out := s.b.out
	s.b.out = out[:0]
	return out
}

// Start returns response.created and response.in_progress. Start, Event and End return events
// that are valid until the next call of any of them.
func (s *ResponsesStream) Start() []openai.ResponseEvent {
	// One skeleton for both: the same object, and the events only read it.
	sk := s.b.m.Skeleton(openai.StatusInProgress)
	s.b.emit(openai.ResponseEvent{Type: openai.EventCreated, Response: sk})
	s.b.emit(openai.ResponseEvent{Type: openai.EventInProgress, Response: sk})
	return s.take()
}

// Event translates one Gemini stream event.
func (s *ResponsesStream) Event(r *gemini.Response) ([]openai.ResponseEvent, error) {
	chunks, err := s.chat.Event(r)
	for i := range chunks {
		for j := range chunks[i].Choices {
			ch := &chunks[i].Choices[j]
			if ch.Index != 0 {
				continue
			}
			s.b.delta(&ch.Delta, ch.Logprobs)
			if ch.FinishReason != nil {
				s.b.finish = *ch.FinishReason
			}
		}
	}
	for i := range r.Candidates {
		if r.Candidates[i].Index == 0 {
			s.b.grounding(r.Candidates[i].GroundingMetadata)
		}
	}
	return s.take(), err
}

// End closes the stream: the open item's done events and response.completed (or
// response.incomplete) with the whole response and its usage. A stream that ended before
// Gemini finished is an error, as in chat. full is the output with encrypted_content kept
// (see KeepSealed).
func (s *ResponsesStream) End() (events []openai.ResponseEvent, obj *openai.ResponseObject, full []openai.Item, err error) {
	if _, err := s.chat.End(false); err != nil {
		return s.take(), nil, nil, err
	}
	o := s.b.end(s.chat.Usage())
	typ := openai.EventCompleted
	if o.Status == openai.StatusIncomplete {
		typ = openai.EventIncomplete
	}
	s.b.emit(openai.ResponseEvent{Type: typ, Response: o})
	return s.take(), o, s.b.items, nil
}

// ErrorEvent is the stream's last event when it fails after its first byte: OpenAI's error
// event (type, code, message, param) numbered after the events sent.
func (s *ResponsesStream) ErrorEvent(e *openai.Error) openai.ResponseEvent {
	code, param := e.Code, e.Param
	ev := openai.ResponseEvent{Type: openai.EventError, SequenceNumber: s.b.seq, Code: &code, Message: e.Message}
	if param != "" {
		ev.Param = &param
	}
	s.b.seq++
	return ev
}

// Usage returns the last usage seen, for logging.
func (s *ResponsesStream) Usage() *openai.Usage { return s.chat.Usage() }

// Finished reports whether every choice has finished: what is left of the stream is its end
// (End's closing events).
func (s *ResponsesStream) Finished() bool { return s.chat.Finished() }
