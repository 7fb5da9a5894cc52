package gateway

import (
	"math"
	"strconv"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// appendGeminiRequest appends the JSON of r to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the trailing newline), for the shape of most requests:
// text and thought parts, a system instruction, the generation config's scalars and thinking
// config. Anything else (media, function calls and responses, tools, tool config, safety
// settings, a response schema, labels, a float that is not finite) makes it report false, and
// the caller encodes r with encoding/json. FuzzAppendGeminiRequest proves the output
// byte-identical to encoding/json's.
//
// A request's encoding was the largest part of its translation left to reflection once the
// responses and chunks were hand-encoded.
func appendGeminiRequest(b []byte, r *gemini.Request) ([]byte, bool) {
	if len(r.Tools) > 0 || r.ToolConfig != nil || len(r.SafetySettings) > 0 || len(r.Labels) > 0 {
		return b, false
	}
	start := len(b)
	b = append(b, `{"contents":`...)
	if r.Contents == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Contents {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendGeminiContent(b, &r.Contents[i]); !ok {
				return b[:start], false
			}
		}
		b = append(b, ']')
	}
	if r.SystemInstruction != nil {
		b = append(b, `,"systemInstruction":`...)
		var ok bool
		if b, ok = appendGeminiContent(b, r.SystemInstruction); !ok {
			return b[:start], false
		}
	}
	if g := r.GenerationConfig; g != nil {
		b = append(b, `,"generationConfig":`...)
		var ok bool
		if b, ok = appendGenerationConfig(b, g); !ok {
			return b[:start], false
		}
	}
	if r.CachedContent != "" {
		b = append(b, `,"cachedContent":`...)
		b = openai.AppendString(b, r.CachedContent)
	}
	return append(b, '}'), true
}

func appendGeminiContent(b []byte, c *gemini.Content) ([]byte, bool) {
	b = append(b, '{')
	if c.Role != "" {
		b = append(b, `"role":`...)
		b = openai.AppendString(b, c.Role)
		b = append(b, ',')
	}
	b = append(b, `"parts":`...)
	if c.Parts == nil {
		return append(b, "null}"...), true
	}
	b = append(b, '[')
	for i := range c.Parts {
		p := &c.Parts[i]
		if p.InlineData != nil || p.FileData != nil || p.FunctionCall != nil || p.FunctionResponse != nil ||
			p.MediaResolution != nil || len(p.ExecutableCode) > 0 || len(p.CodeExecResult) > 0 {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		o := object{b: append(b, '{')}
		if p.Text != "" {
			o.key(`"text":`)
			o.b = openai.AppendString(o.b, p.Text)
		}
		if p.Thought {
			o.key(`"thought":true`)
		}
		if p.ThoughtSignature != "" {
			o.key(`"thoughtSignature":`)
			o.b = openai.AppendString(o.b, p.ThoughtSignature)
		}
		b = append(o.b, '}')
	}
	return append(b, "]}"...), true
}

func appendGenerationConfig(b []byte, g *gemini.GenerationConfig) ([]byte, bool) {
	if len(g.ResponseJSONSchema) > 0 {
		return b, false
	}
	o := object{b: append(b, '{')}
	o.strings(`"stopSequences":`, g.StopSequences)
	if g.ResponseMIMEType != "" {
		o.key(`"responseMimeType":`)
		o.b = openai.AppendString(o.b, g.ResponseMIMEType)
	}
	o.strings(`"responseModalities":`, g.ResponseModalities)
	o.int(`"candidateCount":`, g.CandidateCount)
	o.int(`"maxOutputTokens":`, g.MaxOutputTokens)
	ok := o.float(`"temperature":`, g.Temperature)
	ok = o.float(`"topP":`, g.TopP) && ok
	o.int(`"topK":`, g.TopK)
	if g.Seed != nil {
		o.key(`"seed":`)
		o.b = strconv.AppendInt(o.b, *g.Seed, 10)
	}
	ok = o.float(`"presencePenalty":`, g.PresencePenalty) && ok
	ok = o.float(`"frequencyPenalty":`, g.FrequencyPenalty) && ok
	if g.ResponseLogprobs {
		o.key(`"responseLogprobs":true`)
	}
	o.int(`"logprobs":`, g.Logprobs)
	if g.MediaResolution != "" {
		o.key(`"mediaResolution":`)
		o.b = openai.AppendString(o.b, g.MediaResolution)
	}
	if t := g.ThinkingConfig; t != nil {
		o.key(`"thinkingConfig":`)
		to := object{b: append(o.b, '{')}
		if t.IncludeThoughts != nil {
			to.key(`"includeThoughts":`)
			to.b = strconv.AppendBool(to.b, *t.IncludeThoughts)
		}
		to.int(`"thinkingBudget":`, t.ThinkingBudget)
		if t.ThinkingLevel != "" {
			to.key(`"thinkingLevel":`)
			to.b = openai.AppendString(to.b, t.ThinkingLevel)
		}
		o.b = append(to.b, '}')
	}
	return append(o.b, '}'), ok
}

// object appends the members of a JSON object, a comma before each but the first.
type object struct {
	b    []byte
	more bool
}

// key appends the comma if one is due, then k (the quoted key and colon, or a whole member).
func (o *object) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, k...)
}

func (o *object) int(k string, n *int) {
	if n != nil {
		o.key(k)
		o.b = strconv.AppendInt(o.b, int64(*n), 10)
	}
}

// float appends a set float as encoding/json does; it reports false for NaN and infinities,
// which encoding/json refuses.
func (o *object) float(k string, f *float64) bool {
	if f == nil {
		return true
	}
	if math.IsNaN(*f) || math.IsInf(*f, 0) {
		return false
	}
	o.key(k)
	o.b = appendJSONFloat(o.b, *f)
	return true
}

// strings appends a string list left out when empty (omitempty).
func (o *object) strings(k string, ss []string) {
	if len(ss) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range ss {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = openai.AppendString(o.b, s)
	}
	o.b = append(o.b, ']')
}
