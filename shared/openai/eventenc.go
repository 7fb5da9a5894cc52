package openai

import "strconv"

// AppendResponseEvent appends the JSON of ev to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the Encoder's trailing newline), for the events made
// of scalars alone — the deltas and text events that are nearly all of a Responses stream. An
// event carrying a response, an item, a part, an annotation or logprobs entries makes it report
// false with b unchanged, and the caller encodes ev with encoding/json.
// FuzzAppendResponseEvent proves the output byte-identical to encoding/json's.
func AppendResponseEvent(b []byte, ev *ResponseEvent) ([]byte, bool) {
	if ev.Response != nil || ev.Item != nil || ev.Part != nil || ev.Annotation != nil || ev.Logprobs != nil && len(*ev.Logprobs) > 0 {
		return b, false
	}
	b = append(b, `{"type":`...)
	b = AppendString(b, ev.Type)
	b = append(b, `,"sequence_number":`...)
	b = strconv.AppendInt(b, int64(ev.SequenceNumber), 10)
	b = appendIntField(b, `,"output_index":`, ev.OutputIndex)
	if ev.ItemID != "" {
		b = append(b, `,"item_id":`...)
		b = AppendString(b, ev.ItemID)
	}
	b = appendIntField(b, `,"content_index":`, ev.ContentIndex)
	b = appendIntField(b, `,"summary_index":`, ev.SummaryIndex)
	b = appendStringField(b, `,"delta":`, ev.Delta)
	b = appendStringField(b, `,"text":`, ev.Text)
	b = appendStringField(b, `,"arguments":`, ev.Arguments)
	if ev.Name != "" {
		b = append(b, `,"name":`...)
		b = AppendString(b, ev.Name)
	}
	b = appendIntField(b, `,"annotation_index":`, ev.AnnotationIndex)
	if ev.Logprobs != nil {
		if *ev.Logprobs == nil {
			b = append(b, `,"logprobs":null`...)
		} else {
			b = append(b, `,"logprobs":[]`...)
		}
	}
	b = appendStringField(b, `,"code":`, ev.Code)
	if ev.Message != "" {
		b = append(b, `,"message":`...)
		b = AppendString(b, ev.Message)
	}
	b = appendStringField(b, `,"param":`, ev.Param)
	return append(b, '}'), true
}

// appendIntField appends key and *n when n is set (omitempty on a pointer).
func appendIntField(b []byte, key string, n *int) []byte {
	if n == nil {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(*n), 10)
}

// appendStringField appends key and *s when s is set (omitempty on a pointer).
func appendStringField(b []byte, key string, s *string) []byte {
	if s == nil {
		return b
	}
	return AppendString(append(b, key...), *s)
}
