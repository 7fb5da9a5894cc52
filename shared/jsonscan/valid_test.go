package jsonscan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validCases cover every branch of the grammar, each accepted and refused, with encoding/json's
// answer as the expected one (the test asks it, so a case cannot be mislabelled).
var validCases = []string{
	// top level and white space
	``, ` `, `1`, ` 1 `, "\t\r\n1\t\r\n", "\f1", "\v1", "\u00a01", `1 2`, `1,`, `{} {}`, `{}x`, `[]]`,
	// literals
	`true`, `false`, `null`, `tru`, `nul`, `fals`, `True`, `nulll`, `truex`, `[true,false,null]`, `[truefalse]`, `t`, `n`, `f`,
	// numbers
	`0`, `-0`, `-`, `--1`, `+1`, `01`, `-01`, `00`, `10`, `1.`, `1.5`, `.5`, `1.e5`, `1e`, `1e+`, `1e-`, `1e5`,
	`1E+5`, `1e-05`, `-1.25e+10`, `1.5.5`, `1e5e5`, `0x10`, `1_000`, `123456789012345678901234567890`, `[1,-2.5,3e3]`, `[1 2]`,
	`{"a":-}`, `{"a":1.}`, `[0.]`, `[-]`,
	// strings
	`""`, `"a"`, `"`, `"abc`, `"\"`, `"\\"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041"`, `"\u00e9\uD83D\uDE00"`, `"\uD800"`,
	`"\u12"`, `"\u12g4"`, `"\uABCD"`, `"\uabcd"`, `"\x"`, `"\a"`, `"\'"`, `"\U0041"`, "\"a\x00b\"", "\"a\nb\"", "\"\x1f\"",
	"\"\x7f\"", "\"\xff\xfe\"", "\"\xc3\xa9\"", "\"\xed\xa0\x80\"", `"0123456789abcdef\"0123"`, `"01234567\\"`,
	`"0123456789abcdef0123456789abcdef"`, "\"01234567\x01\"", `"01234567\u00e9x"`, `"0123456\`, `"01234567"x`,
	`'a'`,
	// objects
	`{}`, `{ }`, `{`, `}`, `{"a":1}`, `{"a" : 1 , "b" : [ ] }`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{"a":1,}`,
	`{,"a":1}`, `{"a":1 "b":2}`, `{"a":1]`, `{"a":{"b":{"c":[]}}}`, `{1:2}`, `{"a":1,"a":2}`, `{"a":1,`, `{"a":`,
	`{"a"`, `{"\u0061":1}`, `{"a\x":1}`, `{"a":1}}`, `{"a":[}`, `{"":""}`,
	// arrays
	`[]`, `[ ]`, `[`, `]`, `[1,]`, `[,1]`, `[1,,2]`, `[[[]]]`, `[[]`, `[]]`, `[{}]`, `[{]`, `[{"a":[1,{"b":null}]}]`, `[}`,
	`[1`, `[1,`, `["a",{"b":"c"},["d"]]`,
}

// TestValidCases pins Valid to encoding/json.Valid on inputs that reach every branch.
func TestValidCases(t *testing.T) {
	for _, in := range validCases {
		if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%q) = %v, json.Valid says %v", in, got, want)
		}
	}
}

// TestValidDepth pins the nesting limit encoding/json applies (10,000 levels): accepted up to it,
// refused past it, for arrays, objects and a mix, including a deep but unbalanced input; and no
// stack overflow far past it.
func TestValidDepth(t *testing.T) {
	for _, depth := range []int{255, 256, 257, 9999, 10000, 10001, 1_000_000} {
		arrays := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		objects := strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
		mixed := strings.Repeat(`[{"a":`, depth/2) + strings.Repeat("}]", depth/2)
		for _, in := range []string{arrays, objects, mixed, arrays[:len(arrays)-1], mixed + "]"} {
			if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
				t.Errorf("depth %d, %d bytes: Valid = %v, json.Valid says %v", depth, len(in), got, want)
			}
		}
	}
	if !Valid([]byte(strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth))) {
		t.Errorf("Valid refuses %d levels", maxDepth)
	}
	if Valid([]byte(strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1))) {
		t.Errorf("Valid accepts %d levels", maxDepth+1)
	}
}

// validSamples are recorded Gemini and OpenAI bodies (testdata/SOURCES.md).
var validSamples = []string{
	"04-generateContent-functionCall-thoughtSignature.mldev.recording.json",
	"07-generateContent-responseJsonSchema-anyOf-additionalProperties-cachedTokens.mldev.recording.json",
	"08-streamGenerateContent-cachedContentTokenCount-toolUsePromptTokenCount.mldev.recording.json",
	"10-generateContent-nonstream.vertex.recording.json",
	"13-error-429-RESOURCE_EXHAUSTED-QuotaFailure-RetryInfo.mldev.adapted.json",
	"openai-node-chat-bodies.json",
}

// TestValidSamples checks Valid against encoding/json on recorded Gemini and OpenAI bodies
// (testdata/SOURCES.md), on prefixes of each, and with bytes replaced by a few that break or
// change the grammar, at 128 positions spread over each body (each check reads the whole body;
// FuzzValid mutates the same bodies further).
func TestValidSamples(t *testing.T) {
	for _, file := range validSamples {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if !Valid(b) {
			t.Errorf("%s: Valid refuses a recorded body", file)
		}
		stride := 1 + len(b)/128
		for n := 0; n < len(b); n += stride {
			if got, want := Valid(b[:n]), json.Valid(b[:n]); got != want {
				t.Fatalf("%s[:%d]: Valid = %v, json.Valid says %v", file, n, got, want)
			}
		}
		c := make([]byte, len(b))
		for i := 0; i < len(b); i += stride {
			for _, r := range []byte{'"', '\\', ',', '}', ']', 0x01, 'x', '0', ' '} {
				copy(c, b)
				c[i] = r
				if got, want := Valid(c), json.Valid(c); got != want {
					t.Fatalf("%s with byte %d = %q: Valid = %v, json.Valid says %v", file, i, r, got, want)
				}
			}
		}
	}
}

// FuzzValid holds Valid to encoding/json.Valid on every input.
func FuzzValid(f *testing.F) {
	for _, in := range validCases {
		f.Add([]byte(in))
	}
	for _, c := range scanCases {
		f.Add([]byte(c.in))
	}
	f.Add([]byte(strings.Repeat("[", 300) + strings.Repeat("]", 300)))
	for _, file := range validSamples {
		if b, err := os.ReadFile(filepath.Join("testdata", file)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// FuzzValidAt holds ValidAt and ValidString to encoding/json.Valid: the value ValidAt finds at
// the start of the input is valid JSON, and the input is valid JSON only when ValidAt finds a
// value that spans it (white space after it aside); the nesting limit counts the open levels;
// ValidString finds the same end, and a string it calls plain unquotes to its bytes as they are.
func FuzzValidAt(f *testing.F) {
	for _, in := range validCases {
		f.Add([]byte(in), uint16(0))
	}
	for _, c := range scanCases {
		f.Add([]byte(c.in), uint16(1))
	}
	f.Add([]byte(`"plain"`), uint16(3))
	f.Add([]byte(`"caf\u00e9 \"x\""`), uint16(3))
	f.Add([]byte("\"caf\xc3\xa9\""), uint16(3))
	f.Add([]byte(strings.Repeat("[", 300)+strings.Repeat("]", 300)), uint16(maxDepth-300))
	f.Add([]byte(strings.Repeat("[", 300)+strings.Repeat("]", 300)), uint16(maxDepth-299))
	f.Fuzz(func(t *testing.T, b []byte, open uint16) {
		n := int(open) % (maxDepth + 1)
		start := SkipSpace(b, 0)
		end := ValidAt(b, start, n)
		// v as the second element of the innermost of n arrays (an empty v is then refused)
		wrapped := func(v []byte) bool {
			if n == 0 {
				return json.Valid(v)
			}
			return json.Valid([]byte(strings.Repeat("[", n) + "0," + string(v) + strings.Repeat("]", n)))
		}
		if end < 0 {
			if wrapped(b) {
				t.Fatalf("ValidAt(%q, %d) = -1, json.Valid takes it", b, n)
			}
		} else {
			if !wrapped(b[:end]) {
				t.Fatalf("ValidAt(%q, %d) = %d, json.Valid refuses %q", b, n, end, b[:end])
			}
			if got, want := SkipSpace(b, end) == len(b), json.Valid(b); n == 0 && got != want {
				t.Fatalf("ValidAt(%q, %d) = %d: spans the input %v, json.Valid says %v", b, n, end, got, want)
			}
		}
		if start < len(b) && b[start] == '"' {
			send, plain := ValidString(b, start)
			if send != end {
				t.Fatalf("ValidString(%q) = %d, ValidAt says %d", b, send, end)
			}
			if send >= 0 && PlainString(b[start:send]) != plain {
				t.Fatalf("ValidString(%q) says plain %v, PlainString %v", b, plain, !plain)
			}
			if plain {
				s, err := Unquote(b[start:send])
				if err != nil || s != string(b[start+1:send-1]) {
					t.Fatalf("ValidString(%q) says plain, Unquote = %q, %v", b, s, err)
				}
			}
		}
	})
}

func BenchmarkValid(b *testing.B) {
	body := []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`)
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsonscan", Valid}, {"encoding-json", json.Valid}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !v.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
