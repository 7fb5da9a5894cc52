package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

var (
	toolChoiceType = reflect.TypeFor[ToolChoice]()
)

// Limits bound what one request may hold, so decoding stays within a small multiple of the body.
// Each refusal is a 400 that names the limit.
type Limits struct {
	// Messages is the most messages a request may have (GATEWAY_MAX_MESSAGES).
	Messages int
	// Parts is the most content parts and tool calls all messages together may have
	// (GATEWAY_MAX_PARTS). It is counted over the whole request: a per-message limit alone
	// would let many messages of many parts through.
	Parts int
}

// DefaultLimits are far above what real clients send: long agent sessions run to a few thousand
// messages, and Gemini takes at most 3,000 images in a prompt.
var DefaultLimits = Limits{Messages: 10000, Parts: 50000}

// Limits that OpenAI documents for its own API, applied before the fields are decoded.
// https://platform.openai.com/docs/api-reference/chat/create
const (
	maxStop     = 4   // stop: "Up to 4 sequences"
	maxTools    = 128 // tools: "A max of 128 functions are supported"
	maxMetadata = 16  // metadata: "Set of 16 key-value pairs"
	// maxModalities is ours: there are three output modalities (text, image, audio).
	maxModalities = 8
	// maxLabels is Vertex AI's limit of labels on a resource.
	maxLabels = 64
)

// DecodeRequest decodes a Chat Completions body with DefaultLimits and no cancellation.
func DecodeRequest(body []byte) (*Request, error) {
	return DefaultLimits.Decode(context.Background(), body)
}

// Decode decodes a Chat Completions body. Every error is an *Error with status 400 that says what
// is wrong and, where it can, names the field, except ctx's error when ctx ends first: decoding
// looks at ctx every so often while it walks messages and parts.
func (l Limits) Decode(ctx context.Context, body []byte) (*Request, error) {
	return l.decode(ctx, body, true)
}

// decode is Decode; with fast false every top-level field goes through encoding/json, every
// tool call and extra_content through decodeStrict, the body is checked by jsonscan.Valid and
// the messages are decoded after it (the reference FuzzDecodeTopLevel and FuzzDecodeInTheWalk
// hold the hand-written paths to).
func (l Limits) decode(ctx context.Context, body []byte, fast bool) (*Request, error) {
	if l.Messages <= 0 {
		l.Messages = DefaultLimits.Messages
	}
	if l.Parts <= 0 {
		l.Parts = DefaultLimits.Parts
	}
	handDecode := fast // fast is cleared when the top level is left to encoding/json
	var messages, google, extraBody []byte
	// The request, one message and what the common scalar pointers point to are one allocation.
	blk := new(requestBlock)
	r := &blk.r
	var sp *spare
	if handDecode {
		sp = &blk.spare
		sp.plainAt = -1
		if len(body) <= maxShared {
			sp.text = string(body)
		}
	}
	var seen uint64
	nMessages := -1 // counted while the top level is walked, when messages is an array
	d := decoder{ctx: ctx, limits: l, fast: handDecode}
	if sp != nil {
		d.text = sp.text
	}
	// With handDecode the walk checks every value it reads as JSON (jsonscan.ValidAt), and
	// decodes the messages as it checks them (messagesAt): checked holds while every value was
	// found valid, and the body need not be checked again. Where a value is not (or the
	// messages are not decoded in the walk) the rest is walked as before, and the body checked
	// whole.
	checked := handDecode
	var msgs []Message
	var msgErr error
	inWalk := false // the messages were decoded in the walk: msgs, msgErr
	end, err := jsonscan.ObjectAt(body, 0, func(k, _ []byte, i int) (int, error) {
		if string(k) == "messages" && body[i] == '[' {
			if checked {
				d.parts, d.seen = 0, 0
				var end int
				var ok bool
				if msgs, nMessages, end, msgErr, ok = d.messagesAt(blk.messages(l, len(body)-i), body, i); ok {
					messages, inWalk = body[i:end], true
					if fast && r.setTopLevel(k, messages, &seen, sp, i) {
						return end, nil
					}
					fast = false
					return end, r.topLevel(k, messages, &google, &extraBody)
				}
				checked, msgs, msgErr = false, nil, nil
			}
			inWalk = false
			// messages is counted as it is skipped: the one walk over it before it is decoded.
			n := 0
			end, err := jsonscan.ArrayAt(body, i, func(_, i int) (int, error) {
				n++
				return jsonscan.SkipValue(body, i)
			})
			if err == nil {
				messages, nMessages = body[i:end], n
				if fast && r.setTopLevel(k, messages, &seen, sp, i) {
					return end, nil
				}
				fast = false
				return end, r.topLevel(k, messages, &google, &extraBody)
			}
			// not an array after all: skipped as any value is (and counted again later)
		}
		var end int
		if checked {
			if body[i] == '"' {
				var plain bool
				if end, plain = jsonscan.ValidString(body, i); plain && sp.text != "" {
					sp.plainAt = i
				}
			} else {
				end = jsonscan.ValidAt(body, i, 1)
			}
			if end < 0 {
				checked = false
			}
		}
		if !checked {
			var err error
			if end, err = jsonscan.SkipValue(body, i); err != nil {
				return end, err
			}
		}
		v := body[i:end]
		if string(k) == "messages" {
			messages, nMessages, inWalk = v, -1, false
		}
		// setTopLevel decodes the member by hand while it can; it takes only known fields,
		// neither google nor extra_body, and no more stop sequences or tools than the limits.
		if fast && r.setTopLevel(k, v, &seen, sp, i) {
			return end, nil
		}
		fast = false
		return end, r.topLevel(k, v, &google, &extraBody)
	})
	if err == nil && jsonscan.SkipSpace(body, end) != len(body) {
		err = jsonscan.ErrSyntax // data after the object
	}
	if err != nil && errors.Is(err, jsonscan.ErrSyntax) {
		err = invalidJSON(body)
	}
	if err != nil {
		return nil, err
	}
	// The fast path decoded every top-level field already (setTopLevel); the body must still
	// be JSON throughout, as encoding/json would require: the walk checked it, or else
	// jsonscan.Valid (its answer, without its scanner) does.
	if !fast || !checked && !jsonscan.Valid(body) {
		*r = Request{}
		wire := struct {
			*plainRequest
			Messages skip `json:"messages"` // decoded below, with paths and limits
		}{plainRequest: (*plainRequest)(r)}
		if err := json.Unmarshal(body, &wire); err != nil {
			return nil, decodeError(err)
		}
	}
	switch {
	case inWalk:
		if msgErr != nil {
			return nil, msgErr
		}
		r.Messages = msgs
	case messages != nil && !jsonscan.IsNull(messages):
		d := decoder{ctx: ctx, limits: l, fast: handDecode}
		if r.Messages, err = d.messages(messages, nMessages); err != nil {
			return nil, err
		}
	}
	if err := r.foldGoogle(google, extraBody); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// requestBlock is what Decode allocates for a request: the Request, room for its first message,
// and its spare (the scalars its pointers point to).
type requestBlock struct {
	r     Request
	msg   [1]Message
	spare spare
}

// messages returns the empty slice messagesAt appends to, with room for the messages an array
// in rest bytes may hold: the block's one for a small body, else a guess of one per 160 bytes,
// at most 16 (a long prompt in one message must not cost a large slice), grown as the walk
// finds more.
func (blk *requestBlock) messages(l Limits, rest int) []Message {
	n := min(rest/160+1, 16, l.Messages)
	if n <= 1 {
		return blk.msg[:0:1]
	}
	return make([]Message, 0, n)
}

// topLevel takes the top-level member k: v of a request body during Decode's walk that
// setTopLevel did not decode: it applies the limits checked before anything is decoded, keeps
// google and extra_body for foldGoogle, and refuses an unknown key.
func (r *Request) topLevel(k, v []byte, google, extraBody *[]byte) error {
	// string(k) is only made where an error names the key: a switch on it copies nothing.
	switch string(k) {
	case "messages":
		// Decode keeps it.
	case "google":
		// encoding/json merges a repeated object key into one value, which the key checks
		// below would not see whole.
		if *google != nil {
			return InvalidParam("google", "%s is given twice", "google")
		}
		*google = v
	case "extra_body":
		if *extraBody != nil {
			return InvalidParam("extra_body", "%s is given twice", "extra_body")
		}
		*extraBody = v
	case "stop":
		return maxLen(v, maxStop, "stop", "stop holds at most %d sequences")
	case "tools":
		return maxLen(v, maxTools, "tools", "tools holds at most %d functions")
	case "modalities":
		return maxLen(v, maxModalities, "modalities", "modalities holds at most %d entries")
	case "metadata":
		return maxMembers(v, maxMetadata, "metadata", "metadata holds at most %d key-value pairs")
	default:
		if !knownField(k) {
			key := string(k)
			return InvalidParam(key, "unrecognized request argument supplied: %s", key)
		}
	}
	return nil
}

// knownField reports whether key is a top-level field of Request (its JSON name); anything else
// is a 400 naming it. A switch rather than a map of Request's tags: no hashing, nothing built
// by reflection at init. TestKnownFieldsAreRequestTags holds it to the tags.
func knownField(key []byte) bool {
	switch string(key) {
	case "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
		"temperature", "top_p", "top_k", "n", "stop", "seed", "presence_penalty", "frequency_penalty",
		"logprobs", "top_logprobs", "user", "metadata", "response_format", "tools", "tool_choice",
		"parallel_tool_calls", "reasoning_effort", "modalities", "web_search_options", "store",
		"service_tier", "safety_identifier", "prompt_cache_key", "google", "extra_body",
		"logit_bias", "audio", "prediction", "functions", "function_call", "verbosity":
		return true
	}
	return false
}

// plainRequest is Request without methods, for json.Unmarshal.
type plainRequest Request

// skip is a JSON value left for a later pass.
type skip struct{}

// UnmarshalJSON leaves the value alone.
func (skip) UnmarshalJSON([]byte) error { return nil }

// invalidJSON is the error for a body the scanner could not walk: encoding/json's own message
// when it also rejects the body, else a generic one.
func invalidJSON(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return decodeError(err)
	}
	return Errorf(http.StatusBadRequest, CodeInvalidRequest, "", "request body must be a JSON object")
}

func maxLen(v []byte, limit int, field, format string) error {
	if jsonscan.Kind(v) != '[' {
		return nil // a string stop, or a type error json.Unmarshal reports
	}
	n, err := jsonscan.Len(v, limit)
	if err != nil {
		return err
	}
	if n > limit {
		return InvalidParam(field, format, limit)
	}
	return nil
}

func maxMembers(v []byte, limit int, field, format string) error {
	if jsonscan.Kind(v) != '{' {
		return nil
	}
	n := 0
	err := jsonscan.Object(v, func(_, _ []byte) error {
		if n++; n > limit {
			return InvalidParam(field, format, limit)
		}
		return nil
	})
	return err
}

// foldGoogle checks the keys of google and extra_body (raw, as sent) at every level, refuses a
// key set in both google and extra_body.google, and leaves the union of the two in r.Google.
func (r *Request) foldGoogle(google, extraBody []byte) error {
	if google != nil {
		if err := checkKeys(google, googleType, "google"); err != nil {
			return err
		}
		if err := maxLabelsIn(google, "google"); err != nil {
			return err
		}
	}
	var extraGoogle []byte
	if extraBody != nil {
		if err := checkKeys(extraBody, reflect.TypeFor[ExtraBody](), "extra_body"); err != nil {
			return err
		}
		if jsonscan.Kind(extraBody) == '{' {
			_ = jsonscan.Object(extraBody, func(k, v []byte) error {
				if string(k) == "google" {
					extraGoogle = v
				}
				return nil
			})
		}
		if err := maxLabelsIn(extraGoogle, "extra_body.google"); err != nil {
			return err
		}
	}
	if r.ExtraBody == nil || r.ExtraBody.Google == nil {
		r.ExtraBody = nil
		return nil
	}
	if r.Google == nil {
		r.Google, r.ExtraBody = r.ExtraBody.Google, nil
		return nil
	}
	top := setKeys(google)
	for k := range setKeys(extraGoogle) {
		if top[k] {
			return InvalidParam("google."+k, "google.%s is set both in google and in extra_body.google; set it in one place", k)
		}
	}
	// Each field is set in at most one of the two: the union is field by field.
	merged, extra := reflect.ValueOf(r.Google).Elem(), reflect.ValueOf(r.ExtraBody.Google).Elem()
	for i := range merged.NumField() {
		if merged.Field(i).IsZero() {
			merged.Field(i).Set(extra.Field(i))
		}
	}
	r.ExtraBody = nil
	return nil
}

var googleType = reflect.TypeFor[Google]()

// setKeys returns the keys of the object b whose value is not null.
func setKeys(b []byte) map[string]bool {
	m := map[string]bool{}
	if jsonscan.Kind(b) == '{' {
		_ = jsonscan.Object(b, func(k, v []byte) error {
			if !jsonscan.IsNull(v) {
				m[string(k)] = true
			}
			return nil
		})
	}
	return m
}

func maxLabelsIn(google []byte, at string) error {
	if jsonscan.Kind(google) != '{' {
		return nil
	}
	return jsonscan.Object(google, func(k, v []byte) error {
		if string(k) == "labels" {
			return maxMembers(v, maxLabels, at+".labels", at+".labels holds at most %d labels")
		}
		return nil
	})
}

func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Errorf(http.StatusBadRequest, CodeInvalidRequest, "", "request body is not valid JSON (at byte %d): %v", syn.Offset, err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, CodeInvalidRequest, "", "request body must be a JSON object")
		}
		return InvalidParam(field, "invalid type for %s: got %s, want %s", field, typ.Value, friendlyType(typ.Type))
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Errorf(http.StatusBadRequest, CodeInvalidRequest, "", "invalid request body: %v", err)
}

func friendlyType(t reflect.Type) string {
	switch t {
	case toolChoiceType:
		return `"none", "auto", "required" or {"type":"function","function":{"name":…}}`
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.String()
}
