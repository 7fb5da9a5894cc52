package openai

import (
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// setTopLevel decodes the top-level member key: v of a request body into r, exactly as
// encoding/json would, for the members nearly every request is made of: scalars (model, stream,
// max_tokens, temperature, …), stream_options, and messages, which Decode walks itself. It
// reports false for anything else — another member, a value of another type (encoding/json's
// type error then names it), a member given twice — and Decode then leaves the whole top level
// to encoding/json. seen holds the members set so far.
//
// Per request it saves encoding/json's reflective walk of the whole body, the largest part of
// decoding a small request; Decode still checks the body with json.Valid.
func (r *Request) setTopLevel(key string, v []byte, seen *uint64) bool {
	i, ok := topLevelIndex[key]
	if !ok || *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	if jsonscan.IsNull(v) {
		return key != "stream_options" // null leaves a scalar as it is, and sets a pointer to nil
	}
	switch key {
	case "messages":
		return true
	case "model":
		return setString(&r.Model, v)
	case "user":
		return setString(&r.User, v)
	case "reasoning_effort":
		return setString(&r.ReasoningEffort, v)
	case "service_tier":
		return setString(&r.ServiceTier, v)
	case "safety_identifier":
		return setString(&r.SafetyIdentifier, v)
	case "prompt_cache_key":
		return setString(&r.PromptCacheKey, v)
	case "verbosity":
		return setString(&r.Verbosity, v)
	case "stream":
		return setBool(&r.Stream, v)
	case "logprobs":
		return setBoolPtr(&r.Logprobs, v)
	case "parallel_tool_calls":
		return setBoolPtr(&r.ParallelToolCalls, v)
	case "store":
		return setBoolPtr(&r.Store, v)
	case "max_tokens":
		return setIntPtr(&r.MaxTokens, v)
	case "max_completion_tokens":
		return setIntPtr(&r.MaxCompletionTokens, v)
	case "top_k":
		return setIntPtr(&r.TopK, v)
	case "n":
		return setIntPtr(&r.N, v)
	case "top_logprobs":
		return setIntPtr(&r.TopLogprobs, v)
	case "seed":
		n, ok := parseInt(v)
		if ok {
			r.Seed = &n
		}
		return ok
	case "temperature":
		return setFloatPtr(&r.Temperature, v)
	case "top_p":
		return setFloatPtr(&r.TopP, v)
	case "presence_penalty":
		return setFloatPtr(&r.PresencePenalty, v)
	case "frequency_penalty":
		return setFloatPtr(&r.FrequencyPenalty, v)
	case "stream_options":
		// {} or {"include_usage": bool}, nothing else.
		var so StreamOptions
		ok := true
		n := 0
		err := jsonscan.Object(v, func(k, v []byte) error {
			n++
			if string(k) != "include_usage" || n > 1 || jsonscan.IsNull(v) {
				ok = false
				return nil
			}
			ok = setBoolPtr(&so.IncludeUsage, v)
			return nil
		})
		if err != nil || !ok {
			return false
		}
		r.StreamOptions = &so
		return true
	}
	return false
}

// topLevelIndex numbers the members setTopLevel decodes, for its record of members seen.
var topLevelIndex = func() map[string]int {
	m := map[string]int{}
	for i, k := range []string{"messages", "model", "user", "reasoning_effort", "service_tier", "safety_identifier",
		"prompt_cache_key", "verbosity", "stream", "logprobs", "parallel_tool_calls", "store", "max_tokens",
		"max_completion_tokens", "top_k", "n", "top_logprobs", "seed", "temperature", "top_p", "presence_penalty",
		"frequency_penalty", "stream_options"} {
		m[k] = i
	}
	return m
}()

func setString(s *string, v []byte) bool {
	if jsonscan.Kind(v) != '"' {
		return false
	}
	u, err := jsonscan.Unquote(v)
	if err != nil {
		return false
	}
	*s = u
	return true
}

func setBool(b *bool, v []byte) bool {
	switch string(v) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return false
	}
	return true
}

func setBoolPtr(p **bool, v []byte) bool {
	var b bool
	if !setBool(&b, v) {
		return false
	}
	*p = &b
	return true
}

// parseInt parses an integer literal as encoding/json does into an int64 (a fraction or an
// exponent is its type error, as is a value out of range).
func parseInt(v []byte) (int64, bool) {
	if k := jsonscan.Kind(v); k != '-' && (k < '0' || k > '9') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

func setIntPtr(p **int, v []byte) bool {
	n, ok := parseInt(v)
	if !ok || int64(int(n)) != n {
		return false
	}
	i := int(n)
	*p = &i
	return true
}

func setFloatPtr(p **float64, v []byte) bool {
	if k := jsonscan.Kind(v); k != '-' && (k < '0' || k > '9') {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*p = &f
	return true
}
