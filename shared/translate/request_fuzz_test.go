package translate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// fuzzModels is the model table of the reference fuzz targets: the defaults and one alias of
// the operator's.
func fuzzModels(tb testing.TB) *Models {
	tb.Helper()
	m, err := NewModels(`{"house-model":"gemini-2.5-pro","house-3":"gemini-3-flash-preview"}`)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// fuzzOptions decodes a byte into the request options a gateway may run with.
func fuzzOptions(b byte) RequestOptions {
	opt := RequestOptions{Backend: gemini.Developer, IncludeThoughts: b&2 != 0, FetchHTTPMedia: b&4 != 0}
	if b&1 != 0 {
		opt.Backend = gemini.Vertex
	}
	return opt
}

// matchReference translates a and b (the same request, decoded twice so that neither call can
// see what the other did) with RequestToGemini and refRequestToGemini, and fails unless both
// give the same Translated or the same error.
func matchReference(t *testing.T, models *Models, a, b *openai.Request, opt RequestOptions) {
	t.Helper()
	ctx := context.Background()
	got, gerr := RequestToGemini(ctx, a, models, opt)
	want, werr := refRequestToGemini(ctx, b, models, opt)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("error = %v, reference %v", gerr, werr)
	}
	if gerr != nil {
		var ge, we *openai.Error
		if gerr.Error() != werr.Error() || errors.As(gerr, &ge) != errors.As(werr, &we) {
			t.Fatalf("error = %v, reference %v", gerr, werr)
		}
		if ge != nil && (ge.Status != we.Status || ge.Type != we.Type || ge.Code != we.Code || ge.Param != we.Param || ge.Message != we.Message) {
			t.Fatalf("error = %+v, reference %+v", ge, we)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("translation differs from the reference (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// FuzzRequestMatchesReference holds RequestToGemini to the reference translation (the code before
// issue 16's allocation work, kept in reference_test.go) on any decodable request body and any
// options: the same Translated, field for field, or the same error. Seeded with the request
// goldens, the representative request and an agent-shaped one.
func FuzzRequestMatchesReference(f *testing.F) {
	files, _ := filepath.Glob("testdata/requests/*.json")
	for _, name := range files {
		if strings.HasSuffix(name, ".golden.json") {
			continue
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// The files wrap the request in {"_options":…,"request":…}; the request is the seed.
		if i := strings.Index(string(raw), `"request":`); i >= 0 {
			raw = raw[i+len(`"request":`) : strings.LastIndexByte(string(raw), '}')]
		}
		f.Add(raw, byte(0))
		f.Add(raw, byte(7))
	}
	for _, s := range []string{repRequest, agentRequest,
		`{"model":"house-3","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":"c"},{"role":"assistant","content":""},{"role":"user","content":"d"}],"google":{"thought_tag_marker":"think","generation_config":{"temperature":0.5}}}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"s"}]}`,
		`{"model":"google/gemini-3.1-pro","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none","n":2,"logprobs":true,"top_logprobs":3,"seed":7,"presence_penalty":0,"frequency_penalty":0.5,"modalities":["text","image"],"response_format":{"type":"json_object"},"metadata":{"k":"v"}}`,
	} {
		f.Add([]byte(s), byte(0))
		f.Add([]byte(s), byte(3))
	}
	models := fuzzModels(f)
	f.Fuzz(func(t *testing.T, body []byte, opts byte) {
		a, err := openai.DecodeRequest(body)
		if err != nil {
			return
		}
		b, err := openai.DecodeRequest(body)
		if err != nil {
			t.Fatalf("second decode: %v", err)
		}
		matchReference(t, models, a, b, fuzzOptions(opts))
	})
}

// fuzzMessage builds message kind k of FuzzMessagesMatchReference: plain and empty text turns of
// each role, parts, media, tool calls and their results (in and out of order, unknown ids),
// signatures, thought tags and invalid messages.
func fuzzMessage(k byte) openai.Message {
	text := func(s string) openai.Content { return openai.Content{Text: s} }
	parts := func(p ...openai.Part) openai.Content { return openai.Content{Parts: p, IsParts: true} }
	call := func(id, name, args string) openai.ToolCall {
		return openai.ToolCall{ID: id, Type: "function", Function: openai.FunctionCall{Name: name, Arguments: args}}
	}
	sig := &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: "c2lnbmF0dXJl"}}
	switch k % 22 {
	case 0:
		return openai.Message{Role: "user", Content: text("What is the capital of France?")}
	case 1:
		return openai.Message{Role: "user", Content: text("")}
	case 2:
		return openai.Message{Role: "user", Content: parts(openai.Part{Type: "text", Text: "look"},
			openai.Part{Type: "image_url", ImageURL: &openai.ImageURL{URL: "https://example.com/a.png", Detail: "high"}})}
	case 3:
		return openai.Message{Role: "user", Content: parts(openai.Part{Type: "image_url", ImageURL: &openai.ImageURL{URL: "data:image/png;base64,AAAA", Detail: "low"}})}
	case 4:
		return openai.Message{Role: "assistant", Content: text("Paris.")}
	case 5:
		return openai.Message{Role: "assistant", Content: text("")}
	case 6:
		return openai.Message{Role: "assistant", Content: openai.Content{IsNull: true}, ToolCalls: []openai.ToolCall{call("call_1", "get_weather", `{"city":"Paris"}`)}}
	case 7:
		return openai.Message{Role: "tool", ToolCallID: "call_1", Content: text(`{"temperature":18}`)}
	case 8:
		return openai.Message{Role: "system", Content: text("Be brief.")}
	case 9:
		return openai.Message{Role: "developer", Content: parts(openai.Part{Type: "text", Text: "Answer in French."})}
	case 10:
		return openai.Message{Role: "assistant", Content: text("Signed."), ExtraContent: sig}
	case 11:
		return openai.Message{Role: "assistant", Content: text("Two calls."), ToolCalls: []openai.ToolCall{
			call("call_2", "a", `{}`), call("call_3", "b", ` {"x":[1,2]} `)}}
	case 12:
		return openai.Message{Role: "tool", ToolCallID: "call_3", Content: text("plain result")}
	case 13:
		return openai.Message{Role: "tool", ToolCallID: "call_2", Content: parts(openai.Part{Type: "text", Text: "[1,2]"})}
	case 14:
		return openai.Message{Role: "user", Content: parts(openai.Part{Type: "text", Text: "see"},
			openai.Part{Type: "image_url", ImageURL: &openai.ImageURL{URL: "http://example.com/noext"}})}
	case 15:
		return openai.Message{Role: "assistant", Content: text("<think>hidden</think>shown")}
	case 16:
		return openai.Message{Role: "tool", ToolCallID: "call_unknown", Content: text("x")}
	case 17:
		return openai.Message{Role: "user", Content: openai.Content{IsNull: true}}
	case 18:
		return openai.Message{Role: "", Content: text("x")}
	case 19:
		return openai.Message{Role: "assistant", Content: parts(openai.Part{Type: "text", Text: "part"}, openai.Part{Type: "refusal", Refusal: "no"})}
	case 20:
		return openai.Message{Role: "assistant", Content: openai.Content{IsNull: true}, ToolCalls: []openai.ToolCall{call("x__ts__c2ln", "sig", "")}}
	}
	return openai.Message{Role: "function", Name: "legacy", Content: text("done")}
}

var fuzzModelNames = []string{"gemini-2.5-flash", "gemini-3-flash-preview", "gemini-3.1-pro", "google/gemini-2.5-pro",
	"models/house-3", "gemini-2.5-flash-image", "gemini-9-experimental", "nope", ""}

// FuzzMessagesMatchReference holds RequestToGemini to the reference translation on conversations
// built from a script of message kinds (fuzzMessage), for each model family and option set: it
// covers the plain-text fast paths, turn merging, tool results and the passes that run after the
// messages (media resolution, fetches, missing signatures).
func FuzzMessagesMatchReference(f *testing.F) {
	f.Add([]byte{0}, byte(0), byte(2))
	f.Add([]byte{8, 0, 4, 0}, byte(1), byte(0))
	f.Add([]byte{8, 0, 6, 7, 4, 0}, byte(0), byte(6))
	f.Add([]byte{0, 0, 5, 4, 4, 2, 11, 12, 13, 0}, byte(2), byte(5))
	f.Add([]byte{9, 3, 14, 10, 15, 19, 20, 21, 0}, byte(1), byte(16+4))
	f.Add([]byte{16}, byte(0), byte(0))
	f.Add([]byte{5, 5}, byte(3), byte(8))
	models := fuzzModels(f)
	f.Fuzz(func(t *testing.T, script []byte, model, opts byte) {
		if len(script) > 64 {
			script = script[:64]
		}
		build := func() *openai.Request {
			req := &openai.Request{Model: fuzzModelNames[int(model)%len(fuzzModelNames)], Messages: make([]openai.Message, len(script))}
			for i, k := range script {
				req.Messages[i] = fuzzMessage(k)
			}
			if opts&8 != 0 {
				req.Google = &openai.Google{ThoughtTagMarker: "think"}
			}
			if opts&16 != 0 {
				temp, n := 0.3, 100
				req.Temperature, req.MaxTokens = &temp, &n
			}
			if opts&32 != 0 {
				req.ReasoningEffort = "high"
			}
			return req
		}
		matchReference(t, models, build(), build(), fuzzOptions(opts))
	})
}

// TestGenerationConfigZero holds generationConfigZero to reflect's IsZero, which it replaces:
// both say zero for the zero config, and both say not zero when any one field is set (a non-nil
// empty slice included). A field added to GenerationConfig and not to generationConfigZero
// fails here.
func TestGenerationConfigZero(t *testing.T) {
	var zero gemini.GenerationConfig
	if !generationConfigZero(&zero) || !reflect.ValueOf(zero).IsZero() {
		t.Fatal("the zero config is not zero")
	}
	typ := reflect.TypeFor[gemini.GenerationConfig]()
	for i := range typ.NumField() {
		var gc gemini.GenerationConfig
		f := reflect.ValueOf(&gc).Elem().Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		case reflect.String:
			f.SetString("x")
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s: kind %s not covered by this test", typ.Field(i).Name, f.Kind())
		}
		if got, want := generationConfigZero(&gc), reflect.ValueOf(gc).IsZero(); got != want {
			t.Errorf("with %s set: generationConfigZero = %v, reflect IsZero = %v", typ.Field(i).Name, got, want)
		}
	}
}

// TestRepresentativeRequestAllocations pins the representative request's translation at one
// allocation (translation: the result, the Gemini request, its configs, its turn and part).
func TestRepresentativeRequestAllocations(t *testing.T) {
	req, err := openai.DecodeRequest([]byte(repRequest))
	if err != nil {
		t.Fatal(err)
	}
	models := fuzzModels(t)
	opt := RequestOptions{Backend: gemini.Developer, IncludeThoughts: true, FetchHTTPMedia: true}
	var tr *Translated
	allocs := testing.AllocsPerRun(100, func() {
		if tr, err = RequestToGemini(t.Context(), req, models, opt); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("RequestToGemini allocates %v times, want 1", allocs)
	}
	if c := tr.Request.Contents; len(c) != 1 || c[0].Parts[0].Text != "What is the capital of France?" || *tr.Request.GenerationConfig.MaxOutputTokens != 100 {
		t.Errorf("translated %+v", tr.Request)
	}
}
