package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/internal/fieldtest"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// encodeStd is what encodeRequest wrote before appendGeminiRequest: an Encoder without HTML
// escaping, with its trailing newline.
func encodeStd(t *testing.T, r *gemini.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fuzzGeminiRequest builds a request of the shape appendGeminiRequest encodes: flags pick the
// optional fields, the strings fill every string field, n and f every number.
func fuzzGeminiRequest(text, sig, role, s string, n int, f float64, flags uint32) *gemini.Request {
	bit := func(i uint) bool { return flags&(1<<i) != 0 }
	r := &gemini.Request{}
	if bit(0) {
		r.Contents = []gemini.Content{}
	}
	for i := range int(flags>>1) & 3 {
		c := gemini.Content{Role: role}
		if bit(3) {
			c.Parts = []gemini.Part{}
		}
		for j := range int(flags>>4) & 3 {
			p := gemini.Part{Text: text, ThoughtSignature: sig, Thought: (i+j)%2 == 1}
			if j == 2 {
				p.Text = ""
			}
			c.Parts = append(c.Parts, p)
		}
		r.Contents = append(r.Contents, c)
	}
	if bit(6) {
		r.SystemInstruction = &gemini.Content{Parts: []gemini.Part{{Text: s}}}
	}
	if bit(7) {
		r.CachedContent = s
	}
	if bit(8) {
		g := &gemini.GenerationConfig{ResponseMIMEType: s, MediaResolution: role, ResponseLogprobs: bit(9)}
		if bit(10) {
			g.StopSequences = []string{text, s}
		}
		if bit(11) {
			g.ResponseModalities = []string{}
		}
		if bit(12) {
			g.CandidateCount, g.TopK, g.Logprobs = &n, &n, &n
		}
		if bit(13) {
			g.MaxOutputTokens = &n
			seed := int64(n) * 3
			g.Seed = &seed
		}
		if bit(14) {
			g.Temperature, g.FrequencyPenalty = &f, &f
		}
		if bit(15) {
			g.TopP, g.PresencePenalty = &f, &f
		}
		if bit(16) {
			g.ThinkingConfig = &gemini.ThinkingConfig{ThinkingLevel: sig}
			if bit(17) {
				b := bit(18)
				g.ThinkingConfig.IncludeThoughts = &b
			}
			if bit(19) {
				g.ThinkingConfig.ThinkingBudget = &n
			}
		}
		r.GenerationConfig = g
	}
	return r
}

// FuzzAppendGeminiRequest proves appendGeminiRequest byte-identical to encoding/json for every
// request of the shape it takes, with any strings and numbers (a float encoding/json refuses is
// refused too).
func FuzzAppendGeminiRequest(f *testing.F) {
	f.Add("What is the capital of France?", "", "user", "text/plain", 100, 0.2, uint32(0xfffff))
	f.Add("a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff<>&\"\\", "sig\xe2\x80", "model", "", -3, 1e21, uint32(0b1011_0111_0101_1010_1011))
	f.Add("", "", "", "", 0, 1e-7, uint32(0))
	f.Fuzz(func(t *testing.T, text, sig, role, s string, n int, fl float64, flags uint32) {
		r := fuzzGeminiRequest(text, sig, role, s, n, fl, flags)
		got, ok := appendGeminiRequest([]byte("prefix"), r)
		if !ok {
			if r.GenerationConfig != nil && (r.GenerationConfig.Temperature != nil || r.GenerationConfig.TopP != nil) {
				if _, err := json.Marshal(fl); err != nil {
					return // NaN or an infinity: encoding/json refuses it too
				}
			}
			t.Fatalf("appendGeminiRequest refused a request of its shape: %+v", r)
		}
		if want := encodeStd(t, r); !bytes.Equal(append(got[len("prefix"):], '\n'), want) {
			t.Fatalf("appendGeminiRequest differs from encoding/json:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	})
}

// Requests of other shapes are left to encoding/json, with the buffer untouched.
func TestAppendGeminiRequestRefusesOtherShapes(t *testing.T) {
	withPart := func(p gemini.Part) *gemini.Request {
		return &gemini.Request{Contents: []gemini.Content{{Role: "user", Parts: []gemini.Part{{Text: "a"}, p}}}}
	}
	for name, r := range map[string]*gemini.Request{
		"tools":         {Tools: []gemini.Tool{{}}},
		"tool config":   {ToolConfig: &gemini.ToolConfig{}},
		"safety":        {SafetySettings: json.RawMessage(`[]`)},
		"labels":        {Labels: map[string]string{"a": "b"}},
		"schema":        {GenerationConfig: &gemini.GenerationConfig{ResponseJSONSchema: json.RawMessage(`{}`)}},
		"inline data":   withPart(gemini.Part{InlineData: &gemini.Blob{}}),
		"file data":     withPart(gemini.Part{FileData: &gemini.FileData{}}),
		"function call": withPart(gemini.Part{FunctionCall: &gemini.FunctionCall{}}),
		"system media":  {SystemInstruction: &gemini.Content{Parts: []gemini.Part{{InlineData: &gemini.Blob{}}}}},
	} {
		if b, ok := appendGeminiRequest([]byte("x"), r); ok || string(b) != "x" {
			t.Errorf("%s: ok=%v, buffer %q", name, ok, b)
		}
	}
}

// The requests clients send most (text messages, a system prompt, sampling settings, thinking)
// take the hand-written path once translated.
func TestAppendGeminiRequestTakesTranslatedRequests(t *testing.T) {
	models, _ := translate.NewModels("")
	for _, body := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`,
		`{"model":"gemini-2.5-pro","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"more"}],"temperature":0.7,"top_p":0.9,"stop":["x"],"seed":3,"reasoning_effort":"low","stream":true,"stream_options":{"include_usage":true}}`,
	} {
		_, tr, err := translateBody(context.Background(), []byte(body), openai.Limits{}, models, translate.RequestOptions{Backend: gemini.Developer, IncludeThoughts: true})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendGeminiRequest(nil, tr.Request)
		if !ok {
			t.Errorf("refused the translation of %s", body)
			continue
		}
		if want := encodeStd(t, tr.Request); !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	}
}

// Every field of the request types, set on its own, is encoded as encoding/json encodes it or
// makes appendGeminiRequest refuse: a field added to gemini.Request, Content, Part,
// GenerationConfig or ThinkingConfig cannot be dropped silently by the hand-written encoder.
func TestAppendGeminiRequestKnowsEveryField(t *testing.T) {
	base := func() *gemini.Request {
		return &gemini.Request{Contents: []gemini.Content{{Role: "user", Parts: []gemini.Part{{Text: "a"}}}},
			GenerationConfig: &gemini.GenerationConfig{ThinkingConfig: &gemini.ThinkingConfig{}}}
	}
	targets := map[string]func(*gemini.Request) reflect.Value{
		"Request":          func(r *gemini.Request) reflect.Value { return reflect.ValueOf(r).Elem() },
		"Content":          func(r *gemini.Request) reflect.Value { return reflect.ValueOf(&r.Contents[0]).Elem() },
		"Part":             func(r *gemini.Request) reflect.Value { return reflect.ValueOf(&r.Contents[0].Parts[0]).Elem() },
		"GenerationConfig": func(r *gemini.Request) reflect.Value { return reflect.ValueOf(r.GenerationConfig).Elem() },
		"ThinkingConfig": func(r *gemini.Request) reflect.Value {
			return reflect.ValueOf(r.GenerationConfig.ThinkingConfig).Elem()
		},
	}
	for name, target := range targets {
		for i := range target(base()).NumField() {
			r := base()
			f := target(r).Field(i)
			fieldtest.Fill(f, 2)
			got, ok := appendGeminiRequest(nil, r)
			if !ok {
				continue
			}
			if want := encodeStd(t, r); !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("%s.%s: appendGeminiRequest differs from encoding/json:\n got %s\nwant %s", name, target(r).Type().Field(i).Name, got, want)
			}
		}
	}
}
