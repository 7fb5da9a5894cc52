package openai

import "strconv"

// AppendResponseEvent appends the JSON of ev to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the Encoder's trailing newline): the deltas that are
// nearly all of a Responses stream, and the events carrying a response object, an item, a part
// or an annotation in the shapes the gateway produces (respenc.go). Logprobs entries, or a shape
// respenc.go does not know, make it report false with b unchanged, and the caller encodes ev
// with encoding/json. FuzzAppendResponseEvent and FuzzAppendResponseEventObjects prove the
// output byte-identical to encoding/json's.
func AppendResponseEvent(b []byte, ev *ResponseEvent) ([]byte, bool) {
	if ev.Logprobs != nil && len(*ev.Logprobs) > 0 {
		return b, false
	}
	var ok bool
	out := append(b, `{"type":`...)
	out = AppendString(out, ev.Type)
	out = append(out, `,"sequence_number":`...)
	out = strconv.AppendInt(out, int64(ev.SequenceNumber), 10)
	if ev.Response != nil {
		if out, ok = appendResponseObject(append(out, `,"response":`...), ev.Response); !ok {
			return b, false
		}
	}
	out = appendIntField(out, `,"output_index":`, ev.OutputIndex)
	if ev.ItemID != "" {
		out = append(out, `,"item_id":`...)
		out = AppendString(out, ev.ItemID)
	}
	out = appendIntField(out, `,"content_index":`, ev.ContentIndex)
	out = appendIntField(out, `,"summary_index":`, ev.SummaryIndex)
	if ev.Item != nil {
		if out, ok = appendItem(append(out, `,"item":`...), ev.Item); !ok {
			return b, false
		}
	}
	if ev.Part != nil {
		switch p := ev.Part.(type) {
		case *ItemPart:
			if p == nil {
				return b, false
			}
			if out, ok = appendItemPart(append(out, `,"part":`...), p); !ok {
				return b, false
			}
		case *SummaryPart:
			if p == nil {
				return b, false
			}
			out = appendSummaryPart(append(out, `,"part":`...), p)
		default:
			return b, false
		}
	}
	out = appendStringField(out, `,"delta":`, ev.Delta)
	out = appendStringField(out, `,"text":`, ev.Text)
	out = appendStringField(out, `,"arguments":`, ev.Arguments)
	if ev.Name != "" {
		out = append(out, `,"name":`...)
		out = AppendString(out, ev.Name)
	}
	out = appendIntField(out, `,"annotation_index":`, ev.AnnotationIndex)
	if ev.Annotation != nil {
		out = appendAnnotation(append(out, `,"annotation":`...), ev.Annotation, false)
	}
	if ev.Logprobs != nil {
		if *ev.Logprobs == nil {
			out = append(out, `,"logprobs":null`...)
		} else {
			out = append(out, `,"logprobs":[]`...)
		}
	}
	out = appendStringField(out, `,"code":`, ev.Code)
	if ev.Message != "" {
		out = append(out, `,"message":`...)
		out = AppendString(out, ev.Message)
	}
	out = appendStringField(out, `,"param":`, ev.Param)
	return append(out, '}'), true
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
