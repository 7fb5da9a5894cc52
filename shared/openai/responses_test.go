package openai

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	openaisdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

func decodeResponses(t *testing.T, body string) (*ResponsesRequest, error) {
	t.Helper()
	return DefaultLimits.DecodeResponsesRequest([]byte(body))
}

// TestDecodeResponsesDocumentedSamples pins that the documented request shapes decode into the
// fields translation reads (testdata/responses/SOURCES.md).
func TestDecodeResponsesDocumentedSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/responses/request-function-tools.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeResponses(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Input.IsItems || r.Input.Text != "What is the weather like in Boston today?" {
		t.Errorf("input = %+v", r.Input)
	}
	if len(r.Tools) != 1 || r.Tools[0].Name != "get_current_weather" || r.Tools[0].Strict == nil || !*r.Tools[0].Strict || len(r.Tools[0].Parameters) == 0 {
		t.Errorf("tools = %+v", r.Tools)
	}
	if r.ToolChoice == nil || r.ToolChoice.Mode != "auto" {
		t.Errorf("tool_choice = %+v", r.ToolChoice)
	}

	b, err = os.ReadFile("testdata/responses/request-items.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err = decodeResponses(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	it := r.Input.Items
	if len(it) != 5 {
		t.Fatalf("%d items", len(it))
	}
	if it[0].Role != "developer" || it[0].Content.Text != "Answer in JSON." {
		t.Errorf("item 0 = %+v", it[0])
	}
	if p := it[1].Content.Parts; len(p) != 2 || p[1].Type != "input_image" || p[1].Detail != "low" || !strings.HasPrefix(p[1].ImageURL, "data:image/png") {
		t.Errorf("item 1 parts = %+v", p)
	}
	if it[2].Type != ItemReference || it[2].ID != "rs_0123" {
		t.Errorf("item 2 = %+v", it[2])
	}
	if it[3].Type != ItemFunctionCall || it[3].CallID != "call_abc" || *it[3].Arguments != `{"city":"Paris"}` {
		t.Errorf("item 3 = %+v", it[3])
	}
	if it[4].Type != ItemFunctionCallOutput || it[4].Output.Text != `{"temp":21}` {
		t.Errorf("item 4 = %+v", it[4])
	}
	if r.Text.Format.Type != "json_schema" || r.Text.Format.Name != "answer" || len(r.Text.Format.Schema) == 0 {
		t.Errorf("text.format = %+v", r.Text.Format)
	}
	if r.Reasoning.Effort != "low" || r.Reasoning.Summary != "auto" || *r.Store != true || r.Include[0] != "reasoning.encrypted_content" || *r.MaxOutputTokens != 512 {
		t.Errorf("request = %+v", r)
	}
}

// TestDecodeResponsesFromOfficialClient pins that what the official Go client sends for a
// stateless tool turn decodes field for field.
func TestDecodeResponsesFromOfficialClient(t *testing.T) {
	p := responses.ResponseNewParams{
		Model:        shared.ResponsesModel("gemini-3-pro-preview"),
		Instructions: openaisdk.String("be brief"),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("weather in Paris and Rome?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_1", "get_weather"),
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{CallID: openaisdk.String("call_1"),
				Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openaisdk.String("21C")}}},
		}},
		Tools:             []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object"}, true)},
		ToolChoice:        responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "get_weather"}},
		ParallelToolCalls: openaisdk.Bool(true),
		MaxToolCalls:      openaisdk.Int(4),
		Temperature:       openaisdk.Float(0.5),
		TopLogprobs:       openaisdk.Int(2),
		Store:             openaisdk.Bool(false),
		Include:           []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
		Reasoning:         shared.ReasoningParam{Effort: shared.ReasoningEffortHigh, Summary: shared.ReasoningSummaryDetailed},
		Metadata:          shared.Metadata{"k": "v"},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeResponses(t, string(b))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if r.Instructions != "be brief" || len(r.Input.Items) != 3 || r.Input.Items[0].Role != "user" || r.Input.Items[2].CallID != "call_1" ||
		r.Input.Items[2].Output.Text != "21C" || r.ToolChoice.Function != "get_weather" || *r.MaxToolCalls != 4 || *r.TopLogprobs != 2 ||
		*r.Store || r.Reasoning.Effort != "high" || r.Reasoning.Summary != "detailed" || r.Metadata["k"] != "v" {
		t.Errorf("decoded %+v from %s", r, b)
	}
}

// TestDecodeResponsesRefusesUnknownKeys pins strict keys at every level: the request, an item,
// a part, google.
func TestDecodeResponsesRefusesUnknownKeys(t *testing.T) {
	for _, tc := range []struct{ body, param string }{
		{`{"model":"m","input":"x","bogus":1}`, "bogus"},
		{`{"model":"m","input":[{"role":"user","content":"x","colour":1}]}`, "input[0].colour"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"x","size":2}]}]}`, "input[0].content[0].size"},
		{`{"model":"m","input":"x","google":{"thinking_config":{"nope":1}}}`, "google.thinking_config.nope"},
		{`{"model":"m","input":7}`, "input"},
		{`{"input":"x"}`, "model"},
		{`{"model":"m","input":"x","tool_choice":{"type":"function"}}`, "tool_choice"},
	} {
		_, err := decodeResponses(t, tc.body)
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != tc.param {
			t.Errorf("%s: got %v, want a 400 naming %s", tc.body, err, tc.param)
		}
	}
}

// TestResponseShapesDecodeInOfficialClient pins that a response object and each kind of stream
// event we write decode in the official client with the values we meant (annotations as an empty
// array, the summary part under "part", sequence numbers).
func TestResponseShapesDecodeInOfficialClient(t *testing.T) {
	args := `{"city":"Paris"}`
	enc := "gg1.x"
	obj := ResponseObject{ID: "resp_1", Object: "response", CreatedAt: 7, Status: StatusCompleted, Model: "gemini-2.5-flash",
		Output: []Item{
			{Type: ItemReasoning, ID: "rs_1", Summary: &[]SummaryPart{{Type: "summary_text", Text: "thinking"}}, EncryptedContent: &enc},
			{Type: ItemMessage, ID: "msg_1", Status: StatusCompleted, Role: "assistant", Content: &ItemContent{IsParts: true, Parts: []ItemPart{{Type: "output_text", Text: "hi"}}}},
			{Type: ItemFunctionCall, ID: "fc_1", CallID: "call_1", Name: "get_weather", Arguments: &args, Status: StatusCompleted},
		},
		Usage: &ResponseUsage{InputTokens: 3, InputTokensDetails: InputTokensDetails{CachedTokens: 1}, OutputTokens: 5,
			OutputTokensDetails: OutputTokensDetails{ReasoningTokens: 2}, TotalTokens: 8},
		ToolChoice: json.RawMessage(`"auto"`), Tools: []ResponsesTool{}}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"annotations":[]`) {
		t.Errorf("output_text without an annotations array: %s", b)
	}
	var got responses.Response
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "resp_1" || got.OutputText() != "hi" || len(got.Output) != 3 || got.Output[0].Summary[0].Text != "thinking" ||
		got.Output[0].EncryptedContent != enc || got.Output[2].CallID != "call_1" || got.Output[2].Arguments.OfString != args ||
		got.Usage.InputTokensDetails.CachedTokens != 1 || got.Usage.OutputTokensDetails.ReasoningTokens != 2 || got.Usage.TotalTokens != 8 {
		t.Errorf("client decoded %+v from %s", got, b)
	}

	zero, d := 0, "th"
	ev := ResponseEvent{Type: EventSummaryPartAdded, SequenceNumber: 4, ItemID: "rs_1", OutputIndex: &zero, SummaryIndex: &zero,
		Part: &SummaryPart{Type: "summary_text"}}
	b, _ = json.Marshal(ev)
	var u responses.ResponseStreamEventUnion
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	if s := u.AsResponseReasoningSummaryPartAdded(); s.SequenceNumber != 4 || s.ItemID != "rs_1" || s.Part.Type != "summary_text" {
		t.Errorf("summary part added decoded as %+v from %s", s, b)
	}
	ev = ResponseEvent{Type: EventTextDelta, SequenceNumber: 9, ItemID: "msg_1", OutputIndex: &zero, ContentIndex: &zero, Delta: &d,
		Logprobs: &[]ResponseLogprob{}}
	b, _ = json.Marshal(ev)
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	if s := u.AsResponseOutputTextDelta(); s.SequenceNumber != 9 || s.Delta != "th" || !strings.Contains(string(b), `"logprobs":[]`) {
		t.Errorf("text delta decoded as %+v from %s", s, b)
	}
}

// FuzzDecodeResponsesRequest pins that the Responses decoder never panics: every body is a
// request or a 400, seeded from the documented samples and the table above.
func FuzzDecodeResponsesRequest(f *testing.F) {
	for _, name := range []string{"testdata/responses/request-function-tools.json", "testdata/responses/request-items.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"model":"m","input":"x","bogus":1}`, `{"model":"m","input":[{"id":"msg_1"}]}`, `[]`, `null`, `{`,
		`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"a"}]}],"tool_choice":{"type":"web_search"}}`,
		`{"model":"m","input":[{"type":"reasoning","summary":[{"type":"summary_text","text":"t"}],"encrypted_content":"gg1.a.b"}],"extra_body":{"google":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DefaultLimits.DecodeResponsesRequest(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if r == nil || r.Model == "" {
			t.Fatal("no error and no request with a model")
		}
	})
}
