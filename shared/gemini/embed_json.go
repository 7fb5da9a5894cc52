package gemini

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// EmbedBody is an embedding request body: *BatchEmbedRequest or *PredictRequest.
type EmbedBody interface {
	// AppendJSON appends the body as encoding/json encodes it with HTML escaping off (the
	// gateway's encoder), without its trailing newline.
	AppendJSON(b []byte) []byte
}

// The embedding request bodies are written by hand: a call carries up to 250 inputs, and
// encoding/json's reflection over them cost more than the rest of the request's translation.
// The output is byte for byte encoding/json's (FuzzEmbedBodyJSON); anything beyond the text
// inputs embeddings use (a part with other fields, a role) is handed to encoding/json.

// AppendJSON appends r's JSON.
func (r *BatchEmbedRequest) AppendJSON(b []byte) []byte {
	if r.Requests == nil {
		return append(b, `{"requests":null}`...)
	}
	n := 16
	for i := range r.Requests {
		q := &r.Requests[i]
		n += 96 + len(q.Model) + len(q.TaskType) + len(q.Title) + sizeHint(&q.Content)
	}
	b = append(slices.Grow(b, n), `{"requests":[`...)
	for i := range r.Requests {
		if i > 0 {
			b = append(b, ',')
		}
		q := &r.Requests[i]
		b = append(b, `{"model":`...)
		b = appendJSONString(b, q.Model)
		b = append(b, `,"content":`...)
		b = appendContent(b, &q.Content)
		if q.TaskType != "" {
			b = append(b, `,"taskType":`...)
			b = appendJSONString(b, q.TaskType)
		}
		if q.Title != "" {
			b = append(b, `,"title":`...)
			b = appendJSONString(b, q.Title)
		}
		if q.OutputDimensionality != nil {
			b = append(b, `,"outputDimensionality":`...)
			b = strconv.AppendInt(b, int64(*q.OutputDimensionality), 10)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// AppendJSON appends r's JSON.
func (r *PredictRequest) AppendJSON(b []byte) []byte {
	if r.Instances == nil {
		b = append(b, `{"instances":null`...)
	} else {
		n := 64
		for i := range r.Instances {
			n += 48 + len(r.Instances[i].Content) + len(r.Instances[i].TaskType) + len(r.Instances[i].Title)
		}
		b = append(slices.Grow(b, n), `{"instances":[`...)
		for i := range r.Instances {
			if i > 0 {
				b = append(b, ',')
			}
			in := &r.Instances[i]
			b = append(b, `{"content":`...)
			b = appendJSONString(b, in.Content)
			if in.TaskType != "" {
				b = append(b, `,"task_type":`...)
				b = appendJSONString(b, in.TaskType)
			}
			if in.Title != "" {
				b = append(b, `,"title":`...)
				b = appendJSONString(b, in.Title)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if p := r.Parameters; p != nil {
		b = append(b, `,"parameters":{`...)
		sep := ""
		if p.OutputDimensionality != nil {
			b = append(b, `"outputDimensionality":`...)
			b = strconv.AppendInt(b, int64(*p.OutputDimensionality), 10)
			sep = ","
		}
		if p.AutoTruncate != nil {
			b = append(b, sep+`"autoTruncate":`...)
			b = strconv.AppendBool(b, *p.AutoTruncate)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// sizeHint returns about how long c's text parts are in JSON, to size a body's buffer once
// (escapes may make it longer; append then grows it).
func sizeHint(c *Content) int {
	n := 16
	for i := range c.Parts {
		n += 12 + len(c.Parts[i].Text)
	}
	return n
}

// appendContent appends c: by hand when it is text parts only, else through encoding/json.
func appendContent(b []byte, c *Content) []byte {
	if c.Role != "" || c.Parts == nil {
		return appendJSONValue(b, c)
	}
	for i := range c.Parts {
		if p := &c.Parts[i]; p.Thought || p.ThoughtSignature != "" || p.InlineData != nil || p.FileData != nil || p.FunctionCall != nil ||
			p.FunctionResponse != nil || p.MediaResolution != nil || len(p.ExecutableCode) > 0 || len(p.CodeExecResult) > 0 {
			return appendJSONValue(b, c)
		}
	}
	b = append(b, `{"parts":[`...)
	for i := range c.Parts {
		if i > 0 {
			b = append(b, ',')
		}
		if c.Parts[i].Text == "" {
			b = append(b, "{}"...)
			continue
		}
		b = append(b, `{"text":`...)
		b = appendJSONString(b, c.Parts[i].Text)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendJSONString appends s quoted. Printable ASCII without '"' or '\' is copied; anything
// else (escapes, UTF-8 to check, U+2028) is quoted by encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return appendJSONValue(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONValue appends v as the gateway's encoder writes it (HTML escaping off), without
// the newline.
func appendJSONValue(b []byte, v any) []byte {
	w := bytes.NewBuffer(b)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // the types here always encode
		return append(b, "null"...)
	}
	return bytes.TrimSuffix(w.Bytes(), []byte("\n"))
}
