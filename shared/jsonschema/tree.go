package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// kind is the shape of a JSON value.
type kind uint8

const (
	scalar kind = iota // string, number, true, false, null
	object
	array
)

// value is an ordered JSON tree. Scalars and keys keep the bytes they were
// written with (number literals, string escapes), as subslices of the input:
// nothing is decoded that is not looked at, and nothing is copied.
type value struct {
	kind    kind
	raw     []byte   // scalar: the literal as written
	members []member // object, in input order
	elems   []*value // array
}

type member struct {
	rawKey []byte // the quoted key as written
	key    string // the key, unescaped
	val    *value
}

// parse builds the tree of data. It validates with json.Valid first, then walks the text with
// jsonscan, which finds exactly the values encoding/json finds in valid JSON.
func parse(data []byte) (*value, error) {
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON")
	}
	v, _, err := parseAt(data, jsonscan.SkipSpace(data, 0))
	return v, err
}

// parseAt builds the value that starts at data[i] and returns the index just past it.
func parseAt(data []byte, i int) (*value, int, error) {
	switch data[i] {
	case '{':
		v := &value{kind: object}
		end, err := jsonscan.ObjectAt(data, i, func(key, rawKey []byte, start int) (int, error) {
			val, vend, err := parseAt(data, start)
			v.members = append(v.members, member{rawKey: rawKey, key: string(key), val: val})
			return vend, err
		})
		return v, end, err
	case '[':
		v := &value{kind: array}
		end, err := jsonscan.ArrayAt(data, i, func(_, start int) (int, error) {
			val, vend, err := parseAt(data, start)
			v.elems = append(v.elems, val)
			return vend, err
		})
		return v, end, err
	}
	end, err := jsonscan.SkipValue(data, i)
	return &value{kind: scalar, raw: data[i:end:end]}, end, err
}

// unquote returns the string a quoted JSON string literal stands for.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "" // unreachable: the input passed json.Valid
	}
	return s
}

// quote returns s as a JSON string literal, without the HTML escaping that
// json.Marshal adds.
func quote(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// str reports whether v is a JSON string, and returns it unescaped.
func (v *value) str() (string, bool) {
	if v.kind != scalar || len(v.raw) == 0 || v.raw[0] != '"' {
		return "", false
	}
	return unquote(v.raw), true
}

// isNumber reports whether v is a JSON number.
func (v *value) isNumber() bool {
	if v.kind != scalar || len(v.raw) == 0 {
		return false
	}
	c := v.raw[0]
	return c == '-' || (c >= '0' && c <= '9')
}

// isBool reports whether v is true or false.
func (v *value) isBool() bool {
	return v.kind == scalar && (string(v.raw) == "true" || string(v.raw) == "false")
}

// get returns the member named key, or nil.
func (v *value) get(key string) *value {
	for i := range v.members {
		if v.members[i].key == key {
			return v.members[i].val
		}
	}
	return nil
}

// has reports whether v has a member named key.
func (v *value) has(key string) bool { return v.get(key) != nil }

// appendTo appends v, compactly, to buf.
func (v *value) appendTo(buf []byte) []byte {
	switch v.kind {
	case object:
		buf = append(buf, '{')
		for i, m := range v.members {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, m.rawKey...)
			buf = append(buf, ':')
			buf = m.val.appendTo(buf)
		}
		return append(buf, '}')
	case array:
		buf = append(buf, '[')
		for i, e := range v.elems {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = e.appendTo(buf)
		}
		return append(buf, ']')
	}
	return append(buf, v.raw...)
}
