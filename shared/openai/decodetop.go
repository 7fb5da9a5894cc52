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
func (r *Request) setTopLevel(key, v []byte, seen *uint64) bool {
	i := topLevelIndex(key)
	if i < 0 || *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	if jsonscan.IsNull(v) {
		return i != topStreamOptions // null leaves a scalar as it is, and sets a pointer to nil
	}
	switch i {
	case topMessages:
		return true
	case topModel:
		return setString(&r.Model, v)
	case topUser:
		return setString(&r.User, v)
	case topReasoningEffort:
		return setString(&r.ReasoningEffort, v)
	case topServiceTier:
		return setString(&r.ServiceTier, v)
	case topSafetyIdentifier:
		return setString(&r.SafetyIdentifier, v)
	case topPromptCacheKey:
		return setString(&r.PromptCacheKey, v)
	case topVerbosity:
		return setString(&r.Verbosity, v)
	case topStream:
		return setBool(&r.Stream, v)
	case topLogprobs:
		return setBoolPtr(&r.Logprobs, v)
	case topParallelToolCalls:
		return setBoolPtr(&r.ParallelToolCalls, v)
	case topStore:
		return setBoolPtr(&r.Store, v)
	case topMaxTokens:
		return setIntPtr(&r.MaxTokens, v)
	case topMaxCompletionTokens:
		return setIntPtr(&r.MaxCompletionTokens, v)
	case topTopK:
		return setIntPtr(&r.TopK, v)
	case topN:
		return setIntPtr(&r.N, v)
	case topTopLogprobs:
		return setIntPtr(&r.TopLogprobs, v)
	case topSeed:
		n, ok := parseInt(v)
		if ok {
			r.Seed = &n
		}
		return ok
	case topTemperature:
		return setFloatPtr(&r.Temperature, v)
	case topTopP:
		return setFloatPtr(&r.TopP, v)
	case topPresencePenalty:
		return setFloatPtr(&r.PresencePenalty, v)
	case topFrequencyPenalty:
		return setFloatPtr(&r.FrequencyPenalty, v)
	case topStreamOptions:
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

// The members setTopLevel decodes, numbered for its record of members seen.
const (
	topMessages = iota
	topModel
	topUser
	topReasoningEffort
	topServiceTier
	topSafetyIdentifier
	topPromptCacheKey
	topVerbosity
	topStream
	topLogprobs
	topParallelToolCalls
	topStore
	topMaxTokens
	topMaxCompletionTokens
	topTopK
	topN
	topTopLogprobs
	topSeed
	topTemperature
	topTopP
	topPresencePenalty
	topFrequencyPenalty
	topStreamOptions
)

// topLevelIndex returns the number of the member key setTopLevel decodes, or -1. A switch, not a
// map: no hashing, and nothing built at init.
func topLevelIndex(key []byte) int {
	switch string(key) {
	case "messages":
		return topMessages
	case "model":
		return topModel
	case "user":
		return topUser
	case "reasoning_effort":
		return topReasoningEffort
	case "service_tier":
		return topServiceTier
	case "safety_identifier":
		return topSafetyIdentifier
	case "prompt_cache_key":
		return topPromptCacheKey
	case "verbosity":
		return topVerbosity
	case "stream":
		return topStream
	case "logprobs":
		return topLogprobs
	case "parallel_tool_calls":
		return topParallelToolCalls
	case "store":
		return topStore
	case "max_tokens":
		return topMaxTokens
	case "max_completion_tokens":
		return topMaxCompletionTokens
	case "top_k":
		return topTopK
	case "n":
		return topN
	case "top_logprobs":
		return topTopLogprobs
	case "seed":
		return topSeed
	case "temperature":
		return topTemperature
	case "top_p":
		return topTopP
	case "presence_penalty":
		return topPresencePenalty
	case "frequency_penalty":
		return topFrequencyPenalty
	case "stream_options":
		return topStreamOptions
	}
	return -1
}

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
