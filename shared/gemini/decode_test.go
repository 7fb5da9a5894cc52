package gemini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/internal/fieldtest"
)

// recordedBodies returns every recorded response body and stream event in testdata/wire, named
// by file (and event number for .sse files).
func recordedBodies(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{
		"01-generateContent-thoughts-usage.mldev.response.derived.json",
		"02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse",
		"03-streamGenerateContent-sse-text-usage-last-chunk.vertex.derived.sse",
		"04-generateContent-functionCall-thoughtSignature.mldev.response.derived.json",
		"05-streamGenerateContent-partialArgs-thoughtSignature-gemini-3-pro.vertex.derived.sse",
		"11-generateContent-promptFeedback-blockReason-SAFETY-no-candidates.mldev.json",
		"16-generateContent-MALFORMED_FUNCTION_CALL-empty-content.mldev.json",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(name, ".sse") {
			out[name] = b
			continue
		}
		for i, line := range strings.Split(string(b), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				out[name+"#"+strconv.Itoa(i)] = []byte(data)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d recorded bodies in testdata/wire", len(out))
	}
	return out
}

// checkFast decodes b with the fast path and with encoding/json and fails when the fast path
// gives a result encoding/json does not (a different value, or a value where json fails). It
// reports whether the fast path took b. The fast path runs with model as the model called, and
// with none: the two must take the same bodies and give the same value.
func checkFast(t *testing.T, b []byte, model string) bool {
	t.Helper()
	got, ok := fastResponse(b, model)
	plain, plainOK := fastResponse(b, "")
	if ok != plainOK {
		t.Fatalf("fast path took %q %v with model %q, %v without", b, ok, model, plainOK)
	}
	var want Response
	err := json.Unmarshal(b, &want)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path decoded %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(*got, want) || !reflect.DeepEqual(*plain, want) {
		t.Fatalf("fast path decoded %q (model %q) as\n%#v\nencoding/json as\n%#v", b, model, *got, want)
	}
	return true
}

// Every recorded success body and stream event decodes to what encoding/json makes of it, and
// the fast path takes all but the shapes it leaves to encoding/json (partialArgs, promptFeedback):
// a fast path that declined everything would pass the comparison and speed nothing up.
func TestFastResponseOnRecordedBodies(t *testing.T) {
	leftToJSON := []string{"05-", "11-"}
	for name, b := range recordedBodies(t) {
		took := checkFast(t, b, "gemini-2.5-flash")
		left := false
		for _, p := range leftToJSON {
			left = left || strings.HasPrefix(name, p)
		}
		if !took && !left {
			t.Errorf("%s: the fast path declined a common shape:\n%s", name, b)
		}
	}
}

// fastCases are bodies whose handling by the fast path is pinned: taken (and equal to
// encoding/json's result) or declined (left to encoding/json).
var fastCases = []struct {
	in    string
	took  bool
	model string // the model called, "" for none
}{
	{`{}`, true, ""},
	{` {"candidates":[]} `, true, ""},
	{`{"candidates":[{"content":{}}]}`, true, ""},
	{`{"candidates":[{"content":{"parts":[]}}]}`, true, ""},
	{`{"candidates":[{"content":{"role":"model","parts":[{"text":"a\"\\\u00e9\n"},{"thought":true,"text":"t"}]},"index":-0}]}`, true, ""},
	{`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":[1,2.5e3,null]}}}]}}]}`, true, ""},
	{`{"createTime":"x","avgLogprobs":-0.25,"candidates":[{"safetyRatings":[{"a":null}]}]}`, true, ""},
	{`{"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12,"promptTokensDetails":[{"modality":"TEXT","tokenCount":12}],"trafficType":"ON_DEMAND"}}`, true, ""},
	{"{\"modelVersion\":\"\xff\"}", true, ""}, // invalid UTF-8 becomes U+FFFD, as in encoding/json
	{`{"te\u0078t":1}`, true, ""},             // an unknown key, escaped
	{`{"candidates":null}`, false, ""},
	{`{"candidates":[{"index":1.0}]}`, false, ""},
	{`{"candidates":[{"index":1e2}]}`, false, ""},
	{`{"candidates":[{"index":"1"}]}`, false, ""},
	{`{"candidates":[{"index":01}]}`, false, ""},
	{`{"candidates":[{"Index":1}]}`, false, ""},
	{`{"candidates":[{"finishReason":"STOP","finishReason":"MAX_TOKENS"}]}`, false, ""},
	{`{"modelVersion":"a","MODELVERSION":"b"}`, false, ""},
	{`{"error":{"code":500}}`, false, ""},
	{`{"promptFeedback":{"blockReason":"SAFETY"}}`, false, ""},
	{`{"candidates":[{"content":{"parts":[{"text":"a","thought":tru}]}}]}`, false, ""},
	{`{"candidates":[{"content":{"parts":[{"functionCall":{"args":null}}]}}]}`, false, ""},
	{`{"x":[1,]}`, false, ""},
	{`{"x":1} {}`, false, ""},
	{`{"x":1`, false, ""},
	{`null`, false, ""},
	{`[]`, false, ""},
	// The shape of the representative answer, whole and as a stream's first event, and cases of
	// the model called: a modelVersion equal to it is that string; written with an escape, it
	// is not (A, written \u0041, is still A).
	{`{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is the capital of France."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19},"modelVersion":"gemini-2.5-flash"}`, true, "gemini-2.5-flash"},
	{`{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris"}]}}],"modelVersion":"gemini-2.5-flash","responseId":"x"}`, true, "gemini-2.5-pro"},
	{`{"modelVersion":"a\u0041"}`, true, `a\u0041`},
	{`{"modelVersion":"aA"}`, true, `a\u0041`},
	{`{"modelVersion":"\u00e9"}`, true, "é"},
	// Two candidates, two parts, two usage details: the block holds the first of each.
	{`{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b"}]},"index":0},{"content":{"parts":[{"text":"c"}]},"index":1}],"usageMetadata":{"promptTokensDetails":[{"modality":"TEXT","tokenCount":1},{"modality":"IMAGE","tokenCount":2}]}}`, true, ""},
	// Keys with escapes: an escaped quote, an escaped known name (encoding/json decodes it, so
	// the fast path declines), a control byte (not JSON).
	{`{"a\"b":1,"candidates":[]}`, true, ""},
	{`{"c\u0061ndidates":[]}`, false, ""},
	{"{\"a\x01\":1}", false, ""},
	{`{"\\":1}`, true, ""},
	{` { "candidates" : [ { "index" : 2 } , { } ] , "modelVersion" : "m" } `, true, "m"},
	{`{"candidates":[{"index":1},]}`, false, ""},
	{`{"candidates":[{"index":1}`, false, ""},
	{`{"candidates":[{"content":{"parts":[{"text":"x"}]}}`, false, ""},
	{`{"candidates"`, false, ""},
	{`{"candidates":`, false, ""},
	{`{"candidates":[`, false, ""},
	{`{"modelVersion":"a`, false, ""},
}

func TestFastResponseCases(t *testing.T) {
	for _, c := range fastCases {
		if took := checkFast(t, []byte(c.in), c.model); took != c.took {
			t.Errorf("fastResponse(%s): took %v, want %v", c.in, took, c.took)
		}
	}
}

// FuzzFastResponse holds the hand-written decoder to encoding/json: whenever it takes a body,
// encoding/json accepts the body too and decodes the same value, whatever the model called; it
// never panics.
func FuzzFastResponse(f *testing.F) {
	for _, b := range recordedBodies(f) {
		f.Add(b, "")
		f.Add(b, "gemini-2.5-flash")
	}
	for _, c := range fastCases {
		f.Add([]byte(c.in), c.model)
	}
	f.Fuzz(func(t *testing.T, b []byte, model string) {
		checkFast(t, b, model)
	})
}

// BenchmarkDecodeEvent compares the fast path with encoding/json on a typical stream event.
func BenchmarkDecodeEvent(b *testing.B) {
	ev := []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"word 3 "}]}}],"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fastResponse(ev, ""); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Response
			if err := json.Unmarshal(ev, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Every field of the response types, set on its own and encoded by encoding/json, is decoded by
// the fast path as encoding/json decodes it, or declined: a field added to Response, Candidate,
// Content, Part, FunctionCall or UsageMetadata cannot be skipped silently as an unknown key.
func TestFastResponseKnowsEveryField(t *testing.T) {
	base := func() *Response {
		return &Response{Candidates: []Candidate{{Content: &Content{Parts: []Part{{FunctionCall: &FunctionCall{}}}}}},
			UsageMetadata: &UsageMetadata{PromptTokensDetails: []ModalityTokenCount{{}}}}
	}
	targets := map[string]func(*Response) reflect.Value{
		"Response":  func(r *Response) reflect.Value { return reflect.ValueOf(r).Elem() },
		"Candidate": func(r *Response) reflect.Value { return reflect.ValueOf(&r.Candidates[0]).Elem() },
		"Content":   func(r *Response) reflect.Value { return reflect.ValueOf(r.Candidates[0].Content).Elem() },
		"Part":      func(r *Response) reflect.Value { return reflect.ValueOf(&r.Candidates[0].Content.Parts[0]).Elem() },
		"FunctionCall": func(r *Response) reflect.Value {
			return reflect.ValueOf(r.Candidates[0].Content.Parts[0].FunctionCall).Elem()
		},
		"UsageMetadata": func(r *Response) reflect.Value { return reflect.ValueOf(r.UsageMetadata).Elem() },
		"ModalityTokenCount": func(r *Response) reflect.Value {
			return reflect.ValueOf(&r.UsageMetadata.PromptTokensDetails[0]).Elem()
		},
	}
	for _, target := range targets {
		for i := range target(base()).NumField() {
			r := base()
			fieldtest.Fill(target(r).Field(i), 2)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			checkFast(t, b, "")
		}
	}
}
