package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEmbeddingInputUnion pins the "input" union: a string or strings decode, token-id arrays
// in either shape are api_not_implemented naming input, anything else is invalid_request.
func TestEmbeddingInputUnion(t *testing.T) {
	cases := []struct {
		in    string
		want  []string
		code  string // error code when the input is refused
		param string
	}{
		{in: `"hi"`, want: []string{"hi"}},
		{in: `["a","b"]`, want: []string{"a", "b"}},
		{in: `"é \u00e9"`, want: []string{"é é"}},
		{in: `[1,2,3]`, code: CodeNotImplemented, param: "input"},
		{in: `[[1,2,3],[4]]`, code: CodeNotImplemented, param: "input"},
		{in: `["a",1]`, code: CodeNotImplemented, param: "input"},
		{in: `["a",["b"]]`, code: CodeInvalidRequest, param: "input"},
		{in: `["a",null]`, code: CodeInvalidRequest, param: "input"},
		{in: `[{"text":"a"}]`, code: CodeInvalidRequest, param: "input"},
		{in: `42`, code: CodeInvalidRequest, param: "input"},
		{in: `{"a":1}`, code: CodeInvalidRequest, param: "input"},
		{in: `true`, code: CodeInvalidRequest, param: "input"},
	}
	for _, c := range cases {
		var in EmbeddingInput
		err := json.Unmarshal([]byte(c.in), &in)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
				continue
			}
			if d := cmp.Diff(c.want, in.Texts); d != "" {
				t.Errorf("%s (-want +got):\n%s", c.in, d)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code || e.Param != c.param || e.Status != 400 {
			t.Errorf("%s: err = %v, want 400 %s naming %q", c.in, err, c.code, c.param)
		}
	}
}

// TestDecodeEmbeddingRequestErrors pins the 400s of the embeddings body, each naming the field
// (OpenAI's limits: no empty string, at most 2048 inputs; unknown keys in our namespace).
func TestDecodeEmbeddingRequestErrors(t *testing.T) {
	many := `["` + strings.Repeat(`x","`, MaxEmbeddingInputs) + `x"]`
	cases := []struct {
		body, code, param string
	}{
		{`{"model":"m","input":""}`, CodeInvalidRequest, "input"},
		{`{"model":"m","input":["a",""]}`, CodeInvalidRequest, "input"},
		{`{"model":"m","input":[]}`, CodeInvalidRequest, "input"},
		{`{"model":"m"}`, CodeInvalidRequest, "input"},
		{`{"model":"m","input":null}`, CodeInvalidRequest, "input"},
		{`{"input":"a"}`, CodeInvalidRequest, "model"},
		{`{"model":"m","input":` + many + `}`, CodeInvalidRequest, "input"},
		{`{"model":"m","input":[[1,2]]}`, CodeNotImplemented, "input"},
		{`{"model":"m","input":"a","encoding_format":"int8"}`, CodeInvalidRequest, "encoding_format"},
		{`{"model":"m","input":"a","dimensions":0}`, CodeInvalidRequest, "dimensions"},
		{`{"model":"m","input":"a","dimensions":"256"}`, CodeInvalidRequest, "dimensions"},
		{`{"model":"m","input":"a","stream":true}`, CodeInvalidRequest, "stream"},
		{`{"model":"m","input":"a","google":{"task_typ":"X"}}`, CodeInvalidRequest, "google.task_typ"},
		{`{"model":"m","input":"a","google":{"task_type":7}}`, CodeInvalidRequest, "google.task_type"},
		{`{"model":"m","input":"a","google":"x"}`, CodeInvalidRequest, "google"},
		{`{"model":"m","input":"a","extra_body":{"google":{"thinking_config":{}}}}`, CodeInvalidRequest, "extra_body.google.thinking_config"},
		{`{"model":"m","input":"a","extra_body":{"other":1}}`, CodeInvalidRequest, "extra_body.other"},
		{`{"model":"m","input":"a","extra_body":[]}`, CodeInvalidRequest, "extra_body"},
		{`{"model":"m","input":"a","extra_body":{"google":"x"}}`, CodeInvalidRequest, "extra_body.google"},
		{`{"model":"m","input":"a","extra_body":{"google":{"title":1}}}`, CodeInvalidRequest, "extra_body.google.title"},
		{`{"model":"m","input":"a","google":{"title":"t"},"extra_body":{"google":{"title":"u"}}}`, CodeInvalidRequest, "google.title"},
		{`{"model":"m","input":"a","google":{"task_type":"X","auto_truncate":true},"extra_body":{"google":{"auto_truncate":false}}}`, CodeInvalidRequest, "google.auto_truncate"},
		{`{"model":"m","input":"a"`, CodeInvalidRequest, ""},
		{`[]`, CodeInvalidRequest, ""},
	}
	for _, c := range cases {
		_, err := DecodeEmbeddingRequest([]byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != c.code || e.Param != c.param {
			t.Errorf("%.80s: err = %v, want 400 %s naming %q", c.body, err, c.code, c.param)
		}
	}
	if _, err := DecodeEmbeddingRequest([]byte(`{"model":"m","input":` + strings.Replace(many, `"x",`, "", 1) + `}`)); err != nil {
		t.Errorf("2048 inputs refused: %v", err)
	}
}

// TestDecodeEmbeddingGoogleMerge pins that google and extra_body.google merge field by field
// (a key set in both is refused, see TestDecodeEmbeddingRequestErrors), and that an empty title counts
// as given.
func TestDecodeEmbeddingGoogleMerge(t *testing.T) {
	r, err := DecodeEmbeddingRequest([]byte(`{"model":"m","input":"a","encoding_format":"base64","dimensions":8,"user":"u",
		"google":{"task_type":"RETRIEVAL_DOCUMENT"},
		"extra_body":{"google":{"task_type":null,"title":"","auto_truncate":false}}}`))
	if err != nil {
		t.Fatal(err)
	}
	g := r.Google
	if g == nil || g.TaskType != "RETRIEVAL_DOCUMENT" || !g.HasTitle() || g.Title != "" || g.AutoTruncate == nil || *g.AutoTruncate {
		t.Errorf("google = %+v", g)
	}
	if r.EncodingFormat != "base64" || *r.Dimensions != 8 || r.User != "u" {
		t.Errorf("request = %+v", r)
	}
}

// TestEmbeddingListAppendJSON pins the response body against encoding/json's rendering of the
// same list, so the hand-written writer stays valid JSON in OpenAI's shape, and pins that a
// vector's error stops the body.
func TestEmbeddingListAppendJSON(t *testing.T) {
	l := &EmbeddingList{Model: `m"<odd>`, Len: 2, Usage: EmbeddingUsage{PromptTokens: 7, TotalTokens: 7}}
	vectors := []string{`[0.5,-1e-05]`, `"AAAAPw=="`}
	got, err := l.AppendJSON(nil, func(b []byte, i int) ([]byte, error) { return append(b, vectors[i]...), nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > l.Overhead()+len(vectors[0])+len(vectors[1]) {
		t.Errorf("AppendJSON wrote %d bytes, Overhead said %d besides the vectors", len(got), l.Overhead())
	}
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	want := map[string]any{"object": "list", "model": `m"<odd>`,
		"data": []any{
			map[string]any{"object": "embedding", "index": 0.0, "embedding": []any{0.5, -1e-05}},
			map[string]any{"object": "embedding", "index": 1.0, "embedding": "AAAAPw=="},
		},
		"usage": map[string]any{"prompt_tokens": 7.0, "total_tokens": 7.0}}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	stop := errors.New("bad vector")
	if _, err := l.AppendJSON(nil, func(b []byte, i int) ([]byte, error) { return b, stop }); err != stop {
		t.Errorf("err = %v, want the vector's error", err)
	}
}

// FuzzDecodeEmbeddingRequest: the decoder never panics and answers a 400 *Error or a request
// that satisfies OpenAI's input limits.
func FuzzDecodeEmbeddingRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gemini-embedding-001","input":"hi"}`,
		`{"model":"m","input":["a","b"],"dimensions":3,"encoding_format":"base64"}`,
		`{"model":"m","input":[[1,2]]}`, `{"model":"m","input":[1]}`, `{"model":"m","input":""}`,
		`{"model":"m","input":"a","google":{"task_type":"X","title":"t","auto_truncate":true}}`,
		`{"model":"m","input":"a","extra_body":{"google":{"x":1}}}`, `[]`, `null`, `{`,
		`{"model":"m","input":["a\u00e9\n","\ud800",  "x" ],"input":["b"]}`, "{\"model\":\"m\",\"input\":[\"\xff\"]}",
		`{"model":"m","input":["a"],"dimensions":-012}`, `{"model":"m","input":"a","dimensions":7.5}`, `{"model":"m","input":"a","dimensions":1e3}`,
		`{"model":"m","input":"a","google":{"task_type":tru}}`, `{"model":"m","input":"a","google":null,"user":"u"}`,
		` { "MODEL" : "m", "input" : [ "a" , "b" ] , "dimensions" : 768 } `, `{"model":"m","input":"a"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The one-pass scan takes a body only as encoding/json reads it.
		if w, ok := scanEmbeddingRequest(b); ok {
			var std embeddingWire
			if err := json.Unmarshal(b, &std); err != nil {
				t.Fatalf("scanned %s, which encoding/json refuses: %v", b, err)
			}
			if d := cmp.Diff(std, w, cmp.AllowUnexported(EmbeddingInput{})); d != "" {
				t.Fatalf("%s (-encoding/json +scan):\n%s", b, d)
			}
			if err := eachTopLevelKey(b, func(key string) error {
				if !embeddingFields[key] {
					t.Fatalf("scanned %s with the unknown key %q", b, key)
				}
				return nil
			}); err != nil {
				t.Fatalf("scanned %s: %v", b, err)
			}
		}
		r, err := DecodeEmbeddingRequest(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error is not a 400 *Error: %v", err)
			}
			return
		}
		if r.Model == "" || len(r.Input.Texts) == 0 || len(r.Input.Texts) > MaxEmbeddingInputs {
			t.Fatalf("accepted %s as %+v", b, r)
		}
		for _, s := range r.Input.Texts {
			if s == "" {
				t.Fatalf("accepted an empty input in %s", b)
			}
		}
		// The inputs are the strings encoding/json reads (the array is read by jsonscan).
		var std struct {
			Input json.RawMessage `json:"input"`
		}
		var want []string
		if json.Unmarshal(b, &std) == nil && json.Unmarshal(std.Input, &want) != nil {
			var one string
			if json.Unmarshal(std.Input, &one) != nil {
				t.Fatalf("accepted input %s that is neither a string nor strings", std.Input)
			}
			want = []string{one}
		}
		if d := cmp.Diff(want, r.Input.Texts); d != "" {
			t.Fatalf("%s: inputs (-encoding/json +decoder):\n%s", b, d)
		}
	})
}
