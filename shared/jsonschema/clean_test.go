package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const recording07 = "testdata/07-generateContent-responseJsonSchema-anyOf-additionalProperties-cachedTokens.mldev.recording.json"

// goldenCase is one input file and the golden file holding its expected output.
type goldenCase struct {
	name   string
	input  []byte
	golden string
}

// cleanCases lists testdata/clean/*.input.json plus the schema of the Gemini
// recording, which has no input file of its own: it is read from the request.
func cleanCases(t testing.TB) []goldenCase {
	t.Helper()
	inputs, err := filepath.Glob("testdata/clean/*.input.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/clean: %v", err)
	}
	var cases []goldenCase
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		cases = append(cases, goldenCase{name, data, filepath.Join("testdata/clean", name+".golden.json")})
	}
	return append(cases, goldenCase{"gemini-wire-07", recordedSchema(t), "testdata/clean/gemini-wire-07.golden.json"})
}

// recordedSchema extracts generationConfig.responseJsonSchema from the request
// of the recorded Gemini call, as a RawMessage so its key order survives.
func recordedSchema(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(recording07)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Interactions []struct {
			Request struct {
				BodySegments []struct {
					GenerationConfig struct {
						ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
					} `json:"generationConfig"`
				} `json:"bodySegments"`
			} `json:"request"`
		} `json:"interactions"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	s := rec.Interactions[0].Request.BodySegments[0].GenerationConfig.ResponseJSONSchema
	if len(s) == 0 {
		t.Fatal("recording has no responseJsonSchema")
	}
	return s
}

// indent makes golden files readable; it keeps key order and literals.
func indent(t testing.TB, compact []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, compact, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, compact)
	}
	return append(bytes.TrimRight(buf.Bytes(), " \t\r\n"), '\n')
}

// checkGolden compares got with the golden file, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestCleanGolden pins Clean's output on schemas as Pydantic, zod, MCP servers
// and the OpenAI SDKs produce them, and on the schema Gemini is recorded
// accepting.
func TestCleanGolden(t *testing.T) {
	for _, c := range cleanCases(t) {
		t.Run(c.name, func(t *testing.T) {
			before := bytes.Clone(c.input)
			got, err := Clean(c.input)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.input, before) {
				t.Error("Clean modified its input")
			}
			checkGolden(t, c.golden, indent(t, got))

			again, err := Clean(got)
			if err != nil {
				t.Fatalf("Clean of its own output: %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("Clean is not idempotent:\nonce:  %s\ntwice: %s", got, again)
			}
		})
	}
}

// TestCleanKeepsWhatGeminiAccepted pins that Clean removes nothing but
// $schema from a schema Gemini is recorded accepting, in the same order.
func TestCleanKeepsWhatGeminiAccepted(t *testing.T) {
	in := recordedSchema(t)
	got, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, in); err != nil {
		t.Fatal(err)
	}
	wantStr := strings.Replace(want.String(), `"$schema":"http://json-schema.org/draft-07/schema#",`, "", 1)
	if diff := cmp.Diff(wantStr, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// cleanErrorTests are schemas Clean refuses; they also seed FuzzClean.
var cleanErrorTests = []struct {
	name    string
	in      string
	pointer string
	msg     string // a part of the message
}{
	{"empty", ``, "", "not valid JSON"},
	{"invalid JSON", `{"type":`, "", "not valid JSON"},
	{"trailing garbage", `{} x`, "", "not valid JSON"},
	{"array", `[]`, "", "must be a JSON object"},
	{"string", `"object"`, "", "must be a JSON object"},
	{"boolean root", `true`, "", "must be a JSON object"},
	{"null", `null`, "", "must be a JSON object"},
	{"number", `42`, "", "must be a JSON object"},
	{"remote ref", `{"$ref":"https://example.com/s.json"}`, "/$ref", "only local references"},
	{"relative file ref", `{"properties":{"a":{"$ref":"other.json#/a"}}}`, "/properties/a/$ref", "only local references"},
	{"anchor ref", `{"properties":{"a":{"$ref":"#node"}},"$defs":{"n":{"$anchor":"node"}}}`, "/properties/a/$ref", "only local references"},
	{"empty ref", `{"$ref":""}`, "/$ref", "only local references"},
	{"non-string ref", `{"properties":{"a":{"$ref":1}}}`, "/properties/a/$ref", "must be a string"},
	{"dangling ref", `{"properties":{"a":{"$ref":"#/$defs/Missing"}},"$defs":{}}`, "/properties/a/$ref", `"#/$defs/Missing" does not point`},
	{"ref into dropped keyword", `{"patternProperties":{"^x":{"type":"string"}},"properties":{"a":{"$ref":"#/patternProperties/^x"}}}`, "/properties/a/$ref", "does not point"},
	{"ref to a string", `{"title":"t","properties":{"a":{"$ref":"#/title"}}}`, "/properties/a/$ref", "does not point"},
	{"ref with bad index", `{"anyOf":[{"type":"string"}],"properties":{"a":{"$ref":"#/anyOf/01"}}}`, "/properties/a/$ref", "does not point"},
	{"ref with bad escape", `{"properties":{"a":{"$ref":"#/%zz"}}}`, "/properties/a/$ref", "does not point"},
	{"wrapped ref dangling", `{"properties":{"a":{"allOf":[{"$ref":"#/definitions/X"}]}}}`, "/properties/a/allOf/0/$ref", "does not point"},
	{"properties not an object", `{"properties":[]}`, "/properties", "object of schemas"},
	{"anyOf not an array", `{"anyOf":{"type":"string"}}`, "/anyOf", "array of schemas"},
	{"schema is a string", `{"properties":{"a":"string"}}`, "/properties/a", "object or a boolean"},
	{"schema is null", `{"items":null}`, "/items", "object or a boolean"},
	{"escaped pointer", `{"properties":{"a/b":{"items":[1]}}}`, "/properties/a~1b/items/0", "object or a boolean"},
	{"too deep", nested(MaxDepth + 1), strings.Repeat("/properties/p", MaxDepth+1), "nested more than 64"},
}

// TestCleanErrors pins what Clean refuses and where it says the problem is.
func TestCleanErrors(t *testing.T) {
	for _, tt := range cleanErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Clean(json.RawMessage(tt.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Clean = %s, %v; want an *Error", got, err)
			}
			if e.Pointer != tt.pointer || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("error = {%q, %q}; want pointer %q and a message containing %q", e.Pointer, e.Msg, tt.pointer, tt.msg)
			}
		})
	}
}

// TestCleanDepthLimit pins that MaxDepth levels are fine and one more is not.
func TestCleanDepthLimit(t *testing.T) {
	if _, err := Clean(json.RawMessage(nested(MaxDepth))); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	if _, err := Clean(json.RawMessage(nested(MaxDepth + 1))); err == nil {
		t.Errorf("depth %d: no error", MaxDepth+1)
	}
}

// nested returns an object schema with n levels of nested properties below
// the root.
func nested(n int) string {
	return strings.Repeat(`{"type":"object","properties":{"p":`, n) + `{"type":"string"}` + strings.Repeat(`}}`, n)
}

// cleanRuleTests state each rewrite on a minimal schema; they also seed
// FuzzClean.
var cleanRuleTests = []struct{ name, in, want string }{
	{"ref siblings dropped", `{"$ref":"#","description":"d","title":"t","default":1,"$anchor":"a"}`, `{"$ref":"#","$anchor":"a"}`},
	{"single allOf ref collapses in place", `{"title":"t","allOf":[{"$ref":"#"}],"description":"d"}`, `{"$ref":"#"}`},
	{"allOf of two kept", `{"allOf":[{"type":"object"},{"required":["a"]}]}`, `{"allOf":[{"type":"object"},{"required":["a"]}]}`},
	{"definitions renamed and refs rewritten", `{"properties":{"a":{"$ref":"#/definitions/A"}},"definitions":{"A":{"type":"string"}}}`, `{"properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":"string"}}}`},
	{"definitions kept beside $defs", `{"properties":{"a":{"$ref":"#/definitions/A"}},"$defs":{},"definitions":{"A":{}}}`, `{"properties":{"a":{"$ref":"#/definitions/A"}},"$defs":{},"definitions":{"A":{}}}`},
	{"percent-encoded ref kept", `{"properties":{"a":{"$ref":"#/%24defs/A%20B"}},"$defs":{"A B":{}}}`, `{"properties":{"a":{"$ref":"#/%24defs/A%20B"}},"$defs":{"A B":{}}}`},
	{"exclusiveMinimum number", `{"type":"number","exclusiveMinimum":0.5}`, `{"type":"number","minimum":0.5}`},
	{"exclusiveMinimum integer", `{"type":"integer","exclusiveMinimum":0}`, `{"type":"integer","minimum":1}`},
	{"exclusiveMaximum integer", `{"type":["integer","null"],"exclusiveMaximum":10}`, `{"type":["integer","null"],"maximum":9}`},
	{"integer with non-integer bound", `{"type":"integer","exclusiveMinimum":1e2}`, `{"type":"integer","minimum":1e2}`},
	{"tighter exclusive wins", `{"minimum":1,"exclusiveMinimum":3}`, `{"minimum":3}`},
	{"tighter inclusive wins", `{"exclusiveMaximum":9,"maximum":3}`, `{"maximum":3}`},
	{"draft-04 boolean", `{"type":"integer","minimum":0,"exclusiveMinimum":true}`, `{"type":"integer","minimum":1}`},
	{"draft-04 false", `{"maximum":7,"exclusiveMaximum":false}`, `{"maximum":7}`},
	{"garbage exclusive dropped", `{"exclusiveMinimum":"x"}`, `{}`},
	{"int64 overflow left alone", `{"type":"integer","exclusiveMaximum":-9223372036854775808}`, `{"type":"integer","maximum":-9223372036854775808}`},
	{"format kept", `{"type":"string","format":"date-time"}`, `{"type":"string","format":"date-time"}`},
	{"format dropped", `{"type":"string","format":"email"}`, `{"type":"string"}`},
	{"const string", `{"const":"a"}`, `{"enum":["a"]}`},
	{"const with enum", `{"const":"a","enum":["a"]}`, `{"enum":["a"]}`},
	{"const object kept", `{"const":{"a":1}}`, `{"const":{"a":1}}`},
	{"enum values untouched", `{"enum":[{"$schema":"x","format":"email"}]}`, `{"enum":[{"$schema":"x","format":"email"}]}`},
	{"default untouched", `{"default":{"if":1,"$ref":"https://x"}}`, `{"default":{"if":1,"$ref":"https://x"}}`},
	{"unknown keywords kept", `{"x-order":1,"nullable":true,"strict":true}`, `{"x-order":1,"nullable":true,"strict":true}`},
	{"tuple items", `{"items":[{"type":"string","format":"uri"},true]}`, `{"items":[{"type":"string"},true]}`},
	{"whitespace compacted", "{ \"type\" :\n \"object\" }", `{"type":"object"}`},
	{"empty", `{}`, `{}`},
}

// TestCleanRules pins each rewrite on a minimal schema, so a golden diff is
// not the only place a rule is stated.
func TestCleanRules(t *testing.T) {
	for _, tt := range cleanRuleTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Clean(json.RawMessage(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Clean(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzClean pins that Clean never panics, never modifies its input, and
// returns valid JSON that it leaves unchanged on a second pass, or an *Error.
func FuzzClean(f *testing.F) {
	for _, c := range cleanCases(f) {
		f.Add(c.input)
	}
	for _, tt := range cleanRuleTests {
		f.Add([]byte(tt.in))
	}
	for _, tt := range cleanErrorTests {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(`{"$ref":"#/definitions/a/definitions/b","definitions":{"a":{"definitions":{"b":{}}}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		before := bytes.Clone(in)
		out, err := Clean(in)
		if !bytes.Equal(in, before) {
			t.Fatal("Clean modified its input")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Clean(%q) = %q: not valid JSON", in, out)
		}
		again, err := Clean(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent on %q:\nonce:  %s\ntwice: %s (%v)", in, out, again, err)
		}
	})
}

// BenchmarkClean measures the Pydantic schema, a typical structured-output
// request.
func BenchmarkClean(b *testing.B) {
	in, err := os.ReadFile("testdata/clean/pydantic-v2.input.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Clean(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCleanLarge measures a 200-tool-sized schema: many properties with
// long enums and descriptions.
func BenchmarkCleanLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"object","properties":{`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"p` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `_` + strings.Repeat("y", i%3) + string(rune('0'+i%10)) + `":{"type":"string","description":"` +
			strings.Repeat("lorem ipsum ", 20) + `","format":"email","enum":["a","b","c","d","e","f","g","h"]}`)
	}
	sb.WriteString(`},"additionalProperties":false,"$schema":"https://json-schema.org/draft/2020-12/schema"}`)
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Clean(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCleanManyRefs measures 20,000 properties that all $ref one of
// their siblings: reference checking must stay linear (it once was
// quadratic: 10 s for 2 MB).
func BenchmarkCleanManyRefs(b *testing.B) {
	const n = 20000
	var sb strings.Builder
	sb.WriteString(`{"properties":{`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"p%d":{"$ref":"#/properties/p%d"}`, i, n-1)
	}
	sb.WriteString(`}}`)
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Clean(in); err != nil {
			b.Fatal(err)
		}
	}
}
