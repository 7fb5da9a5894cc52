package openai

import (
	"errors"

	"github.com/geminigateway/gateway/shared/jsonscan"

	"bytes"
	"encoding/json"
	"strconv"
)

// EmbeddingRequest is a POST /v1/embeddings body.
// https://platform.openai.com/docs/api-reference/embeddings/create
type EmbeddingRequest struct {
	Model          string
	Input          EmbeddingInput
	Dimensions     *int
	EncodingFormat string
	User           string // accepted; Gemini has no slot for it
	// Google holds the Gemini extensions, merged from "google" and "extra_body.google" (the
	// top-level one wins field by field, as for chat).
	Google *EmbeddingGoogle
}

// EmbeddingGoogle holds the Gemini embedding extensions.
type EmbeddingGoogle struct {
	TaskType     string
	Title        string
	AutoTruncate *bool
	titleSet     bool // title given, even empty
	taskTypeSet  bool // task_type given, even empty
}

// HasTitle reports whether the request set google.title.
func (g *EmbeddingGoogle) HasTitle() bool { return g.titleSet }

// HasTaskType reports whether the request set google.task_type.
func (g *EmbeddingGoogle) HasTaskType() bool { return g.taskTypeSet }

// MaxEmbeddingInputs is OpenAI's limit on the inputs of one request.
const MaxEmbeddingInputs = 2048

// EmbeddingInput is the "input" union: a string or an array of strings. Token-id arrays
// ([1,2,3] or [[1,2,3]]) are valid OpenAI input that Gemini cannot take (it embeds text only), so
// they decode to a 400 api_not_implemented naming input.
type EmbeddingInput struct {
	Texts []string
	set   bool
}

// UnmarshalJSON decodes the union.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return InvalidParam("input", "input is not a valid JSON string")
		}
		in.Texts, in.set = []string{s}, true
		return nil
	case b[0] != '[':
		return InvalidParam("input", "input must be a string or an array of strings")
	}
	// The usual array of strings is read in one pass of the one JSON scanner: b is valid JSON
	// (encoding/json checked the whole body before calling this), and jsonscan.Unquote decodes
	// a string as encoding/json does. Anything else, null included (which encoding/json would
	// take for ""), goes the slow way to be named.
	if texts, ok := stringArray(b); ok {
		in.Texts, in.set = texts, true
		return nil
	}
	// Not all strings: say which element is wrong, and whether it is token ids.
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return InvalidParam("input", "input must be a string or an array of strings")
	}
	for i, e := range elems {
		switch kind(e) {
		case '"':
		case '0':
			return tokenInput()
		case '[':
			var ids []json.Number
			if json.Unmarshal(e, &ids) == nil {
				return tokenInput()
			}
			return InvalidParam("input", "input[%d] must be a string", i)
		default:
			return InvalidParam("input", "input[%d] must be a string", i)
		}
	}
	return InvalidParam("input", "input must be a string or an array of strings")
}

// stringArray returns the strings of the JSON array b, and false if an element is not a string.
func stringArray(b []byte) ([]string, bool) {
	texts := make([]string, 0, 16)
	_, err := jsonscan.ArrayAt(b, 0, func(_, i int) (int, error) {
		end, err := jsonscan.SkipString(b, i)
		if err != nil {
			return end, err
		}
		s, err := jsonscan.Unquote(b[i:end])
		texts = append(texts, s)
		return end, err
	})
	return texts, err == nil
}

func tokenInput() *Error {
	return NotImplemented("input", "token-id input is not supported: Gemini embeds text only; send input as a string or an array of strings")
}

// kind returns '"' for a string, '0' for a number, '[' for an array, else the first byte.
func kind(v []byte) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	if c := v[0]; c == '-' || c >= '0' && c <= '9' {
		return '0'
	}
	return v[0]
}

var embeddingFields = map[string]bool{
	"model": true, "input": true, "dimensions": true, "encoding_format": true, "user": true,
	"google": true, "extra_body": true,
}

// DecodeEmbeddingRequest decodes and checks an embeddings body: an unknown key, at the top level
// or in the google namespace, is a 400 naming its path. Every error is an *Error.
func DecodeEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	raw, ok := scanEmbeddingRequest(body)
	if !ok {
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, decodeError(err)
		}
		if err := eachTopLevelKey(body, func(key string) error {
			if !embeddingFields[key] {
				return InvalidParam(key, "unrecognized request argument supplied: %s", key)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	r := &EmbeddingRequest{Model: raw.Model, Input: raw.Input, Dimensions: raw.Dimensions, EncodingFormat: raw.EncodingFormat, User: raw.User}
	if r.Model == "" {
		return nil, InvalidParam("model", "model is required")
	}
	if !r.Input.set {
		return nil, InvalidParam("input", "input is required")
	}
	switch n := len(r.Input.Texts); {
	case n == 0:
		return nil, InvalidParam("input", "input must not be an empty array")
	case n > MaxEmbeddingInputs:
		return nil, InvalidParam("input", "input has %d items; at most %d are allowed", n, MaxEmbeddingInputs)
	}
	for i, s := range r.Input.Texts {
		if s == "" {
			if len(r.Input.Texts) == 1 {
				return nil, InvalidParam("input", "input must not be an empty string")
			}
			return nil, InvalidParam("input", "input[%d] must not be an empty string", i)
		}
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, InvalidParam("encoding_format", "encoding_format must be \"float\" or \"base64\", not %q", r.EncodingFormat)
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return nil, InvalidParam("dimensions", "dimensions must be at least 1")
	}
	if err := r.foldEmbeddingGoogle(raw.Google, raw.ExtraBody); err != nil {
		return nil, err
	}
	return r, nil
}

// embeddingWire is an embeddings body as sent, before its checks.
type embeddingWire struct {
	Model          string          `json:"model"`
	Input          EmbeddingInput  `json:"input"`
	Dimensions     *int            `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
	User           string          `json:"user"`
	Google         json.RawMessage `json:"google"`
	ExtraBody      json.RawMessage `json:"extra_body"`
}

// scanEmbeddingRequest reads the usual embeddings body in one pass of the one JSON scanner, where
// encoding/json (with the whole-body check before it, and the top-level keys walked after) took
// three: a hundred inputs are kilobytes of text. It takes only what it reads exactly as
// encoding/json would and knows to be valid JSON: each known key once, spelled as its tag
// (encoding/json folds case), model, encoding_format and user strings, input a string or an
// array of strings, dimensions an integer of at most nine digits, google and extra_body any
// JSON (json.Valid checks them; foldEmbeddingGoogle decodes them), nothing after the object.
// Anything else returns false, for encoding/json to decode and to name what is wrong.
func scanEmbeddingRequest(b []byte) (w embeddingWire, ok bool) {
	var seen [7]bool // by field, in embeddingWire's order
	first := func(field int) bool {
		if seen[field] {
			return false
		}
		seen[field] = true
		return true
	}
	str := func(field int, dst *string, i int) (int, error) {
		s, end, ok := scanString(b, i)
		if !ok || !first(field) {
			return i, errFallBack
		}
		*dst = s
		return end, nil
	}
	raw := func(field int, dst *json.RawMessage, i int) (int, error) {
		end, err := jsonscan.SkipValue(b, i)
		if err != nil || !first(field) || jsonscan.IsNull(b[i:end]) || !jsonscan.Valid(b[i:end]) {
			return i, errFallBack
		}
		*dst = b[i:end:end]
		return end, nil
	}
	end, err := jsonscan.ObjectAt(b, 0, func(_, rawKey []byte, i int) (int, error) {
		switch string(rawKey) {
		case `"model"`:
			return str(0, &w.Model, i)
		case `"encoding_format"`:
			return str(3, &w.EncodingFormat, i)
		case `"user"`:
			return str(4, &w.User, i)
		case `"google"`:
			return raw(5, &w.Google, i)
		case `"extra_body"`:
			return raw(6, &w.ExtraBody, i)
		case `"input"`:
			if !first(1) {
				return i, errFallBack
			}
			if b[i] == '"' {
				s, end, ok := scanString(b, i)
				if !ok {
					return i, errFallBack
				}
				w.Input = EmbeddingInput{Texts: []string{s}, set: true}
				return end, nil
			}
			end, err := jsonscan.SkipValue(b, i)
			if err != nil || b[i] != '[' {
				return i, errFallBack
			}
			texts, ok := stringArray(b[i:end])
			if !ok {
				return i, errFallBack
			}
			w.Input = EmbeddingInput{Texts: texts, set: true}
			return end, nil
		case `"dimensions"`:
			j := i
			if j < len(b) && b[j] == '-' {
				j++
			}
			k := j
			for k < len(b) && b[k] >= '0' && b[k] <= '9' {
				k++
			}
			if !first(2) || k == j || k-j > 9 || b[j] == '0' && k-j > 1 || k < len(b) && (b[k] == '.' || b[k]|0x20 == 'e') {
				return i, errFallBack
			}
			n, _ := strconv.Atoi(string(b[i:k]))
			w.Dimensions = &n
			return k, nil
		}
		return i, errFallBack // a key encoding/json is to judge: unknown, or spelled otherwise
	})
	if err != nil || jsonscan.SkipSpace(b, end) != len(b) {
		return embeddingWire{}, false
	}
	return w, true
}

// errFallBack stops scanEmbeddingRequest: the body goes to encoding/json.
var errFallBack = errors.New("openai: left to encoding/json")

// scanString reads the string at b[i]: its value, the index past it, and false when there is no
// string there or it is not valid JSON (Unquote decodes, and so checks, any string with escapes;
// one without is checked by plain).
func scanString(b []byte, i int) (string, int, bool) {
	end, err := jsonscan.SkipString(b, i)
	if err != nil {
		return "", i, false
	}
	s, err := jsonscan.Unquote(b[i:end])
	return s, end, err == nil
}

// absent reports whether a raw member is missing or null.
func absent(b []byte) bool { return len(b) == 0 || jsonscan.IsNull(b) }

// embeddingGoogleWire is the google object of an embeddings request as sent; its keys are the
// ones checkKeys accepts under google and extra_body.google.
type embeddingGoogleWire struct {
	TaskType     *string `json:"task_type"`
	Title        *string `json:"title"`
	AutoTruncate *bool   `json:"auto_truncate"`
}

// embeddingExtraBody is the extra_body of an embeddings request: the google namespace only.
type embeddingExtraBody struct {
	Google *embeddingGoogleWire `json:"google"`
}

// foldEmbeddingGoogle checks google and extra_body (raw, as sent) with chat's strict-key check
// (checkKeys, decodeStrict), refuses a key set in both google and extra_body.google as chat's
// foldGoogle does, and leaves the union of the two in r.Google.
func (r *EmbeddingRequest) foldEmbeddingGoogle(google, extraBody []byte) error {
	var top, nested embeddingGoogleWire
	if !absent(google) {
		if jsonscan.Kind(google) != '{' {
			return InvalidParam("google", "google must be an object")
		}
		if err := decodeStrict(google, &top, "google"); err != nil {
			return err
		}
	}
	var extraGoogle []byte
	if !absent(extraBody) {
		if jsonscan.Kind(extraBody) != '{' {
			return InvalidParam("extra_body", "extra_body must be an object")
		}
		var eb embeddingExtraBody
		if err := decodeStrict(extraBody, &eb, "extra_body"); err != nil {
			return err
		}
		_ = jsonscan.Object(extraBody, func(k, v []byte) error {
			if string(k) == "google" {
				extraGoogle = v
			}
			return nil
		})
		if !absent(extraGoogle) && jsonscan.Kind(extraGoogle) != '{' {
			return InvalidParam("extra_body.google", "extra_body.google must be an object")
		}
		if eb.Google != nil {
			nested = *eb.Google
		}
	}
	if absent(google) && absent(extraGoogle) {
		return nil
	}
	topKeys := setKeys(google)
	for k := range setKeys(extraGoogle) {
		if topKeys[k] {
			return InvalidParam("google."+k, "google.%s is set both in google and in extra_body.google; set it in one place", k)
		}
	}
	// Each field is set in at most one of the two: the union is field by field.
	g := &EmbeddingGoogle{}
	for _, w := range []*embeddingGoogleWire{&top, &nested} {
		if w.TaskType != nil {
			g.TaskType, g.taskTypeSet = *w.TaskType, true
		}
		if w.Title != nil {
			g.Title, g.titleSet = *w.Title, true
		}
		if w.AutoTruncate != nil {
			g.AutoTruncate = w.AutoTruncate
		}
	}
	r.Google = g
	return nil
}

// EmbeddingList writes the POST /v1/embeddings response. It is written by AppendJSON rather than
// encoding/json: vectors are already JSON (or base64) made by the caller straight into the body,
// and a hundred of them are megabytes that encoding/json would scan again to validate.
type EmbeddingList struct {
	Model string
	Len   int // the number of vectors
	Usage EmbeddingUsage
}

// EmbeddingUsage is the usage of an embeddings response; the two counts are equal.
type EmbeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// AppendJSON appends the response body
// {"object":"list","data":[{"object":"embedding","index":i,"embedding":…}],"model":…,"usage":{…}},
// where vector appends the JSON value of embedding i (an array of numbers, or a string holding
// the base64 of little-endian float32s). vector's error stops the body and is returned as is.
func (l *EmbeddingList) AppendJSON(b []byte, vector func(b []byte, i int) ([]byte, error)) ([]byte, error) {
	b = AppendEmbeddingsHead(b)
	for i := range l.Len {
		b = AppendEmbeddingItemHead(b, i)
		var err error
		if b, err = vector(b, i); err != nil {
			return b, err
		}
		b = append(b, '}')
	}
	return l.AppendTail(b), nil
}

// AppendEmbeddingsHead appends what AppendJSON writes before the first vector's item. With
// AppendEmbeddingItemHead, each vector and its closing '}', and AppendTail, it writes the body
// of AppendJSON piece by piece, for a caller that has the vectors one at a time.
func AppendEmbeddingsHead(b []byte) []byte {
	return append(b, `{"object":"list","data":[`...)
}

// AppendEmbeddingItemHead appends the start of vector i's item, up to its value: a comma for
// any but the first, then {"object":"embedding","index":i,"embedding":. The item ends with '}'.
func AppendEmbeddingItemHead(b []byte, i int) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"object":"embedding","index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, `,"embedding":`...)
}

// AppendTail appends what AppendJSON writes after the last item: the model and the usage.
func (l *EmbeddingList) AppendTail(b []byte) []byte {
	b = append(b, `],"model":`...)
	model, err := json.Marshal(l.Model)
	if err != nil { // a string always marshals
		model = []byte(`""`)
	}
	b = append(b, model...)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(l.Usage.PromptTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(l.Usage.TotalTokens), 10)
	return append(b, "}}\n"...)
}

// Overhead returns a bound on what AppendJSON writes besides the vectors, for sizing its buffer
// once.
func (l *EmbeddingList) Overhead() int {
	return 192 + len(l.Model)*6 + 64*l.Len
}

// eachTopLevelKey calls fn with each key of the JSON object b, through the one JSON scanner.
func eachTopLevelKey(b []byte, fn func(key string) error) error {
	err := jsonscan.Object(b, func(key, _ []byte) error { return fn(string(key)) })
	var e *Error
	if err != nil && !errors.As(err, &e) {
		return InvalidParam("", "the body is not valid JSON: %v", err)
	}
	return err
}
