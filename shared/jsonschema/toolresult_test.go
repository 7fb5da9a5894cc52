package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSafeToolResultGolden pins the renaming of $-keys at any depth, with
// collisions, escaped keys and string values left alone.
func TestSafeToolResultGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/toolresult/*.input.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/toolresult: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			before := bytes.Clone(data)
			got, err := SafeToolResult(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, before) {
				t.Error("SafeToolResult modified its input")
			}
			checkGolden(t, filepath.Join("testdata/toolresult", name+".golden.json"), indent(t, got))
		})
	}
}

// TestSafeToolResult pins the naming scheme and the no-copy fast path.
func TestSafeToolResult(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"$ref":"#/a"}`, `{"ref_":"#/a"}`},
		{`{"$defs":{"$id":1}}`, `{"defs_":{"id_":1}}`},
		{`{"$":1,"$$x":2}`, `{"_":1,"x__":2}`},
		{`{"$ref":1,"ref_":2}`, `{"ref__":1,"ref_":2}`},
		{`{"ref_":2,"$ref":1,"ref__":3}`, `{"ref_":2,"ref___":1,"ref__":3}`},
		{`{"\u0024ref":1}`, `{"ref_":1}`},
		{`[{"$ref":1},"$ref",["$x"]]`, `[{"ref_":1},"$ref",["$x"]]`},
		{`{"a":"$ref","b":{"c":"\"$ref"}}`, `{"a":"$ref","b":{"c":"\"$ref"}}`},
		{`{"ref":"$5.00 <b>","$note":"<b>"}`, `{"ref":"$5.00 <b>","note_":"<b>"}`},
		{`{"n":1.50,"$n":1e3}`, `{"n":1.50,"n_":1e3}`},
		{`"just a $string"`, `"just a $string"`},
		{`42`, `42`},
	}
	for _, tt := range tests {
		got, err := SafeToolResult(json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("SafeToolResult(%s): %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("SafeToolResult(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}

	in := json.RawMessage(`{"price": "costs $5", "n": [1, 2]}`)
	got, err := SafeToolResult(in)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &in[0] {
		t.Error("no $-key: want the input returned without a copy")
	}

	for _, bad := range []string{``, `{`, `{"$ref":}`, `{"a":1} {}`} {
		_, err := SafeToolResult(json.RawMessage(bad))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("SafeToolResult(%q) = %v, want an *Error", bad, err)
		}
	}
}

// FuzzSafeToolResult pins that SafeToolResult never panics, returns valid
// JSON with no key starting with "$", and keeps every string value.
func FuzzSafeToolResult(f *testing.F) {
	f.Add([]byte(`{"$ref":"#/a","ref_":1,"s":"$x"}`))
	f.Add([]byte(`[{"\u0024defs":{"$":{}}}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := SafeToolResult(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("SafeToolResult(%q) = %q: not valid JSON", in, out)
		}
		v, _ := parse(out)
		var walk func(v *value)
		walk = func(v *value) {
			for _, m := range v.members {
				if strings.HasPrefix(m.key, "$") {
					t.Fatalf("SafeToolResult(%q) kept key %q", in, m.key)
				}
				walk(m.val)
			}
			for _, e := range v.elems {
				walk(e)
			}
		}
		walk(v)
	})
}

// BenchmarkSafeToolResult measures a 1 MiB tool result with $-keys (the slow
// path) and without (validation only).
func BenchmarkSafeToolResult(b *testing.B) {
	row := `{"id":12345,"name":"widget","tags":["a","b","c"],"price":9.99,"note":"costs $5"}`
	for _, c := range []struct{ name, row string }{
		{"with-dollar-keys", `{"$ref":"#/x",` + row[1:]},
		{"without", row},
	} {
		in := []byte("[" + strings.Repeat(c.row+",", 1<<20/len(c.row)) + c.row + "]")
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SafeToolResult(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
