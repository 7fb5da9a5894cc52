package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

var update = flag.Bool("update", false, "rewrite golden files, logging the diff of each change (see it with -v)")

// golden compares got (indented JSON) with testdata/name, or rewrites it with -update. A rewrite
// logs what changed as a (-old +new) diff, or that the file was created or is unchanged, so
// `go test -update -v` shows what a regeneration did.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		old, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(old, got):
			t.Logf("%s: unchanged", path)
			return
		case err == nil:
			t.Logf("%s: rewritten (-old +new):\n%s", path, cmp.Diff(string(old), string(got)))
		case errors.Is(err, fs.ErrNotExist):
			t.Logf("%s: created", path)
		default:
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testMeta() Meta {
	n := 0
	return Meta{ID: "chatcmpl-test", Created: 1700000000, Model: "client-model", NewCallID: func() string {
		n++
		return fmt.Sprintf("call_%d", n)
	}}
}

// TestRequestGolden translates each testdata/requests/*.json (an OpenAI request plus the
// options under "_options") and compares the Gemini request with its .golden.json.
func TestRequestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/requests/*.json")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wrap struct {
				Options RequestOptions  `json:"_options"`
				Request json.RawMessage `json:"request"`
			}
			if err := json.Unmarshal(raw, &wrap); err != nil {
				t.Fatal(err)
			}
			req, err := openai.DecodeRequest(wrap.Request)
			if err != nil {
				t.Fatal(err)
			}
			before := indent(t, req)
			models, _ := NewModels("")
			tr, err := RequestToGemini(t.Context(), req, models, wrap.Options)
			var out any
			if err != nil {
				out = map[string]any{"error": err.Error()}
			} else {
				out = map[string]any{"model": tr.Model, "request": tr.Request, "fetch": len(tr.Fetch)}
			}
			golden(t, "requests/"+name+".golden.json", indent(t, out))
			if !bytes.Equal(before, indent(t, req)) {
				t.Error("RequestToGemini modified its input")
			}
		})
	}
	if n == 0 {
		t.Fatal("no request cases")
	}
}

// recordedResponses are the recorded generateContent bodies the response goldens translate,
// chat's and the Responses API's alike.
var recordedResponses = []string{
	"01-generateContent-thoughts-usage.mldev.response.derived.json",
	"04-generateContent-functionCall-thoughtSignature.mldev.response.derived.json",
	"07-generateContent-responseJsonSchema-cachedTokens.mldev.response.derived.json",
	"10-generateContent-nonstream.vertex.response.derived.json",
	"11-generateContent-promptFeedback-blockReason-SAFETY-no-candidates.mldev.json",
	"16-generateContent-MALFORMED_FUNCTION_CALL-empty-content.mldev.json",
	"18-generateContent-image-signatures.constructed.json",
}

// readWireResponse decodes the recorded generateContent body testdata/wire/name.
func readWireResponse(t *testing.T, name string) gemini.Response {
	t.Helper()
	raw, err := os.ReadFile("testdata/wire/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var r gemini.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestResponseGolden translates recorded generateContent bodies.
func TestResponseGolden(t *testing.T) {
	for _, name := range recordedResponses {
		t.Run(name, func(t *testing.T) {
			r := readWireResponse(t, name)
			resp, err := ResponseFromGemini(&r, testMeta())
			var out any = resp
			if err != nil {
				out = map[string]any{"error": err.Error()}
			}
			golden(t, "responses/"+strings.TrimSuffix(name, ".json")+".golden.json", indent(t, out))
		})
	}
}

// streamChunks runs a recorded SSE body through the event reader and the stream translator.
func streamChunks(t *testing.T, body []byte, m Meta, includeUsage bool) ([]openai.Chunk, error) {
	t.Helper()
	er := gemini.NewEventReader(bytes.NewReader(body))
	m.IncludeUsage = includeUsage
	s := NewStream(m)
	var all []openai.Chunk
	for {
		data, _, err := er.Next()
		if err != nil {
			break
		}
		var ev gemini.Response
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		chunks, err := s.Event(&ev)
		all = append(all, chunks...)
		if err != nil {
			return all, err
		}
	}
	end, err := s.End(includeUsage)
	return append(all, end...), err
}

// TestStreamGolden translates recorded streams into chunk sequences.
func TestStreamGolden(t *testing.T) {
	for _, name := range []string{
		"02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse",
		"04-streamGenerateContent-functionCall-thoughtSignature.mldev.derived.sse",
		"03-streamGenerateContent-sse-text-usage-last-chunk.vertex.derived.sse",
		"05-streamGenerateContent-partialArgs-thoughtSignature-gemini-3-pro.vertex.derived.sse",
		"06-streamGenerateContent-image-output-inlineData.mldev.TRUNCATED.derived.sse",
		"08-streamGenerateContent-cachedContentTokenCount-toolUsePromptTokenCount.mldev.derived.sse",
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/wire/" + name)
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := streamChunks(t, raw, testMeta(), true)
			var out any = chunks
			if err != nil {
				out = map[string]any{"chunks": chunks, "error": err.Error()}
			}
			golden(t, "streams/"+strings.TrimSuffix(name, ".sse")+".golden.json", indent(t, out))
		})
	}
}

// TestPartialArgsConcatenateToJSON pins that streamed argument deltas join into the complete
// JSON object, for the recorded stream and for nested paths.
func TestPartialArgsConcatenateToJSON(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire/05-streamGenerateContent-partialArgs-thoughtSignature-gemini-3-pro.vertex.derived.sse")
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := streamChunks(t, raw, testMeta(), false)
	if err != nil {
		t.Fatal(err)
	}
	var args strings.Builder
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				args.WriteString(tc.Function.Arguments)
			}
		}
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(args.String()), &v); err != nil {
		t.Fatalf("arguments %q: %v", args.String(), err)
	}
	want := map[string]string{"country": "USA", "location": "NewYorkCity", "purpose": "to know what to wear today", "unit": "C"}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	s := func(v string) *string { return &v }
	yes := true
	pc := &partialCall{}
	var b strings.Builder
	for _, a := range []gemini.PartialArg{
		{JSONPath: "$.a.b", StringValue: s("x\"y"), WillContinue: true},
		{JSONPath: "$.a.b", StringValue: s("z")},
		{JSONPath: "$.a.c", NumberValue: "3"},
		{JSONPath: "$.list[0]", BoolValue: &yes},
		{JSONPath: "$.list[1].k", StringValue: s("v")},
		{JSONPath: "$.top", StringValue: s("t")},
	} {
		pc.fragment(&b, a)
	}
	pc.finish(&b)
	var nested any
	if err := json.Unmarshal([]byte(b.String()), &nested); err != nil {
		t.Fatalf("nested %q: %v", b.String(), err)
	}
	if got := b.String(); got != `{"a":{"b":"x\"yz","c":3},"list":[true,{"k":"v"}],"top":"t"}` {
		t.Errorf("nested = %s", got)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
