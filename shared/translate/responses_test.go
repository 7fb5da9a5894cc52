package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

func decodeResponsesRequest(t *testing.T, body []byte) *openai.ResponsesRequest {
	t.Helper()
	req, err := openai.DefaultLimits.DecodeResponsesRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestResponsesRequestGolden translates each testdata/responses-api/requests/*.json (a Responses
// request) and compares the Gemini request, or the error, with its .golden.json: items ->
// contents and systemInstruction, tools, text.format, reasoning, signatures in call ids, and the
// refusals of fields the gateway cannot honour.
func TestResponsesRequestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/responses-api/requests/*.json")
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
			req := decodeResponsesRequest(t, raw)
			before := indent(t, req)
			models, _ := NewModels("")
			tr, err := ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
			var out any
			if err != nil {
				var e *openai.Error
				if !errors.As(err, &e) || e.Status/100 != 4 {
					t.Fatalf("error %v is not a 4xx *openai.Error", err)
				}
				out = map[string]any{"status": e.Status, "code": e.Code, "param": e.Param, "message": e.Message}
			} else {
				out = map[string]any{"model": tr.Model, "request": tr.Request, "max_tool_calls": tr.MaxToolCalls}
			}
			golden(t, "responses-api/requests/"+name+".golden.json", indent(t, out))
			if !bytes.Equal(before, indent(t, req)) {
				t.Error("ResponsesToGemini modified its input")
			}
		})
	}
	if n == 0 {
		t.Fatal("no request cases")
	}
}

func testResponsesMeta(req *openai.ResponsesRequest) ResponsesMeta {
	n := 0
	m := ResponsesMeta{Meta: testMeta(), ResponseID: "resp_test", Request: req, NewItemID: func(p string) string {
		n++
		return fmt.Sprintf("%s%d", p, n)
	}}
	m.Model = req.Model
	return m
}

var goldenRequest = &openai.ResponsesRequest{Model: "client-model", Input: openai.Input{Text: "x"}}

// TestResponsesOutputGolden translates recorded generateContent bodies into response objects:
// output items in part order, encrypted_content with the turn's signatures, usage with chat's
// formula, incomplete and failed answers.
func TestResponsesOutputGolden(t *testing.T) {
	for _, name := range recordedResponses {
		t.Run(name, func(t *testing.T) {
			r := readWireResponse(t, name)
			m := testResponsesMeta(goldenRequest)
			m.Encrypted = true
			resp, _, err := ResponsesFromGemini(&r, m)
			var out any = resp
			if err != nil {
				out = map[string]any{"error": err.Error()}
			}
			golden(t, "responses-api/output/"+strings.TrimSuffix(name, ".json")+".golden.json", indent(t, out))
		})
	}
}

// responsesEvents runs a recorded SSE body through the event reader and the Responses stream.
func responsesEvents(t *testing.T, body []byte, m ResponsesMeta) ([]openai.ResponseEvent, error) {
	t.Helper()
	er := gemini.NewEventReader(bytes.NewReader(body))
	s := NewResponsesStream(m)
	all := append([]openai.ResponseEvent(nil), s.Start()...) // Start's slice is reused by Event
	for {
		data, _, err := er.Next()
		if err != nil {
			break
		}
		var ev gemini.Response
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		events, err := s.Event(&ev)
		all = append(all, events...)
		if err != nil {
			return all, err
		}
	}
	end, _, _, err := s.End()
	return append(all, end...), err
}

// TestResponsesStreamGolden translates recorded streams into the exact event sequence, and
// checks the invariants every stream keeps: response.created first, sequence numbers 0, 1, 2…,
// items never interleaved, the last event the full response.
func TestResponsesStreamGolden(t *testing.T) {
	for _, name := range []string{
		"02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse",
		"04-streamGenerateContent-functionCall-thoughtSignature.mldev.derived.sse",
		"05-streamGenerateContent-partialArgs-thoughtSignature-gemini-3-pro.vertex.derived.sse",
		"08-streamGenerateContent-cachedContentTokenCount-toolUsePromptTokenCount.mldev.derived.sse",
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/wire/" + name)
			if err != nil {
				t.Fatal(err)
			}
			m := testResponsesMeta(goldenRequest)
			m.Encrypted = true
			events, err := responsesEvents(t, raw, m)
			if err != nil {
				t.Fatal(err)
			}
			checkEventInvariants(t, events)
			checkHandEncoded(t, events)
			golden(t, "responses-api/streams/"+strings.TrimSuffix(name, ".sse")+".golden.json", indent(t, events))
		})
	}
}

// checkHandEncoded checks that the gateway's SSE writer sends every event of a recorded stream
// through openai.AppendResponseEvent, not encoding/json, and that its bytes are encoding/json's
// (an Encoder without HTML escaping, as the writer's fallback).
func checkHandEncoded(t *testing.T, events []openai.ResponseEvent) {
	t.Helper()
	for i := range events {
		got, ok := openai.AppendResponseEvent(nil, &events[i])
		if !ok {
			t.Errorf("event %d (%s) is left to encoding/json", i, events[i].Type)
			continue
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&events[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("event %d (%s): hand-encoded bytes differ from encoding/json:\n got %s\nwant %s", i, events[i].Type, got, want.Bytes())
		}
	}
}

// TestResponsesStreamThoughts streams recorded sample 01 (a thought part, cut by MAX_TOKENS),
// sent as one SSE event, and pins the reasoning item's events: the summary part opens before its
// first delta, and the response ends incomplete.
func TestResponsesStreamThoughts(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire/01-generateContent-thoughts-usage.mldev.response.derived.json")
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	sse := append(append([]byte("data: "), compact.Bytes()...), "\r\n\r\n"...)
	events, err := responsesEvents(t, sse, testResponsesMeta(goldenRequest))
	if err != nil {
		t.Fatal(err)
	}
	checkEventInvariants(t, events)
	checkHandEncoded(t, events)
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	want := []string{openai.EventCreated, openai.EventInProgress,
		openai.EventItemAdded, openai.EventSummaryPartAdded, openai.EventSummaryTextDelta, openai.EventSummaryTextDone, openai.EventSummaryPartDone, openai.EventItemDone,
		openai.EventIncomplete}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n%v\nwant\n%v", types, want)
	}
}

func checkEventInvariants(t *testing.T, events []openai.ResponseEvent) {
	t.Helper()
	if len(events) < 3 || events[0].Type != openai.EventCreated || events[1].Type != openai.EventInProgress {
		t.Fatalf("stream does not start with created, in_progress: %d events", len(events))
	}
	open, summaryOpen := -1, false
	for i, e := range events {
		switch e.Type {
		case openai.EventSummaryPartAdded:
			summaryOpen = true
		case openai.EventSummaryTextDelta, openai.EventSummaryTextDone:
			if !summaryOpen {
				t.Errorf("event %d (%s) before response.reasoning_summary_part.added", i, e.Type)
			}
		case openai.EventSummaryPartDone:
			summaryOpen = false
		}
		if e.SequenceNumber != i {
			t.Errorf("event %d has sequence_number %d", i, e.SequenceNumber)
		}
		if e.OutputIndex != nil && e.Type != openai.EventItemAdded && *e.OutputIndex != open {
			t.Errorf("event %d (%s) is for item %d while item %d is open", i, e.Type, *e.OutputIndex, open)
		}
		switch e.Type {
		case openai.EventItemAdded:
			if open >= 0 {
				t.Errorf("event %d opens item %d inside item %d", i, *e.OutputIndex, open)
			}
			open = *e.OutputIndex
		case openai.EventItemDone:
			open = -1
		}
	}
	last := events[len(events)-1]
	if last.Type != openai.EventCompleted && last.Type != openai.EventIncomplete || last.Response == nil || last.Response.Usage == nil {
		t.Errorf("last event %s has no full response", last.Type)
	}
}

// TestEncryptedContentCarriesSignaturesBack pins the stateless round trip through
// encrypted_content: the signatures of a recorded Gemini 3 tool turn, sealed into the reasoning
// item, go back on exactly their parts when the client rebuilds the function_call items from
// call_id, name and arguments with call ids of its own.
func TestEncryptedContentCarriesSignaturesBack(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire/04-generateContent-functionCall-thoughtSignature.mldev.response.derived.json")
	if err != nil {
		t.Fatal(err)
	}
	var r gemini.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	want := r.Candidates[0].Content.Parts
	m := testResponsesMeta(goldenRequest)
	m.Encrypted = true
	resp, _, err := ResponsesFromGemini(&r, m)
	if err != nil {
		t.Fatal(err)
	}
	var enc string
	items := []openai.Item{{Role: "user", Content: &openai.ItemContent{Text: "weather?"}}}
	for _, it := range resp.Output {
		switch it.Type {
		case openai.ItemReasoning:
			enc = *it.EncryptedContent
			items = append(items, openai.Item{Type: openai.ItemReasoning, EncryptedContent: &enc})
		case openai.ItemFunctionCall:
			items = append(items, openai.Item{Type: openai.ItemFunctionCall, CallID: it.CallID, Name: it.Name, Arguments: it.Arguments})
		}
	}
	if enc == "" {
		t.Fatal("no encrypted_content on the reasoning item")
	}
	// The client rebuilt the calls with ids of its own: the signatures are not in them, only in
	// encrypted_content, which finds each call by position.
	n := 0
	for i := range items {
		if items[i].Type == openai.ItemFunctionCall {
			n++
			items[i].CallID = fmt.Sprintf("client-%d", n)
			items = append(items, openai.Item{Type: openai.ItemFunctionCallOutput, CallID: items[i].CallID, Output: &openai.ItemOutput{Text: "ok"}})
		}
	}
	m2 := items
	req := &openai.ResponsesRequest{Model: "gemini-3-pro-preview", Input: openai.Input{IsItems: true, Items: m2}}
	models, _ := NewModels("")
	tr, err := ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	model := tr.Request.Contents[1]
	for i, p := range want {
		if p.FunctionCall == nil {
			continue
		}
		var got *gemini.Part
		for j := range model.Parts {
			if model.Parts[j].FunctionCall != nil && model.Parts[j].FunctionCall.Name == p.FunctionCall.Name {
				got = &model.Parts[j]
			}
		}
		if got == nil || got.ThoughtSignature != p.ThoughtSignature {
			t.Errorf("part %d: signature %q did not come back (got %+v)", i, p.ThoughtSignature, got)
		}
	}
}

// TestEncryptedContentTamperedIsRefused pins that a modified or foreign encrypted_content is a
// 400 naming the item, never sent upstream.
func TestEncryptedContentTamperedIsRefused(t *testing.T) {
	good := seal(DefaultSealKey, &sealed{Text: "c2ln"})
	for _, enc := range []string{
		good[:len(good)-2] + "AA",                          // MAC changed
		strings.Replace(good, "gg1.", "gg2.", 1),           // unknown version
		seal([]byte("another key"), &sealed{Text: "c2ln"}), // foreign key
		"garbage",
	} {
		req := &openai.ResponsesRequest{Model: "gemini-3-pro-preview", Input: openai.Input{IsItems: true, Items: []openai.Item{
			{Role: "user", Content: &openai.ItemContent{Text: "x"}},
			{Type: openai.ItemReasoning, EncryptedContent: &enc},
			{Role: "assistant", Content: &openai.ItemContent{Text: "y"}},
			{Role: "user", Content: &openai.ItemContent{Text: "z"}},
		}}}
		models, _ := NewModels("")
		_, err := ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
		var e *openai.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != "input[1].encrypted_content" {
			t.Errorf("%q: got %v, want a 400 naming input[1].encrypted_content", enc, err)
		}
	}
	// The untampered value puts the text signature back on the assistant text.
	req := &openai.ResponsesRequest{Model: "gemini-3-pro-preview", Input: openai.Input{IsItems: true, Items: []openai.Item{
		{Role: "user", Content: &openai.ItemContent{Text: "x"}},
		{Type: openai.ItemReasoning, EncryptedContent: &good},
		{Role: "assistant", Content: &openai.ItemContent{Text: "y"}},
		{Role: "user", Content: &openai.ItemContent{Text: "z"}},
	}}}
	models, _ := NewModels("")
	tr, err := ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := tr.Request.Contents[1].Parts; len(p) != 1 || p[0].Text != "y" || p[0].ThoughtSignature != "c2ln" {
		t.Errorf("model turn = %+v", p)
	}
}

// TestImageSignaturesRoundTrip pins image output: the constructed Gemini 3 Pro Image answer (a
// signed text part, a signed image) becomes a message and an image_generation_call item, and
// sent back statelessly with the reasoning item's encrypted_content each signature returns to
// its own part, as image editing needs.
func TestImageSignaturesRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire/18-generateContent-image-signatures.constructed.json")
	if err != nil {
		t.Fatal(err)
	}
	var r gemini.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	m := testResponsesMeta(goldenRequest)
	m.Encrypted = true
	resp, _, err := ResponsesFromGemini(&r, m)
	if err != nil {
		t.Fatal(err)
	}
	items := []openai.Item{{Role: "user", Content: &openai.ItemContent{Text: "draw a cat"}}}
	items = append(items, resp.Output...)
	items = append(items, openai.Item{Role: "user", Content: &openai.ItemContent{Text: "make it blue"}})
	req := &openai.ResponsesRequest{Model: "gemini-3-pro-image-preview", Input: openai.Input{IsItems: true, Items: items}}
	models, _ := NewModels("")
	tr, err := ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := r.Candidates[0].Content.Parts
	got := tr.Request.Contents[1].Parts
	if len(got) != len(want) {
		t.Fatalf("model turn has %d parts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].ThoughtSignature != want[i].ThoughtSignature || (want[i].InlineData != nil) != (got[i].InlineData != nil) {
			t.Errorf("part %d: got signature %q, want %q", i, got[i].ThoughtSignature, want[i].ThoughtSignature)
		}
	}
}

// FuzzResponsesToGemini pins that a decoded Responses request never makes the translation panic
// or fail with anything but a 4xx naming the client's mistake; seeded from the golden requests.
func FuzzResponsesToGemini(f *testing.F) {
	files, _ := filepath.Glob("testdata/responses-api/requests/*.json")
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	models, _ := NewModels("")
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := openai.DefaultLimits.DecodeResponsesRequest(b)
		if err != nil {
			return
		}
		_, err = ResponsesToGemini(t.Context(), req, models, ResponsesOptions{})
		var e *openai.Error
		if err != nil && (!errors.As(err, &e) || e.Status/100 != 4) {
			t.Fatalf("error %v is not a 4xx", err)
		}
	})
}

// TestResponsesGrounding pins Google Search grounding on the way back (constructed sample, see
// testdata/responses-api/SOURCES.md): url_citation annotations with the supported segments'
// offsets on the output_text, and a web_search_call item with the queries and, when include asks,
// the sources.
func TestResponsesGrounding(t *testing.T) {
	raw, err := os.ReadFile("testdata/responses-api/grounding.constructed.json")
	if err != nil {
		t.Fatal(err)
	}
	var r gemini.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	m := testResponsesMeta(goldenRequest)
	m.Sources = true
	resp, _, err := ResponsesFromGemini(&r, m)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "responses-api/output/grounding.constructed.golden.json", indent(t, resp))
	if len(resp.Output) != 2 || resp.Output[1].Type != openai.ItemWebSearchCall || len(resp.Output[1].Action.Sources) != 2 {
		t.Fatalf("output = %+v", resp.Output)
	}
	if a := *resp.Output[0].Content.Parts[0].Annotations; len(a) != 3 || a[0].Type != "url_citation" || a[2].StartIndex != 21 || a[2].EndIndex != 57 {
		t.Errorf("annotations = %+v", a)
	}
}
