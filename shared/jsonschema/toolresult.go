package jsonschema

import (
	"bytes"
	"encoding/json"
	"strings"
)

// SafeToolResult returns raw with every object key that starts with "$"
// renamed, at any depth, so that Gemini does not read a tool's output as a
// schema: it interprets "$ref"/"$defs" keys inside functionResponse.response
// and answers 400 (vercel/ai#14369). String values, numbers and key order are
// left exactly as written.
//
// The renaming moves the leading dollar signs to the end as underscores:
// "$ref" -> "ref_", "$defs" -> "defs_", "$schema" -> "schema_", "$" -> "_",
// "$$x" -> "x__". If that name is already taken in the same object, further
// underscores are added until it is free ("ref_" taken -> "ref__"). The model
// still reads the name; nothing downstream needs to reverse it.
//
// When no key can start with "$" (no `"$` or `"\u0024` in raw), raw itself is
// returned after validation, without a copy. Invalid JSON is an *Error.
func SafeToolResult(raw json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte(`"$`)) && !bytes.Contains(raw, []byte(`"\u0024`)) {
		if !json.Valid(raw) {
			return nil, &Error{Msg: "tool result is not valid JSON"}
		}
		return raw, nil
	}
	v, err := parse(raw)
	if err != nil {
		return nil, &Error{Msg: "tool result is not valid JSON"}
	}
	renameDollarKeys(v)
	return v.appendTo(make([]byte, 0, len(raw)+16)), nil
}

// renameDollarKeys renames, in place, the $-keys of the tree (our own parse,
// never the caller's bytes).
func renameDollarKeys(v *value) {
	switch v.kind {
	case array:
		for _, e := range v.elems {
			renameDollarKeys(e)
		}
	case object:
		var taken map[string]bool
		for i := range v.members {
			m := &v.members[i]
			renameDollarKeys(m.val)
			if !strings.HasPrefix(m.key, "$") {
				continue
			}
			if taken == nil {
				taken = make(map[string]bool, len(v.members))
				for _, o := range v.members {
					taken[o.key] = true
				}
			}
			name := strings.TrimLeft(m.key, "$")
			name += strings.Repeat("_", len(m.key)-len(name))
			for taken[name] {
				name += "_"
			}
			taken[name] = true
			m.key = name
			m.rawKey = quote(name)
		}
	}
}
