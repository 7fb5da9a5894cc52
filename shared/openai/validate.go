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
	if err := inRange("temperature", r.Temperature, 0, 2); err != nil {
		return err
	}
	if err := inRange("top_p", r.TopP, 0, 1); err != nil {
		return err
	}
	if err := atLeastOne("top_k", r.TopK); err != nil {
		return err
	}
	if err := atLeastOne("n", r.N); err != nil {
		return err
	}
	if err := atLeastOne("max_tokens", r.MaxTokens); err != nil {
		return err
	}
	if err := atLeastOne("max_completion_tokens", r.MaxCompletionTokens); err != nil {
		return err
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

// atLeastOne refuses a count set below 1.
func atLeastOne(name string, v *int) error {
	if v != nil && *v < 1 {
		return InvalidParam(name, "%s must be at least 1, got %d", name, *v)
	}
	return nil
}

// inRange refuses a sampling field set outside [min, max] (NaN included).
func inRange(name string, v *float64, min, max float64) error {
	if v != nil && !(*v >= min && *v <= max) {
		return InvalidParam(name, "%s must be between %g and %g, got %g", name, min, max, *v)
	}
	return nil
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
