package openai

import (
	"math"
	"strconv"
	"strings"
)

// validate checks the ranges OpenAI documents for the sampling fields and Gemini's own bounds,
// so a bad value is a 400 naming the field before any upstream call.
// https://platform.openai.com/docs/api-reference/chat/create
func (r *Request) validate() error {
	if r.Temperature != nil && !(*r.Temperature >= 0 && *r.Temperature <= 2) {
		return outOfRange("temperature", *r.Temperature, 0, 2)
	}
	if r.TopP != nil && !(*r.TopP >= 0 && *r.TopP <= 1) {
		return outOfRange("top_p", *r.TopP, 0, 1)
	}
	// The checks are written out, not looped over, so that a request that passes them calls
	// nothing.
	switch {
	case r.TopK != nil && *r.TopK < 1:
		return belowOne("top_k", *r.TopK)
	case r.N != nil && *r.N < 1:
		return belowOne("n", *r.N)
	case r.MaxTokens != nil && *r.MaxTokens < 1:
		return belowOne("max_tokens", *r.MaxTokens)
	case r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1:
		return belowOne("max_completion_tokens", *r.MaxCompletionTokens)
	}
	if r.TopLogprobs != nil && (*r.TopLogprobs < 0 || *r.TopLogprobs > 20) {
		return InvalidParam("top_logprobs", "top_logprobs must be between 0 and 20, got %d", *r.TopLogprobs)
	}
	// Gemini's generationConfig.seed is an int32.
	if r.Seed != nil && (*r.Seed < math.MinInt32 || *r.Seed > math.MaxInt32) {
		return InvalidParam("seed", "seed must fit in 32 bits (%d to %d), got %d", math.MinInt32, math.MaxInt32, *r.Seed)
	}
	for i, t := range r.Tools {
		if t.Function == nil {
			continue // translate names a tool without a function
		}
		if !validToolName(t.Function.Name) {
			f := "tools[" + strconv.Itoa(i) + "].function.name"
			return InvalidParam(f, "%s must be 1 to 64 letters, digits, underscores or dashes, got %q", f, t.Function.Name)
		}
	}
	return nil
}

// belowOne is the error for a count set below 1.
func belowOne(name string, v int) error {
	return InvalidParam(name, "%s must be at least 1, got %d", name, v)
}

// outOfRange is the error for a sampling field set outside [min, max] (NaN included).
func outOfRange(name string, v, min, max float64) error {
	return InvalidParam(name, "%s must be between %g and %g, got %g", name, min, max, v)
}

// validToolName reports whether name matches ^[a-zA-Z0-9_-]{1,64}$, OpenAI's rule for function
// names (Gemini's is looser).
func validToolName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// base64OrURI reports whether s, an inline media payload, is base64 (standard or URL alphabet,
// padded or not) or, where uris is set, a data:, gs://, http:// or https:// URL; a file: or any
// other URL would otherwise be sent to Gemini as if it were base64. For file.file_data only data:
// URIs are URLs.
func base64OrURI(s string, uris bool) bool {
	if strings.HasPrefix(s, "data:") {
		return true
	}
	if uris && (strings.HasPrefix(s, "gs://") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) {
		return true
	}
	n := len(strings.TrimRight(s, "="))
	if len(s)-n > 2 || len(s)%4 == 1 || (n < len(s) && len(s)%4 != 0) {
		return false
	}
	for i := range n {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
