package openai

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// The hand-written encoders of the Responses API's objects: the response object the lifecycle
// events carry (response.created, response.in_progress, response.completed) and the output
// items and parts of the *.added and *.done events. Each writes exactly what an encoding/json
// Encoder with SetEscapeHTML(false) writes, or reports false for a shape it does not know
// (logprobs entries, input audio, a number encoding/json refuses, a raw value that is not
// valid JSON), and the caller encodes the whole event with encoding/json.
// FuzzAppendResponseEventObjects and TestAppendResponseObjectFields pin them.
//
// One quirk is kept on purpose: a message's content goes through ItemContent.MarshalJSON,
// which calls json.Marshal, so the strings inside content parts have <, > and & escaped as
// \u003c, \u003e and \u0026 while every other string of the event has them plain.

// AppendResponseObject appends the JSON of r to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the Encoder's trailing newline): the unary
// POST /v1/responses body. A shape it does not know makes it report false with b unchanged, and
// the caller encodes r with encoding/json.
func AppendResponseObject(b []byte, r *ResponseObject) ([]byte, bool) {
	out, ok := appendResponseObject(b, r)
	if !ok {
		return b, false
	}
	return out, true
}

// appendResponseObject appends r as encoding/json encodes a ResponseObject.
func appendResponseObject(b []byte, r *ResponseObject) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = AppendString(b, r.ID)
	b = append(b, `,"object":`...)
	b = AppendString(b, r.Object)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, r.CreatedAt, 10)
	b = append(b, `,"status":`...)
	b = AppendString(b, r.Status)
	b = append(b, `,"error":`...)
	if e := r.Error; e != nil {
		b = append(b, `{"code":`...)
		b = AppendString(b, e.Code)
		b = append(b, `,"message":`...)
		b = AppendString(b, e.Message)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if d := r.IncompleteDetails; d != nil {
		b = append(b, `{"reason":`...)
		b = AppendString(b, d.Reason)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":`...)
	b = appendStringPtr(b, r.Instructions)
	b = append(b, `,"max_output_tokens":`...)
	b = appendIntPtr(b, r.MaxOutputTokens)
	b = append(b, `,"max_tool_calls":`...)
	b = appendIntPtr(b, r.MaxToolCalls)
	b = append(b, `,"model":`...)
	b = AppendString(b, r.Model)
	b = append(b, `,"output":`...)
	if r.Output == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Output {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendItem(b, &r.Output[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"parallel_tool_calls":`...)
	b = strconv.AppendBool(b, r.ParallelToolCalls)
	b = append(b, `,"previous_response_id":`...)
	b = appendStringPtr(b, r.PreviousResponseID)
	b = append(b, `,"reasoning":{`...)
	n := len(b)
	b = appendOmitString(b, `,"effort":`, r.Reasoning.Effort)
	b = appendOmitString(b, `,"summary":`, r.Reasoning.Summary)
	b = appendOmitString(b, `,"generate_summary":`, r.Reasoning.GenerateSummary)
	b = dropComma(b, n)
	b = append(b, `},"store":`...)
	b = strconv.AppendBool(b, r.Store)
	b = append(b, `,"temperature":`...)
	if b, ok = appendFloatPtr(b, r.Temperature); !ok {
		return b, false
	}
	b = append(b, `,"text":{`...)
	n = len(b)
	if f := r.Text.Format; f != nil {
		b = append(b, `,"format":{"type":`...)
		b = AppendString(b, f.Type)
		b = appendOmitString(b, `,"name":`, f.Name)
		b = appendOmitString(b, `,"description":`, f.Description)
		if b, ok = appendOmitRaw(b, `,"schema":`, f.Schema); !ok {
			return b, false
		}
		b = appendOmitBool(b, `,"strict":`, f.Strict)
		b = append(b, '}')
	}
	b = appendOmitString(b, `,"verbosity":`, r.Text.Verbosity)
	b = dropComma(b, n)
	b = append(b, `},"tool_choice":`...)
	if r.ToolChoice == nil {
		b = append(b, "null"...)
	} else if b, ok = appendRaw(b, r.ToolChoice); !ok {
		return b, false
	}
	b = append(b, `,"tools":`...)
	if r.Tools == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendTool(b, &r.Tools[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"top_p":`...)
	if b, ok = appendFloatPtr(b, r.TopP); !ok {
		return b, false
	}
	b = append(b, `,"truncation":`...)
	b = AppendString(b, r.Truncation)
	b = append(b, `,"usage":`...)
	if u := r.Usage; u != nil {
		b = append(b, `{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(u.InputTokens), 10)
		b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.InputTokensDetails.CachedTokens), 10)
		b = append(b, `},"output_tokens":`...)
		b = strconv.AppendInt(b, int64(u.OutputTokens), 10)
		b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(u.OutputTokensDetails.ReasoningTokens), 10)
		b = append(b, `},"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"user":`...)
	b = appendStringPtr(b, r.User)
	b = append(b, `,"metadata":`...)
	b = appendStringMap(b, r.Metadata)
	return append(b, '}'), true
}

// appendTool appends t as encoding/json encodes a ResponsesTool.
func appendTool(b []byte, t *ResponsesTool) ([]byte, bool) {
	var ok bool
	b = append(b, `{"type":`...)
	b = AppendString(b, t.Type)
	b = appendOmitString(b, `,"name":`, t.Name)
	b = appendOmitString(b, `,"description":`, t.Description)
	if b, ok = appendOmitRaw(b, `,"parameters":`, t.Parameters); !ok {
		return b, false
	}
	b = appendOmitBool(b, `,"strict":`, t.Strict)
	b = appendOmitString(b, `,"search_context_size":`, t.SearchContextSize)
	if b, ok = appendOmitRaw(b, `,"user_location":`, t.UserLocation); !ok {
		return b, false
	}
	if b, ok = appendOmitRaw(b, `,"filters":`, t.Filters); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendItem appends it as encoding/json encodes an Item (every field omitempty).
func appendItem(b []byte, it *Item) ([]byte, bool) {
	var ok bool
	b = append(b, '{')
	n := len(b)
	b = appendOmitString(b, `,"type":`, it.Type)
	b = appendOmitString(b, `,"id":`, it.ID)
	b = appendOmitString(b, `,"status":`, it.Status)
	b = appendOmitString(b, `,"role":`, it.Role)
	if it.Content != nil {
		if b, ok = appendItemContent(append(b, `,"content":`...), it.Content); !ok {
			return b, false
		}
	}
	b = appendOmitString(b, `,"call_id":`, it.CallID)
	b = appendOmitString(b, `,"name":`, it.Name)
	b = appendStringField(b, `,"arguments":`, it.Arguments)
	if it.Output != nil {
		if b, ok = appendItemContent(append(b, `,"output":`...), it.Output); !ok {
			return b, false
		}
	}
	if it.Summary != nil {
		b = append(b, `,"summary":`...)
		if *it.Summary == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i := range *it.Summary {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendSummaryPart(b, &(*it.Summary)[i])
			}
			b = append(b, ']')
		}
	}
	b = appendStringField(b, `,"encrypted_content":`, it.EncryptedContent)
	if a := it.Action; a != nil {
		b = append(b, `,"action":{"type":`...)
		b = AppendString(b, a.Type)
		b = appendOmitString(b, `,"query":`, a.Query)
		if len(a.Sources) > 0 {
			b = append(b, `,"sources":[`...)
			for i := range a.Sources {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"type":`...)
				b = AppendString(b, a.Sources[i].Type)
				b = append(b, `,"url":`...)
				b = AppendString(b, a.Sources[i].URL)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = appendStringField(b, `,"result":`, it.Result)
	b = appendOmitString(b, `,"output_format":`, it.OutputFormat)
	b = dropComma(b, n)
	return append(b, '}'), true
}

// appendSummaryPart appends p as encoding/json encodes a SummaryPart.
func appendSummaryPart(b []byte, p *SummaryPart) []byte {
	b = append(b, `{"type":`...)
	b = AppendString(b, p.Type)
	b = append(b, `,"text":`...)
	b = AppendString(b, p.Text)
	return append(b, '}')
}

// appendItemContent appends c as ItemContent.MarshalJSON writes it: through json.Marshal, so
// with its strings HTML-escaped.
func appendItemContent(b []byte, c *ItemContent) ([]byte, bool) {
	if !c.IsParts {
		return appendStringHTML(b, c.Text), true
	}
	b = append(b, '[')
	for i := range c.Parts {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendItemPart(b, &c.Parts[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendItemPart appends p as ItemPart.MarshalJSON writes it (HTML-escaped, as json.Marshal
// does). Logprobs entries and input audio are left to encoding/json.
func appendItemPart(b []byte, p *ItemPart) ([]byte, bool) {
	if len(p.Logprobs) > 0 || p.InputAudio != nil {
		return b, false
	}
	if p.Type == "output_text" {
		b = append(b, `{"type":"output_text","text":`...)
		b = appendStringHTML(b, p.Text)
		b = append(b, `,"annotations":`...)
		if p.Annotations == nil {
			b = append(b, "[]"...)
		} else {
			b = appendAnnotations(b, *p.Annotations, true)
		}
		return append(b, '}'), true
	}
	b = append(b, `{"type":`...)
	b = appendStringHTML(b, p.Type)
	b = appendOmitStringHTML(b, `,"text":`, p.Text)
	b = appendOmitStringHTML(b, `,"image_url":`, p.ImageURL)
	b = appendOmitStringHTML(b, `,"detail":`, p.Detail)
	b = appendOmitStringHTML(b, `,"file_id":`, p.FileID)
	b = appendOmitStringHTML(b, `,"file_data":`, p.FileData)
	b = appendOmitStringHTML(b, `,"file_url":`, p.FileURL)
	b = appendOmitStringHTML(b, `,"filename":`, p.Filename)
	b = appendOmitStringHTML(b, `,"refusal":`, p.Refusal)
	if p.Annotations != nil {
		b = appendAnnotations(append(b, `,"annotations":`...), *p.Annotations, true)
	}
	return append(b, '}'), true
}

// appendAnnotations appends a (null when nil), its strings HTML-escaped when html is set.
func appendAnnotations(b []byte, a []ResponseAnnotation, html bool) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAnnotation(b, &a[i], html)
	}
	return append(b, ']')
}

// appendAnnotation appends a as encoding/json encodes a ResponseAnnotation.
func appendAnnotation(b []byte, a *ResponseAnnotation, html bool) []byte {
	str, omit := AppendString, appendOmitString
	if html {
		str, omit = appendStringHTML, appendOmitStringHTML
	}
	b = append(b, `{"type":`...)
	b = str(b, a.Type)
	b = omit(b, `,"url":`, a.URL)
	b = omit(b, `,"title":`, a.Title)
	b = append(b, `,"start_index":`...)
	b = strconv.AppendInt(b, int64(a.StartIndex), 10)
	b = append(b, `,"end_index":`...)
	b = strconv.AppendInt(b, int64(a.EndIndex), 10)
	return append(b, '}')
}

// appendStringHTML appends s as json.Marshal does, with HTML escaping: as AppendString, and <,
// > and & as \u003c, \u003e and \u0026.
func appendStringHTML(b []byte, s string) []byte { return appendString(b, s, quoteHTML) }

// appendOmitString appends key and s unless s is empty (omitempty).
func appendOmitString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return AppendString(append(b, key...), s)
}

// appendOmitStringHTML is appendOmitString with HTML escaping.
func appendOmitStringHTML(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendStringHTML(append(b, key...), s)
}

// appendOmitBool appends key and *v when v is set (omitempty on a pointer).
func appendOmitBool(b []byte, key string, v *bool) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendBool(append(b, key...), *v)
}

// appendIntPtr appends *n, or null.
func appendIntPtr(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// appendFloatPtr appends *f as encoding/json writes a float64 (ES6 number formatting), or
// null; NaN and infinities, which encoding/json refuses, report false.
func appendFloatPtr(b []byte, f *float64) ([]byte, bool) {
	if f == nil {
		return append(b, "null"...), true
	}
	v := *f
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 is written e-9
		b = b[:n-1]
	}
	return b, true
}

// appendOmitRaw appends key and raw unless raw is empty (omitempty on a json.RawMessage).
func appendOmitRaw(b []byte, key string, raw json.RawMessage) ([]byte, bool) {
	if len(raw) == 0 {
		return b, true
	}
	return appendRaw(append(b, key...), raw)
}

// appendRaw appends raw compacted, as encoding/json writes a json.RawMessage: white space
// outside strings dropped. Raw bytes that are not valid JSON report false (encoding/json fails
// on them).
func appendRaw(b []byte, raw json.RawMessage) ([]byte, bool) {
	if !json.Valid(raw) {
		return b, false
	}
	in := false
	start := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			b = append(b, raw[start:i]...)
			start = i + 1
		}
	}
	return append(b, raw[start:]...), true
}

// appendStringMap appends m as encoding/json encodes a map[string]string: keys sorted, null
// when nil.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, m[k])
	}
	return append(b, '}')
}

// dropComma removes the comma after position n that a run of omitempty fields starts with, so
// an object whose first field may be omitted is opened with '{' and filled with ","-led fields.
func dropComma(b []byte, n int) []byte {
	if len(b) > n && b[n] == ',' {
		return append(b[:n], b[n+1:]...)
	}
	return b
}
