package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
)

var (
	toolChoiceType = reflect.TypeFor[ToolChoice]()
)

// knownFields lists every top-level field Request decodes; anything else is a 400 naming it.
var knownFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Request]()
	for i := range t.NumField() {
		name, _, _ := bytes.Cut([]byte(t.Field(i).Tag.Get("json")), []byte(","))
		m[string(name)] = true
	}
	return m
}()

// DecodeRequest decodes a Chat Completions body. Every error is an *Error with status 400 that
// says what is wrong and, where it can, names the field.
func DecodeRequest(body []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, decodeError(err)
	}
	if err := eachTopLevelKey(body, func(key string) error {
		if !knownFields[key] {
			return InvalidParam(key, "unrecognized request argument supplied: %s", key)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range r.Messages {
		m := &r.Messages[i]
		c, err := ContentFromAny(m.RawContent, fmt.Sprintf("messages[%d].content", i))
		if err != nil {
			return nil, err
		}
		m.Content = c
	}
	return &r, nil
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

// eachTopLevelKey calls fn with each key of the top-level object in body, which must already be
// known to be valid JSON. It skips values without decoding them, so a multi-megabyte image costs
// one memchr-speed pass and no allocation.
func eachTopLevelKey(b []byte, fn func(string) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		end := skipString(b, i)
		raw := b[i:end]
		key := string(raw[1 : len(raw)-1])
		if bytes.IndexByte(raw, '\\') >= 0 {
			if s, err := strconv.Unquote(string(raw)); err == nil {
				key = s
			} else if err := json.Unmarshal(raw, &key); err != nil {
				return err
			}
		}
		if err := fn(key); err != nil {
			return err
		}
		i = skipSpace(b, end)
		i++ // ':'
		i = skipValue(b, skipSpace(b, i))
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'. It jumps from
// quote to quote with IndexByte (memchr speed on megabytes of base64); a quote preceded by an
// odd number of backslashes is escaped.
func skipString(b []byte, i int) int {
	i++
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' {
		i++
	}
	return i
}
