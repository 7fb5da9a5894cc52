package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
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

// parse builds the tree of data. It validates with json.Valid first, so the
// scanner below may trust its input.
func parse(data []byte) (*value, error) {
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON")
	}
	p := parser{data: data}
	v := p.value()
	return v, nil
}

type parser struct {
	data []byte
	pos  int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() *value {
	p.skipSpace()
	switch p.data[p.pos] {
	case '{':
		p.pos++
		v := &value{kind: object}
		p.skipSpace()
		if p.data[p.pos] == '}' {
			p.pos++
			return v
		}
		for {
			p.skipSpace()
			rawKey := p.str()
			p.skipSpace()
			p.pos++ // ':'
			v.members = append(v.members, member{rawKey: rawKey, key: unquote(rawKey), val: p.value()})
			p.skipSpace()
			c := p.data[p.pos]
			p.pos++ // ',' or '}'
			if c == '}' {
				return v
			}
		}
	case '[':
		p.pos++
		v := &value{kind: array}
		p.skipSpace()
		if p.data[p.pos] == ']' {
			p.pos++
			return v
		}
		for {
			v.elems = append(v.elems, p.value())
			p.skipSpace()
			c := p.data[p.pos]
			p.pos++ // ',' or ']'
			if c == ']' {
				return v
			}
		}
	case '"':
		return &value{kind: scalar, raw: p.str()}
	default:
		start := p.pos
		for p.pos < len(p.data) {
			switch p.data[p.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return &value{kind: scalar, raw: p.data[start:p.pos:p.pos]}
			}
			p.pos++
		}
		return &value{kind: scalar, raw: p.data[start:p.pos:p.pos]}
	}
}

// str returns the quoted string starting at p.pos, quotes included.
func (p *parser) str() []byte {
	start := p.pos
	p.pos++ // opening quote
	for {
		switch p.data[p.pos] {
		case '\\':
			p.pos += 2
		case '"':
			p.pos++
			return p.data[start:p.pos:p.pos]
		default:
			p.pos++
		}
	}
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
