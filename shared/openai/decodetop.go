package openai

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// setTopLevel decodes the top-level member key: v of a request body into r, exactly as
// encoding/json would, for the members nearly every request is made of: scalars (model, stream,
// max_tokens, temperature, …), stream_options, the agent's stop, tools, tool_choice (its string
// form) and response_format in the shapes clients send, and messages, which Decode walks itself.
// It reports false for anything else — another member, a value of another type (encoding/json's
// type error then names it), a member given twice, a nested key spelled otherwise or repeated —
// and Decode then leaves the whole top level to encoding/json. seen holds the members set so far.
//
// Per request it saves encoding/json's reflective walk of the whole body, the largest part of
// decoding a small request; Decode still checks the body with jsonscan.Valid.
//
// v is the value at body[at:]; sp, where not nil, is where its strings and common scalars go.
func (r *Request) setTopLevel(key, v []byte, seen *uint64, sp *spare, at int) bool {
	i := topLevelIndex(key)
	if i < 0 || *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	if len(v) > 0 && v[0] == 'n' && jsonscan.IsNull(v) { // v as the walk cuts it: no space around
		return i != topStreamOptions // null leaves a scalar as it is, and sets a pointer to nil
	}
	switch i {
	case topMessages:
		return true
	case topModel:
		return sp.setString(&r.Model, v, at)
	case topUser:
		return sp.setString(&r.User, v, at)
	case topReasoningEffort:
		return sp.setString(&r.ReasoningEffort, v, at)
	case topServiceTier:
		return sp.setString(&r.ServiceTier, v, at)
	case topSafetyIdentifier:
		return sp.setString(&r.SafetyIdentifier, v, at)
	case topPromptCacheKey:
		return sp.setString(&r.PromptCacheKey, v, at)
	case topVerbosity:
		return sp.setString(&r.Verbosity, v, at)
	case topStream:
		return setBool(&r.Stream, v)
	case topLogprobs:
		return setBoolPtr(&r.Logprobs, v)
	case topParallelToolCalls:
		return setBoolPtr(&r.ParallelToolCalls, v)
	case topStore:
		return setBoolPtr(&r.Store, v)
	case topMaxTokens:
		return setIntAt(&r.MaxTokens, sp.int(0), v)
	case topMaxCompletionTokens:
		return setIntAt(&r.MaxCompletionTokens, sp.int(1), v)
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
		return setFloatAt(&r.Temperature, sp.float(0), v)
	case topTopP:
		return setFloatAt(&r.TopP, sp.float(1), v)
	case topPresencePenalty:
		return setFloatPtr(&r.PresencePenalty, v)
	case topFrequencyPenalty:
		return setFloatPtr(&r.FrequencyPenalty, v)
	case topStop:
		return r.setStop(v)
	case topToolChoice:
		// The string form; the object form is left to ToolChoice.UnmarshalJSON.
		var mode string
		if !setString(&mode, v) {
			return false
		}
		r.ToolChoice = &ToolChoice{Mode: mode}
		return true
	case topResponseFormat:
		return r.setResponseFormat(v)
	case topTools:
		return r.setTools(v)
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

// spare is where the fast path puts what a Request points to, allocated with it (requestBlock):
// a copy of a small body that its plain strings are cut from (one allocation for all of them,
// none pointing into the body, whose buffer is reused), and the values of the common scalar
// pointers. A nil *spare: each is an allocation of its own.
type spare struct {
	text string
	// plainAt is where in the body a string the walk found plain (jsonscan.ValidString)
	// starts, so it is cut without another look; -1 for none.
	plainAt int
	ints    [2]int     // max_tokens, max_completion_tokens
	floats  [2]float64 // temperature, top_p
}

// maxShared is the largest body whose strings are cut from one copy of it: a larger one would
// keep all of its bytes (base64 media, say) alive for as long as any one string of it.
const maxShared = 4096

func (sp *spare) int(i int) *int {
	if sp == nil {
		return nil
	}
	return &sp.ints[i]
}

func (sp *spare) float(i int) *float64 {
	if sp == nil {
		return nil
	}
	return &sp.floats[i]
}

// setString is setString for the value v at body[at:], cut from sp.text when it is plain.
func (sp *spare) setString(s *string, v []byte, at int) bool {
	if sp != nil && sp.text != "" && (at == sp.plainAt || jsonscan.PlainString(v)) {
		*s = sp.text[at+1 : at+len(v)-1]
		return true
	}
	return setString(s, v)
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
	topStop
	topToolChoice
	topResponseFormat
	topTools
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
	case "stop":
		return topStop
	case "tool_choice":
		return topToolChoice
	case "response_format":
		return topResponseFormat
	case "tools":
		return topTools
	}
	return -1
}

// fieldsAt walks the object that is the value at b[i], calling fn with the number of each key
// in keys and the index where its value starts; fn decodes the value and returns the index just
// past it, or -1 to decline it. fieldsAt returns the index just past the object, or -1, as
// setTopLevel reports false, for anything but an object of those keys spelled exactly, each at
// most once, with values that are not null and that fn takes. (encoding/json matches keys without
// regard to case, merges repeated ones and skips unknown ones: those are its to decode.) Each
// value is walked once, by fn, nested objects included.
func fieldsAt(b []byte, i int, keys []string, fn func(n, i int) int) int {
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	var seen uint64
	end, err := jsonscan.ObjectAt(b, i, func(k, _ []byte, i int) (int, error) {
		n := 0
		for n < len(keys) && keys[n] != string(k) {
			n++
		}
		if n == len(keys) || seen&(1<<n) != 0 || b[i] == 'n' { // 'n': null, or not JSON
			return i, errStop
		}
		seen |= 1 << n
		if end := fn(n, i); end >= 0 {
			return end, nil
		}
		return i, errStop
	})
	if err != nil {
		return -1
	}
	return end
}

// leafAt decodes the value at b[i] with set, for fieldsAt: the index just past it, or -1.
func leafAt(b []byte, i int, set func(v []byte) bool) int {
	end, err := jsonscan.SkipValue(b, i)
	if err != nil || !set(b[i:end]) {
		return -1
	}
	return end
}

var errStop = errors.New("stop")

// setStop decodes stop as Stop.UnmarshalJSON does: a string, or an array of strings (an empty
// array is an empty, non-nil Stop).
func (r *Request) setStop(v []byte) bool {
	switch jsonscan.Kind(v) {
	case '"':
		var one string
		if !setString(&one, v) {
			return false
		}
		r.Stop = Stop{one}
		return true
	case '[':
		stop := Stop{}
		err := jsonscan.Array(v, func(n int, v []byte) error {
			var s string
			if n == maxStop || !setString(&s, v) { // past the limit: Decode refuses it
				return errStop
			}
			stop = append(stop, s)
			return nil
		})
		if err != nil {
			return false
		}
		r.Stop = stop
		return true
	}
	return false
}

var (
	responseFormatKeys = []string{"type", "json_schema"}
	jsonSchemaKeys     = []string{"name", "description", "schema", "strict"}
	toolKeys           = []string{"type", "function"}
	functionDeclKeys   = []string{"name", "description", "parameters", "strict"}
)

// setResponseFormat decodes response_format: {"type": …, "json_schema": {"name", "description",
// "schema", "strict"}}, the schema kept as written.
func (r *Request) setResponseFormat(v []byte) bool {
	var f ResponseFormat
	end := fieldsAt(v, 0, responseFormatKeys, func(n, i int) int {
		if n == 0 {
			return leafAt(v, i, func(v []byte) bool { return setString(&f.Type, v) })
		}
		s := new(JSONSchema)
		f.JSONSchema = s
		return fieldsAt(v, i, jsonSchemaKeys, func(n, i int) int {
			return leafAt(v, i, func(v []byte) bool {
				switch n {
				case 0:
					return setString(&s.Name, v)
				case 1:
					return setString(&s.Description, v)
				case 2:
					s.Schema = bytes.Clone(v)
					return true
				}
				return setBoolPtr(&s.Strict, v)
			})
		})
	})
	if end != len(v) {
		return false
	}
	r.ResponseFormat = &f
	return true
}

// setTools decodes tools: an array of {"type", "function": {"name", "description",
// "parameters", "strict"}}, the parameters kept as written; at most maxTools of them (more is
// Decode's 400).
func (r *Request) setTools(v []byte) bool {
	if jsonscan.Kind(v) != '[' {
		return false
	}
	tools := []Tool{}
	end, err := jsonscan.ArrayAt(v, 0, func(n, i int) (int, error) {
		if n == maxTools {
			return i, errStop
		}
		var t Tool
		end := fieldsAt(v, i, toolKeys, func(n, i int) int {
			if n == 0 {
				return leafAt(v, i, func(v []byte) bool { return setString(&t.Type, v) })
			}
			f := new(FunctionDecl)
			t.Function = f
			return fieldsAt(v, i, functionDeclKeys, func(n, i int) int {
				return leafAt(v, i, func(v []byte) bool {
					switch n {
					case 0:
						return setString(&f.Name, v)
					case 1:
						return setString(&f.Description, v)
					case 2:
						f.Parameters = bytes.Clone(v)
						return true
					}
					return setBoolPtr(&f.Strict, v)
				})
			})
		})
		if end < 0 {
			return i, errStop
		}
		tools = append(tools, t)
		return end, nil
	})
	if err != nil || end != len(v) {
		return false
	}
	r.Tools = tools
	return true
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
// exponent is its type error, as is a value out of range): strconv.ParseInt's answer, by hand
// for up to 18 digits (no overflow is possible), which is every count a request holds.
func parseInt(v []byte) (int64, bool) {
	if k := jsonscan.Kind(v); k != '-' && (k < '0' || k > '9') {
		return 0, false
	}
	digits := v
	if v[0] == '-' {
		digits = v[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if v[0] == '-' {
		n = -n
	}
	return n, true
}

func setIntPtr(p **int, v []byte) bool { return setIntAt(p, nil, v) }

// setIntAt sets *p to point to the integer v, held in slot (nil: a new int).
func setIntAt(p **int, slot *int, v []byte) bool {
	n, ok := parseInt(v)
	if !ok || int64(int(n)) != n {
		return false
	}
	if slot == nil {
		slot = new(int)
	}
	*slot = int(n)
	*p = slot
	return true
}

func setFloatPtr(p **float64, v []byte) bool { return setFloatAt(p, nil, v) }

// setFloatAt sets *p to point to the number v, held in slot (nil: a new float64).
func setFloatAt(p **float64, slot *float64, v []byte) bool {
	if k := jsonscan.Kind(v); k != '-' && (k < '0' || k > '9') {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	if slot == nil {
		slot = new(float64)
	}
	*slot = f
	*p = slot
	return true
}
