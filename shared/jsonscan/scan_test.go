package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// scanCases are the table the fuzz target is seeded from: nesting, escapes in keys and strings
// (quotes, backslashes before quotes), white space everywhere, and broken text.
var scanCases = []struct {
	in      string
	members []string // key=value of each member, in order; nil when in is not a valid object
}{
	{`{}`, []string{}},
	{` { "a" : 1 , "b":[1,{"c":"]"}] } `, []string{`a=1`, `b=[1,{"c":"]"}]`}},
	{`{"k\u0065y":"v\"}","x\\":"\\"}`, []string{`key="v\"}"`, `x\="\\"`}},
	{`{"a":{"b":{"c":[[]]}},"d":null,"e":true,"f":-1.5e3}`, []string{`a={"b":{"c":[[]]}}`, `d=null`, `e=true`, `f=-1.5e3`}},
	{`{"a":"\\\"","b":"x"}`, []string{`a="\\\""`, `b="x"`}},
	{`{"dup":1,"dup":2}`, []string{`dup=1`, `dup=2`}},
	{`{"a":1,}`, nil},
	{`{"a" 1}`, nil},
	{`{"a":1`, nil},
	{`{"a":"unterminated}`, nil},
	{`{"a":[1,2}`, nil},
	{`{"a":{]}`, nil},
	{`[1,2]`, nil},
	{`{"a":1} x`, nil},
	{``, nil},
	{`{"a":}`, nil},
}

// TestObject pins member listing on valid objects and an error on broken ones.
func TestObject(t *testing.T) {
	for _, c := range scanCases {
		var got []string
		err := Object([]byte(c.in), func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
		if c.members == nil {
			if err == nil {
				t.Errorf("Object(%q) = nil error, want one", c.in)
			} else if !errors.Is(err, ErrSyntax) {
				t.Errorf("Object(%q) error %v is not ErrSyntax", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Object(%q): %v", c.in, err)
			continue
		}
		if got == nil {
			got = []string{}
		}
		if d := cmp.Diff(c.members, got); d != "" {
			t.Errorf("Object(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

// TestArrayAndLen pins element listing, counting with an early stop, and errors.
func TestArrayAndLen(t *testing.T) {
	var got []string
	if err := Array([]byte(` [ 1 ,"a,]", {"b":[2]} ,[] ] `), func(i int, v []byte) error {
		got = append(got, string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{`1`, `"a,]"`, `{"b":[2]}`, `[]`}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for in, want := range map[string]int{`[]`: 0, `[1]`: 1, `[1,2,3]`: 3, `[1,2,3,4,5]`: 4} {
		if n, err := Len([]byte(in), 3); err != nil || n != want {
			t.Errorf("Len(%s, 3) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{`[1,]`, `[,1]`, `[1 2]`, `{}`, `[`} {
		if _, err := Len([]byte(in), 10); err == nil {
			t.Errorf("Len(%s): no error", in)
		}
	}
}

// TestUnquote pins that strings decode as encoding/json decodes them, invalid UTF-8 included.
func TestUnquote(t *testing.T) {
	for _, in := range []string{`""`, `"abc"`, `"a\"b"`, `"\u00e9\n"`, "\"\xff\"", `"é"`, `"\ud83d\ude00"`} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got, err := Unquote([]byte(in)); err != nil || got != want {
			t.Errorf("Unquote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`"`, `abc`, "\"a\nb\"", `"\x"`} {
		if _, err := Unquote([]byte(in)); err == nil {
			t.Errorf("Unquote(%q): no error", in)
		}
	}
}

// FuzzScan pins the scanner's contract against encoding/json: it never panics; on any input
// that encoding/json accepts, Object lists exactly the members json decodes (the last of a
// duplicated key winning, as json does), SkipValue ends where the value ends, and Unquote agrees
// on every key and string value.
func FuzzScan(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]json.RawMessage
		jsonErr := json.Unmarshal(b, &want)
		got := map[string]json.RawMessage{}
		err := Object(b, func(k, v []byte) error {
			got[string(k)] = json.RawMessage(bytes.Clone(v))
			if Kind(v) == '"' {
				var ws string
				if json.Unmarshal(v, &ws) == nil {
					if gs, err := Unquote(v); err != nil || gs != ws {
						t.Fatalf("Unquote(%q) = %q, %v; json says %q", v, gs, err, ws)
					}
				}
			}
			return nil
		})
		_, _ = SkipValue(b, 0) // must not panic on any input
		if got, want := plain(b), plainReference(b); got != want {
			t.Fatalf("plain(%q) = %v, want %v", b, got, want)
		}
		if Kind(b) == '"' {
			end, err := SkipString(b, SkipSpace(b, 0))
			if wend, werr := skipStringReference(b, SkipSpace(b, 0)); end != wend || (err == nil) != (werr == nil) {
				t.Fatalf("SkipString(%q) = %d, %v; want %d, %v", b, end, err, wend, werr)
			}
		}
		if got, want := IsNull(b), string(bytes.TrimRight(b[SkipSpace(b, 0):], " \t\r\n")) == "null"; got != want {
			t.Fatalf("IsNull(%q) = %v, want %v", b, got, want)
		}
		_, _ = Len(b, 100)
		if jsonErr != nil || want == nil {
			return
		}
		if err != nil {
			t.Fatalf("Object failed on valid JSON %q: %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("Object found %d keys, json %d, in %q", len(got), len(want), b)
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("key %q: Object gave %s, json %s", k, got[k], v)
			}
		}
		end, err := SkipValue(b, 0)
		if err != nil || SkipSpace(b, end) != len(b) {
			t.Fatalf("SkipValue(%q) = %d, %v", b, end, err)
		}
	})
}

// TestSkipValueNesting pins SkipValue's bracket matching past the depth its stack holds without
// growing (256 levels): the end of a deep value is found, and a mismatched or missing bracket at
// any depth is an error.
func TestSkipValueNesting(t *testing.T) {
	for _, depth := range []int{1, 63, 64, 65, 255, 256, 257, 5000} {
		deep := strings.Repeat(`[{"a":`, depth) + `"x]}"` + strings.Repeat("}]", depth)
		if end, err := SkipValue([]byte(deep+" ,"), 0); err != nil || end != len(deep) {
			t.Errorf("depth %d: SkipValue = %d, %v; want %d", depth, end, err, len(deep))
		}
		for _, bad := range []string{
			strings.Repeat(`[{"a":`, depth) + "1" + strings.Repeat("]}", depth),
			strings.Repeat(`[{"a":`, depth) + "1" + strings.Repeat("}]", depth-1) + "}",
			strings.Repeat(`[{"a":`, depth) + "1}}" + strings.Repeat("]}", depth-1),
			strings.Repeat(`[{"a":`, depth) + "1" + strings.Repeat("}]", depth-1),
		} {
			if end, err := SkipValue([]byte(bad), 0); err == nil {
				t.Errorf("depth %d: SkipValue(%.40q…) = %d, no error", depth, bad, end)
			}
		}
	}
}

// TestIsNull pins IsNull: the literal null with white space around it, nothing else.
func TestIsNull(t *testing.T) {
	for in, want := range map[string]bool{
		"null": true, " \t\r\nnull \n": true, "nul": false, "nulll": false, "null x": false, "": false,
		"Null": false, `"null"`: false, "\fnull": false,
	} {
		if got := IsNull([]byte(in)); got != want {
			t.Errorf("IsNull(%q) = %v, want %v", in, got, want)
		}
	}
}

// plainReference is plain written out byte by byte.
func plainReference(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '\\' || c == '"' {
			return false
		}
	}
	return utf8.Valid(s)
}

// skipStringReference is SkipString without its eight-byte steps: the quote search alone.
func skipStringReference(b []byte, i int) (int, error) {
	start := i
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b), ErrSyntax
		}
		i += j
		n := 0
		for k := i - 1; k > start && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i, nil
		}
	}
}

// TestStringScans pins plain and SkipString, which read eight bytes at a time, to byte-by-byte
// versions on strings whose special byte falls at every position of a word.
func TestStringScans(t *testing.T) {
	for n := range 40 {
		for _, c := range []string{`"`, `\\`, `\"`, "\x01", "\xc3\xa9", "\xff", "\x7f", `\\"`} {
			s := []byte(`"` + strings.Repeat("a", n) + c + strings.Repeat("b", 40-n) + `"`)
			if got, want := plain(s[1:len(s)-1]), plainReference(s[1:len(s)-1]); got != want {
				t.Errorf("plain(%q) = %v, want %v", s, got, want)
			}
			end, err := SkipString(s, 0)
			wend, werr := skipStringReference(s, 0)
			if end != wend || (err == nil) != (werr == nil) {
				t.Errorf("SkipString(%q) = %d, %v; want %d, %v", s, end, err, wend, werr)
			}
		}
	}
}

// FuzzUnquote holds Unquote to encoding/json on every string literal: the same string, or an
// error where json refuses it.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{``, `a`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u00e9`, `\u00E9`, `\uD83D\uDE00`, `\uD83D`, `\uD83Dx`,
		`\uDE00\uD83D`, `\uD83D\u0041`, `\u12`, `\u12g4`, `\x`, `\'`, `\`, `a\`, "\xff", "\xed\xa0\x80", "\xc3\xa9\\n",
		"a\x01", `a"b`, `{\"city\":\"Paris\"}`, strings.Repeat(`\n`, 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		raw := append(append([]byte{'"'}, s...), '"')
		var want string
		werr := json.Unmarshal(raw, &want)
		got, err := Unquote(raw)
		if (err == nil) != (werr == nil) || got != want {
			t.Fatalf("Unquote(%q) = %q, %v; json: %q, %v", raw, got, err, want, werr)
		}
	})
}
