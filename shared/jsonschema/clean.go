// Package jsonschema makes the JSON Schemas that OpenAI clients send
// (response_format.json_schema.schema, tools[].function.parameters)
// acceptable to Gemini's responseJsonSchema and parametersJsonSchema, and
// makes tool results safe to send as functionResponse.response.
//
// Gemini accepts a subset of JSON Schema. Its API reference
// (GenerationConfig.responseJsonSchema, read 2026-11) lists: $id, $defs,
// $ref, $anchor, type, format, title, description, enum (strings and
// numbers), items, prefixItems, minItems, maxItems, minimum, maximum, anyOf,
// oneOf (as anyOf), properties, additionalProperties, required, and the
// non-standard propertyOrdering; "if $ref is set on a sub-schema, no other
// properties, except for those starting as a $, may be set". The structured
// output guide (ai.google.dev/gemini-api/docs/structured-output, "JSON schema
// support") adds type arrays with "null", names date-time, date and time as
// the string formats, says minimum/maximum are inclusive, and that "the model
// ignores unsupported properties". In practice some unsupported keywords are
// rejected with a 400 rather than ignored (see the research notes, pain point
// 7), so Clean removes a short deny-list of them and rewrites the few that
// have a supported equivalent; everything else passes through untouched.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxDepth is the deepest nesting of subschemas Clean accepts. Gemini rejects
// "deeply nested schemas" without naming a number; 64 is far beyond what
// generated schemas use and bounds the work a request can cause.
const MaxDepth = 64

// Error reports why a schema cannot be sent to Gemini. It is always the
// client's mistake (HTTP 400).
type Error struct {
	// Pointer is the RFC 6901 JSON pointer of the offending place in the input
	// schema; "" is the root.
	Pointer string
	Msg     string
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return "json schema: " + e.Msg
	}
	return "json schema at " + e.Pointer + ": " + e.Msg
}

// dropped lists keywords Gemini does not support and that clients commonly
// send; they are removed wherever a schema keyword can appear (never from
// inside properties, where they would be property names).
var dropped = map[string]bool{
	"$schema":               true,
	"$id":                   true, // also changes the base of "#/..." refs below it; refs here resolve from the root
	"$comment":              true,
	"$vocabulary":           true,
	"$dynamicRef":           true,
	"$dynamicAnchor":        true,
	"$recursiveRef":         true,
	"$recursiveAnchor":      true,
	"propertyNames":         true, // MCP tool schemas (record types)
	"patternProperties":     true, // rejected by Vertex
	"unevaluatedProperties": true,
	"unevaluatedItems":      true,
	"dependentRequired":     true,
	"dependentSchemas":      true,
	"dependencies":          true, // draft-07's name for the two above
	"if":                    true,
	"then":                  true,
	"else":                  true,
	"contentEncoding":       true,
	"contentMediaType":      true,
	"contentSchema":         true,
	"examples":              true,
}

// supportedFormats are the format values Gemini documents: date-time, date
// and time for strings (structured output guide), int32/int64 and
// float/double for numbers, and enum (Schema.format in the API reference).
// Others (email, uuid, uri, …) are dropped: the model ignores them at best.
var supportedFormats = map[string]bool{
	"date-time": true,
	"date":      true,
	"time":      true,
	"int32":     true,
	"int64":     true,
	"float":     true,
	"double":    true,
	"enum":      true,
}

// Clean returns a copy of schema that Gemini accepts as responseJsonSchema or
// parametersJsonSchema. It never modifies schema. Key order and number and
// string literals are kept as written (Gemini emits properties in schema
// order); whitespace is not: the result is compact.
//
// Rules, applied wherever a subschema can appear:
//   - the keywords in the deny-list above are removed;
//   - a $ref keeps only its $-prefixed siblings ($defs, $anchor); description,
//     title, default and the rest are dropped, as Gemini requires. A
//     single-element allOf wrapping a $ref (Pydantic v1, older zod) becomes
//     that $ref;
//   - definitions becomes $defs (unless both are present), and every $ref into
//     it is rewritten to match;
//   - exclusiveMinimum/exclusiveMaximum become minimum/maximum (see bound);
//   - format values Gemini does not support are removed;
//   - const becomes a one-value enum when it is a string or number and there
//     is no enum.
//
// Clean returns an *Error when schema is not a JSON object, nests subschemas
// more than MaxDepth deep, has a $ref that is not a local "#/..." pointer, or
// has a $ref whose target does not exist after cleaning.
func Clean(schema json.RawMessage) (json.RawMessage, error) {
	root, err := parse(schema)
	if err != nil {
		return nil, &Error{Msg: "schema is not valid JSON"}
	}
	if root.kind != object {
		return nil, &Error{Msg: "schema must be a JSON object"}
	}
	c := cleaner{renamed: make(map[string]bool)}
	out, err := c.schema(root, "", 0)
	if err != nil {
		return nil, err
	}
	if err := c.checkRefs(out); err != nil {
		return nil, err
	}
	return out.appendTo(make([]byte, 0, len(schema))), nil
}

type cleaner struct {
	// renamed holds the input pointers of the schemas whose definitions
	// member became $defs.
	renamed map[string]bool
	refs    []refSite
}

// refSite is one $ref in the output, to be rewritten and checked once the
// whole tree is built.
type refSite struct {
	at     string // input pointer of the $ref member, for errors
	target string // the reference, as written
	val    *value // the output's string node (a fresh node, never the input's)
}

func (c *cleaner) schema(v *value, ptr string, depth int) (*value, error) {
	if depth > MaxDepth {
		return nil, &Error{Pointer: ptr, Msg: fmt.Sprintf("schema is nested more than %d levels deep", MaxDepth)}
	}
	if v.kind != object {
		if v.isBool() {
			return v, nil // true / false schemas
		}
		return nil, &Error{Pointer: ptr, Msg: "a schema must be an object or a boolean"}
	}
	if ref := singleRefAllOf(v); ref != nil {
		// {"allOf":[{"$ref":X}], "description":…} means {"$ref":X}.
		return c.ref(v, ref, ptr+"/allOf/0", ptr, depth)
	}
	if ref := v.get("$ref"); ref != nil {
		return c.ref(v, ref, ptr, ptr, depth)
	}

	isInt := integerOnly(v.get("type"))
	hasEnum := v.has("enum")
	out := &value{kind: object, members: make([]member, 0, len(v.members))}
	var lowerDone, upperDone bool
	for _, m := range v.members {
		// The pointer is built only where a subschema is entered: most
		// members are scalars that need none.
		mptr := func() string { return ptr + "/" + escape(m.key) }
		var (
			nv  *value
			err error
		)
		switch m.key {
		case "properties", "$defs":
			nv, err = c.schemaMap(m.val, mptr(), depth)
		case "definitions":
			if nv, err = c.schemaMap(m.val, mptr(), depth); err == nil && !v.has("$defs") {
				c.renamed[ptr] = true
				out.members = append(out.members, member{rawKey: []byte(`"$defs"`), key: "$defs", val: nv})
				continue
			}
		case "items":
			if m.val.kind == array { // draft-04 tuple form
				nv, err = c.schemaList(m.val, mptr(), depth)
			} else {
				nv, err = c.schema(m.val, mptr(), depth+1)
			}
		case "anyOf", "oneOf", "allOf", "prefixItems":
			nv, err = c.schemaList(m.val, mptr(), depth)
		case "additionalProperties", "additionalItems", "not", "contains":
			nv, err = c.schema(m.val, mptr(), depth+1)
		case "minimum", "exclusiveMinimum":
			if lowerDone {
				continue
			}
			lowerDone = true
			if b := bound(v.get("minimum"), v.get("exclusiveMinimum"), isInt, +1); b != nil {
				out.members = append(out.members, member{rawKey: []byte(`"minimum"`), key: "minimum", val: b})
			}
			continue
		case "maximum", "exclusiveMaximum":
			if upperDone {
				continue
			}
			upperDone = true
			if b := bound(v.get("maximum"), v.get("exclusiveMaximum"), isInt, -1); b != nil {
				out.members = append(out.members, member{rawKey: []byte(`"maximum"`), key: "maximum", val: b})
			}
			continue
		case "format":
			if f, ok := m.val.str(); !ok || !supportedFormats[f] {
				continue
			}
			nv = m.val
		case "const":
			if hasEnum {
				continue // enum already says it
			}
			if _, isStr := m.val.str(); isStr || m.val.isNumber() {
				enum := &value{kind: array, elems: []*value{m.val}}
				out.members = append(out.members, member{rawKey: []byte(`"enum"`), key: "enum", val: enum})
				continue
			}
			nv = m.val
		default:
			if dropped[m.key] {
				continue
			}
			nv = m.val // enum, default, required, title, …: data, not schemas
		}
		if err != nil {
			return nil, err
		}
		out.members = append(out.members, member{rawKey: m.rawKey, key: m.key, val: nv})
	}
	return out, nil
}

// ref cleans a schema that is a reference: only $ref and its $-prefixed
// siblings survive, in their input order, because Gemini rejects anything
// else next to $ref. ref is the $ref value, at refPtr; v is the schema at ptr
// holding it, either directly or (Pydantic v1) as a single-element allOf,
// whose place the $ref then takes.
func (c *cleaner) ref(v, ref *value, refPtr, ptr string, depth int) (*value, error) {
	target, ok := ref.str()
	if !ok {
		return nil, &Error{Pointer: refPtr + "/$ref", Msg: "$ref must be a string"}
	}
	if target != "#" && !strings.HasPrefix(target, "#/") {
		return nil, &Error{Pointer: refPtr + "/$ref", Msg: fmt.Sprintf("$ref %q is not supported: only local references (\"#/...\") are", target)}
	}
	refVal := &value{kind: scalar, raw: ref.raw}
	c.refs = append(c.refs, refSite{at: refPtr + "/$ref", target: target, val: refVal})
	wrapped := !v.has("$ref") // the $ref came from allOf
	out := &value{kind: object}
	for _, m := range v.members {
		switch {
		case m.key == "$ref" || (wrapped && m.key == "allOf"):
			out.members = append(out.members, member{rawKey: []byte(`"$ref"`), key: "$ref", val: refVal})
		case m.key == "$defs":
			nv, err := c.schemaMap(m.val, ptr+"/$defs", depth)
			if err != nil {
				return nil, err
			}
			out.members = append(out.members, member{rawKey: m.rawKey, key: m.key, val: nv})
		case m.key == "definitions":
			// A root {"$ref":…, "definitions":…} (zod-to-json-schema with a
			// name) keeps its definitions, as $defs, since only $-prefixed
			// siblings are allowed.
			nv, err := c.schemaMap(m.val, ptr+"/definitions", depth)
			if err != nil {
				return nil, err
			}
			key := "definitions"
			if !v.has("$defs") {
				key = "$defs"
				c.renamed[ptr] = true
			}
			out.members = append(out.members, member{rawKey: quote(key), key: key, val: nv})
		case dropped[m.key] || !strings.HasPrefix(m.key, "$"):
			// May not accompany $ref.
		default:
			out.members = append(out.members, m) // $anchor and other $-keywords
		}
	}
	return out, nil
}

// schemaMap cleans an object whose members are all schemas (properties, $defs).
func (c *cleaner) schemaMap(v *value, ptr string, depth int) (*value, error) {
	if v.kind != object {
		return nil, &Error{Pointer: ptr, Msg: "must be an object of schemas"}
	}
	out := &value{kind: object, members: make([]member, len(v.members))}
	for i, m := range v.members {
		nv, err := c.schema(m.val, ptr+"/"+escape(m.key), depth+1)
		if err != nil {
			return nil, err
		}
		out.members[i] = member{rawKey: m.rawKey, key: m.key, val: nv}
	}
	return out, nil
}

// schemaList cleans an array of schemas (anyOf, prefixItems, …).
func (c *cleaner) schemaList(v *value, ptr string, depth int) (*value, error) {
	if v.kind != array {
		return nil, &Error{Pointer: ptr, Msg: "must be an array of schemas"}
	}
	out := &value{kind: array, elems: make([]*value, len(v.elems))}
	for i, e := range v.elems {
		nv, err := c.schema(e, ptr+"/"+strconv.Itoa(i), depth+1)
		if err != nil {
			return nil, err
		}
		out.elems[i] = nv
	}
	return out, nil
}

// singleRefAllOf returns the $ref value of v's allOf when that allOf is
// exactly one schema holding only a $ref, and v has no $ref of its own.
func singleRefAllOf(v *value) *value {
	all := v.get("allOf")
	if all == nil || all.kind != array || len(all.elems) != 1 || v.has("$ref") {
		return nil
	}
	e := all.elems[0]
	if e.kind != object || len(e.members) != 1 || e.members[0].key != "$ref" {
		return nil
	}
	return e.members[0].val
}

// bound merges an inclusive bound (minimum or maximum) and its exclusive
// counterpart into the one inclusive bound Gemini supports, or returns nil
// when there is none. step is +1 for a lower bound and -1 for an upper one.
//
// Gemini's minimum and maximum are inclusive, so an exclusive bound x becomes
// the inclusive bound x: the schema admits x itself, a slight widening that
// the alternative (dropping the bound) would make far worse. For integer-only
// schemas with an integer literal the conversion is exact: exclusiveMinimum 0
// becomes minimum 1 (zod's .int().positive()). Both the number form (draft 6
// and later) and the boolean form (draft 4, modifying minimum) are handled;
// when both an inclusive and an exclusive number are given, the tighter wins.
func bound(inc, exc *value, isInt bool, step int64) *value {
	switch {
	case exc == nil:
		return inc
	case exc.isBool():
		if inc != nil && inc.isNumber() && string(exc.raw) == "true" {
			return tighten(inc, isInt, step)
		}
		return inc
	case exc.isNumber():
		if inc == nil || !inc.isNumber() {
			return tighten(exc, isInt, step)
		}
		e, _ := strconv.ParseFloat(string(exc.raw), 64)
		i, _ := strconv.ParseFloat(string(inc.raw), 64)
		if (step > 0 && e >= i) || (step < 0 && e <= i) {
			return tighten(exc, isInt, step)
		}
		return inc
	}
	return inc // an exclusive bound that is neither number nor boolean is dropped
}

// tighten turns the exclusive bound n into an inclusive one: n+step when the
// schema is integer-only and n an integer literal, else n itself.
func tighten(n *value, isInt bool, step int64) *value {
	if !isInt {
		return n
	}
	i, err := strconv.ParseInt(string(n.raw), 10, 64)
	if err != nil || (step > 0 && i == 1<<63-1) || (step < 0 && i == -1<<63) {
		return n
	}
	return &value{kind: scalar, raw: strconv.AppendInt(nil, i+step, 10)}
}

// integerOnly reports whether a type keyword admits integers but not other
// numbers: "integer", or an array with "integer" and without "number".
func integerOnly(t *value) bool {
	if t == nil {
		return false
	}
	if s, ok := t.str(); ok {
		return s == "integer"
	}
	if t.kind != array {
		return false
	}
	hasInt := false
	for _, e := range t.elems {
		switch s, _ := e.str(); s {
		case "number":
			return false
		case "integer":
			hasInt = true
		}
	}
	return hasInt
}

// checkRefs rewrites each $ref into a renamed definitions to point at $defs,
// then checks that it resolves in the cleaned schema, so a dangling reference
// is the client's 400 with a pointer rather than an opaque one from Gemini.
func (c *cleaner) checkRefs(root *value) error {
	r := resolver{root: root}
	for _, site := range c.refs {
		target := site.target
		if rewritten, changed := c.rewrite(target); changed {
			target = rewritten
			site.val.raw = quote(rewritten)
		}
		if !r.resolves(target) {
			return &Error{Pointer: site.at, Msg: fmt.Sprintf("$ref %q does not point at a schema in this document", site.target)}
		}
	}
	return nil
}

// rewrite replaces each "definitions" segment of the pointer target that
// names a renamed definitions member with "$defs".
func (c *cleaner) rewrite(target string) (string, bool) {
	if len(c.renamed) == 0 || target == "#" {
		return target, false
	}
	raw := strings.Split(target[2:], "/")
	prefix := ""
	changed := false
	for i, seg := range raw {
		dec, ok := decodeSegment(seg)
		if !ok {
			return target, false
		}
		if dec == "definitions" && c.renamed[prefix] {
			raw[i] = "$defs"
			changed = true
		}
		prefix += "/" + escape(dec) // renamed holds input pointers: keep "definitions" here
	}
	if !changed {
		return target, false
	}
	return "#/" + strings.Join(raw, "/"), true
}

// resolver resolves JSON pointers in the cleaned tree. It indexes the keys
// of each object it walks through once, so that many $refs into one large
// object cost linear, not quadratic, time.
type resolver struct {
	root  *value
	index map[*value]map[string]*value
}

// resolves reports whether the "#..." pointer target names an object or a
// boolean.
func (r *resolver) resolves(target string) bool {
	v := r.root
	if target != "#" {
		for seg := range strings.SplitSeq(target[2:], "/") {
			dec, ok := decodeSegment(seg)
			if !ok {
				return false
			}
			switch v.kind {
			case object:
				v = r.member(v, dec)
			case array:
				i, err := strconv.Atoi(dec)
				if err != nil || i < 0 || i >= len(v.elems) || strconv.Itoa(i) != dec {
					return false
				}
				v = v.elems[i]
			default:
				return false
			}
			if v == nil {
				return false
			}
		}
	}
	return v.kind == object || v.isBool()
}

// member returns v's member named key (the first, if repeated), or nil.
func (r *resolver) member(v *value, key string) *value {
	if len(v.members) <= 8 {
		return v.get(key)
	}
	if r.index == nil {
		r.index = make(map[*value]map[string]*value)
	}
	idx, ok := r.index[v]
	if !ok {
		idx = make(map[string]*value, len(v.members))
		for i := len(v.members) - 1; i >= 0; i-- {
			idx[v.members[i].key] = v.members[i].val
		}
		r.index[v] = idx
	}
	return idx[key]
}

// decodeSegment decodes one segment of a pointer in a URI fragment:
// percent-decoding (RFC 3986), then ~1 and ~0 (RFC 6901).
func decodeSegment(seg string) (string, bool) {
	if strings.IndexByte(seg, '%') >= 0 {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return "", false
		}
		seg = s
	}
	if strings.IndexByte(seg, '~') >= 0 {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
	}
	return seg, true
}

// escape encodes a key as a JSON pointer segment (RFC 6901).
func escape(key string) string {
	if strings.ContainsAny(key, "~/") {
		return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
	}
	return key
}
