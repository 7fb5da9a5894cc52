package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/store"
)

// TestResponsesThroughOpenAIClient pins the unary Responses path end to end through the
// official client: reasoning summary from thought parts, the answer as an output_text message,
// usage with chat's formula, and Gemini getting instructions as systemInstruction.
func TestResponsesThroughOpenAIClient(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	resp, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{
		Model:           "gemini-2.5-flash",
		Instructions:    oai.String("Be brief."),
		Input:           responses.ResponseNewParamsInputUnion{OfString: oai.String("Say hello")},
		MaxOutputTokens: oai.Int(100),
		Reasoning:       shared.ReasoningParam{Summary: shared.ReasoningSummaryAuto},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "Hello there!" || resp.Status != responses.ResponseStatusCompleted || !strings.HasPrefix(resp.ID, "resp_") {
		t.Errorf("response %s %q %q", resp.ID, resp.Status, resp.OutputText())
	}
	if len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" || resp.Output[0].Summary[0].Text != "Thinking about greetings." {
		t.Errorf("output = %s", resp.RawJSON())
	}
	u := resp.Usage
	if u.InputTokens != 8 || u.OutputTokens != 8 || u.TotalTokens != 16 || u.InputTokensDetails.CachedTokens != 2 || u.OutputTokensDetails.ReasoningTokens != 5 {
		t.Errorf("usage = %+v", u)
	}
	body := g.up.lastBody()
	si, _ := json.Marshal(body["systemInstruction"])
	if !strings.Contains(string(si), "Be brief.") {
		t.Errorf("systemInstruction = %s", si)
	}
	gc := body["generationConfig"].(map[string]any)
	if gc["maxOutputTokens"] != float64(100) || gc["thinkingConfig"].(map[string]any)["includeThoughts"] != true {
		t.Errorf("generationConfig = %v", gc)
	}
}

func sseBody(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "alt=sse") {
			http.Error(w, "want alt=sse", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(body)
	}
}

// TestResponsesStreamThroughAccumulator pins streaming end to end with a recorded Gemini stream:
// the official client decodes every event, sequence numbers count up from 0 with
// response.created first, and the SDK's accumulator rebuilds the same text and usage that the
// terminal event carries (response.incomplete: the recording ends with MAX_TOKENS).
func TestResponsesStreamThroughAccumulator(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire/02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse")
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, newUpstream(t, sseBody(raw)), nil)
	stream := g.client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "gemini-2.5-flash", Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("Why is the sky blue?")}})
	var acc responses.ResponseAccumulator
	var types []string
	var deltas strings.Builder
	var final responses.Response
	n := int64(0)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != n {
			t.Errorf("event %d (%s) has sequence_number %d", n, ev.Type, ev.SequenceNumber)
		}
		n++
		types = append(types, ev.Type)
		var se responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &se); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(se); err != nil {
			t.Fatalf("accumulator: %v", err)
		}
		switch ev.Type {
		case "response.output_text.delta":
			deltas.WriteString(ev.Delta)
		case "response.completed", "response.incomplete":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(types) < 8 || types[0] != "response.created" || types[1] != "response.in_progress" || types[len(types)-1] != "response.incomplete" {
		t.Fatalf("event types = %v", types)
	}
	rebuilt, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatal(err)
	}
	text := final.OutputText()
	if !strings.HasPrefix(text, "The sky is blue primarily") || deltas.String() != text || rebuilt.OutputText() != text || acc.Snapshot().OutputText() != text {
		t.Errorf("final %q, deltas %q, rebuilt %q", text, deltas.String(), rebuilt.OutputText())
	}
	if final.IncompleteDetails.Reason != "max_output_tokens" || final.Output[0].Status != "incomplete" {
		t.Errorf("incomplete_details %+v, message status %q", final.IncompleteDetails, final.Output[0].Status)
	}
	if final.Usage.TotalTokens == 0 || rebuilt.Usage.TotalTokens != final.Usage.TotalTokens {
		t.Errorf("usage final %+v rebuilt %+v", final.Usage, rebuilt.Usage)
	}
}

// A Gemini 3 tool turn: two parallel calls, the signature on the first only, as Gemini 3 signs
// parallel calls (https://ai.google.dev/gemini-api/docs/thought-signatures).
const parallelCallsAnswer = `{"candidates":[{"content":{"role":"model","parts":[
 {"text":"Two cities, two calls.","thought":true},
 {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnLWZvci1wYXJpcw=="},
 {"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},"finishReason":"STOP","index":0}],
 "usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":10,"thoughtsTokenCount":4,"totalTokenCount":34}}`

const finalAnswer = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris 21C, Rome 25C."}]},"finishReason":"STOP","index":0}],
 "usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":8,"totalTokenCount":48}}`

// gemini3SignatureChecker is a fake Gemini 3: the first turn gets the parallel calls; a turn that sends
// them back must carry the signature on the first functionCall part, or it gets Gemini's own 400.
func gemini3SignatureChecker(t *testing.T) http.HandlerFunc {
	reject, err := os.ReadFile("testdata/wire/14-error-400-missing-thought_signature.mldev.json")
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					FunctionCall     *struct{ Name string } `json:"functionCall"`
					ThoughtSignature string                 `json:"thoughtSignature"`
				} `json:"parts"`
			} `json:"contents"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("upstream body: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		if len(body.Contents) == 1 {
			_, _ = io.WriteString(w, parallelCallsAnswer)
			return
		}
		for _, c := range body.Contents {
			if c.Role != "model" {
				continue
			}
			first := true
			for _, p := range c.Parts {
				if p.FunctionCall == nil {
					continue
				}
				if first && p.ThoughtSignature != "c2lnLWZvci1wYXJpcw==" || !first && p.ThoughtSignature != "" {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write(reject)
					return
				}
				first = false
			}
		}
		_, _ = io.WriteString(w, finalAnswer)
	}
}

var weatherTool = []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
	map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}, false)}

// TestResponsesToolConversationGemini3 pins the stateless two-turn parallel tool conversation
// on a Gemini 3 model whose fake upstream rejects the second turn unless the signature is back
// on the first functionCall part: once with the output items sent back as returned, once with
// the client rebuilding the function_call items from call_id, name and arguments only.
func TestResponsesToolConversationGemini3(t *testing.T) {
	for _, mode := range []string{"items as returned", "rebuilt from call_id, name, arguments"} {
		t.Run(mode, func(t *testing.T) {
			g := newGateway(t, newUpstream(t, gemini3SignatureChecker(t)), nil)
			input := responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage("Weather in Paris and Rome?", responses.EasyInputMessageRoleUser)}
			first, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{
				Model: "gemini-3-pro-preview", Tools: weatherTool, Store: oai.Bool(false),
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			if err != nil {
				t.Fatal(err)
			}
			var calls []responses.ResponseOutputItemUnion
			for _, it := range first.Output {
				switch it.Type {
				case "function_call":
					calls = append(calls, it)
					if mode == "rebuilt from call_id, name, arguments" {
						input = append(input, responses.ResponseInputItemParamOfFunctionCall(it.Arguments.OfString, it.CallID, it.Name))
						continue
					}
				case "reasoning":
					if it.EncryptedContent == "" {
						t.Error("store: false and no encrypted_content on the reasoning item")
					}
					if mode == "rebuilt from call_id, name, arguments" {
						continue
					}
				}
				var p responses.ResponseInputItemUnionParam
				if err := json.Unmarshal([]byte(it.RawJSON()), &p); err != nil {
					t.Fatal(err)
				}
				input = append(input, p)
			}
			if len(calls) != 2 || calls[0].CallID == calls[1].CallID {
				t.Fatalf("want two calls with distinct call ids, got %s", first.RawJSON())
			}
			for i, c := range calls {
				out := map[int]string{0: "21C", 1: "25C"}[i]
				input = append(input, responses.ResponseInputItemUnionParam{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
					CallID: oai.String(c.CallID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: oai.String(out)}}})
			}
			second, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{
				Model: "gemini-3-pro-preview", Tools: weatherTool, Store: oai.Bool(false),
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			if err != nil {
				t.Fatalf("second turn: %v", err)
			}
			if second.OutputText() != "Paris 21C, Rome 25C." {
				t.Errorf("second turn answered %s", second.RawJSON())
			}
		})
	}
}

// TestResponsesRefusals pins that fields the gateway cannot honour are a 400 api_not_implemented
// naming them, through the official client.
func TestResponsesRefusals(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	in := responses.ResponseNewParamsInputUnion{OfString: oai.String("x")}
	for _, tc := range []struct {
		param  string
		params responses.ResponseNewParams
	}{
		{"background", responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, Background: oai.Bool(true)}},
		{"service_tier", responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, ServiceTier: responses.ResponseNewParamsServiceTierFlex}},
		{"conversation", responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, Conversation: responses.ResponseNewParamsConversationUnion{OfString: oai.String("conv_1")}}},
		{"tools[0].type", responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, Tools: []responses.ToolUnionParam{{OfImageGeneration: &responses.ToolImageGenerationParam{}}}}},
	} {
		_, err := g.client.Responses.New(t.Context(), tc.params)
		var apiErr *oai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "api_not_implemented" || apiErr.Param != tc.param {
			t.Errorf("%s: got %v, want a 400 api_not_implemented naming it", tc.param, err)
		}
	}
	if n := g.up.calls.Load(); n != 0 {
		t.Errorf("refused requests reached the upstream %d times", n)
	}
}

// TestResponsesStreamErrorAfterFirstByte pins that a stream failing after its first event ends
// with one "error" event numbered after the others, which the official client reports as the
// stream's error, and never a second status line.
func TestResponsesStreamErrorAfterFirstByte(t *testing.T) {
	g := newGateway(t, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}]}\r\n\r\n")
		// the stream ends without a finishReason: the upstream died mid-way
	}), nil)
	stream := g.client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "gemini-2.5-flash", Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("hi")}})
	var last responses.ResponseStreamEventUnion
	n := 0
	for stream.Next() {
		last = stream.Current()
		n++
	}
	err := stream.Err()
	if err == nil || !strings.Contains(err.Error(), "upstream_error") {
		t.Fatalf("stream error = %v after %d events (last %s)", err, n, last.Type)
	}
	if n < 4 || last.Type != "response.output_text.delta" {
		t.Errorf("%d events before the error, last %s", n, last.Type)
	}
}

// storedGateway is a gateway with stored responses in a temporary folder and two keys.
func storedGateway(t *testing.T, up *upstream) (*gw, oai.Client) {
	t.Helper()
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, up, func(o *gateway.Options) {
		set, err := keys.ParseList("tester:" + testKey + ",other:" + otherKey)
		if err != nil {
			t.Fatal(err)
		}
		o.Keys, o.Store = keys.NewStore(set), dir
	})
	return g, oai.NewClient(option.WithBaseURL(g.srv.URL+"/v1"), option.WithAPIKey(otherKey), option.WithMaxRetries(0))
}

func functionOutputs(calls []responses.ResponseOutputItemUnion) responses.ResponseInputParam {
	var in responses.ResponseInputParam
	for i, c := range calls {
		in = append(in, responses.ResponseInputItemUnionParam{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
			CallID: oai.String(c.CallID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: oai.String([]string{"21C", "25C"}[i])}}})
	}
	return in
}

func callsOf(r *responses.Response) []responses.ResponseOutputItemUnion {
	var calls []responses.ResponseOutputItemUnion
	for _, it := range r.Output {
		if it.Type == "function_call" {
			calls = append(calls, it)
		}
	}
	return calls
}

// TestResponsesToolConversationPreviousResponseID pins the stored two-turn parallel tool
// conversation on Gemini 3: the second turn sends only the function outputs and
// previous_response_id, and the gateway puts the stored turn, with the signature on its first
// functionCall part, back in front (the fake upstream rejects it otherwise). A third form sends
// item_references to the stored calls instead, as the Vercel AI SDK does with store on.
func TestResponsesToolConversationPreviousResponseID(t *testing.T) {
	for _, mode := range []string{"previous_response_id", "item_reference"} {
		t.Run(mode, func(t *testing.T) {
			g, _ := storedGateway(t, newUpstream(t, gemini3SignatureChecker(t)))
			user := responses.ResponseInputItemParamOfMessage("Weather in Paris and Rome?", responses.EasyInputMessageRoleUser)
			first, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{
				Model: "gemini-3-pro-preview", Tools: weatherTool,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{user}}})
			if err != nil {
				t.Fatal(err)
			}
			if !storeFlag(t, first) {
				t.Fatal("store defaults to true but the response says it was not stored")
			}
			calls := callsOf(first)
			if len(calls) != 2 {
				t.Fatalf("calls: %s", first.RawJSON())
			}
			for _, it := range first.Output {
				if it.EncryptedContent != "" {
					t.Errorf("encrypted_content returned without include: %s", it.RawJSON())
				}
			}
			p := responses.ResponseNewParams{Model: "gemini-3-pro-preview", Tools: weatherTool}
			if mode == "previous_response_id" {
				p.PreviousResponseID = oai.String(first.ID)
				p.Input.OfInputItemList = functionOutputs(calls)
			} else {
				in := responses.ResponseInputParam{user}
				for _, it := range first.Output {
					in = append(in, responses.ResponseInputItemParamOfItemReference(it.ID))
				}
				p.Input.OfInputItemList = append(in, functionOutputs(calls)...)
			}
			second, err := g.client.Responses.New(t.Context(), p)
			if err != nil {
				var apiErr *oai.Error
				if errors.As(err, &apiErr) {
					t.Fatalf("second turn: %v: %s", err, apiErr.RawJSON())
				}
				t.Fatalf("second turn: %v", err)
			}
			if second.OutputText() != "Paris 21C, Rome 25C." {
				t.Errorf("second turn answered %s", second.RawJSON())
			}
		})
	}
}

// TestResponsesErrorsNameTheClientsItems pins that with previous_response_id, whose stored turns
// go in front of the input, an error still names the client's own input item.
func TestResponsesErrorsNameTheClientsItems(t *testing.T) {
	g, _ := storedGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)))
	first, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash",
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash", PreviousResponseID: oai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{CallID: oai.String("call_unknown"),
				Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: oai.String("x")}}}}}})
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "input[0].call_id" {
		t.Errorf("got %v, want a 400 naming input[0].call_id", err)
	}
}

// TestResponsesStoredVisibleOnlyToItsKey pins GET, input_items and DELETE of a stored response
// for the key that created it, and 404 for another key on every route (previous_response_id
// included), without revealing that the response exists.
func TestResponsesStoredVisibleOnlyToItsKey(t *testing.T) {
	g, other := storedGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)))
	created, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Be brief.", responses.EasyInputMessageRoleDeveloper),
			responses.ResponseInputItemParamOfMessage("Say hello", responses.EasyInputMessageRoleUser)}}})
	if err != nil {
		t.Fatal(err)
	}
	notFound := func(what string, err error) {
		t.Helper()
		var apiErr *oai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Errorf("%s by another key: got %v, want 404", what, err)
		}
	}
	_, err = other.Responses.Get(t.Context(), created.ID, responses.ResponseGetParams{})
	notFound("GET", err)
	_, err = other.Responses.InputItems.List(t.Context(), created.ID, responses.InputItemListParams{})
	notFound("input_items", err)
	notFound("DELETE", other.Responses.Delete(t.Context(), created.ID))
	_, err = other.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash", PreviousResponseID: oai.String(created.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("again")}})
	notFound("previous_response_id", err)

	got, err := g.client.Responses.Get(t.Context(), created.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || got.OutputText() != "Hello there!" || got.Usage.TotalTokens != created.Usage.TotalTokens {
		t.Errorf("GET returned %s", got.RawJSON())
	}
	page, err := g.client.Responses.InputItems.List(t.Context(), created.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].Role != "developer" || page.Data[1].Role != "user" || page.Data[1].ID == "" {
		t.Errorf("input_items = %s", page.RawJSON())
	}
	if err := g.client.Responses.Delete(t.Context(), created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = g.client.Responses.Get(t.Context(), created.ID, responses.ResponseGetParams{})
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("GET after DELETE: %v, want 404", err)
	}
}

// TestResponsesNotStoredWhenAskedOrWithoutStore pins store: false (nothing kept, GET is 404,
// the object says store false) and a gateway without a store (store: true answered with
// "store": false, previous_response_id refused by name).
func TestResponsesNotStoredWhenAskedOrWithoutStore(t *testing.T) {
	g, _ := storedGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)))
	in := responses.ResponseNewParamsInputUnion{OfString: oai.String("hi")}
	r, err := g.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, Store: oai.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if storeFlag(t, r) {
		t.Error("store: false answered with store true")
	}
	if _, err := g.client.Responses.Get(t.Context(), r.ID, responses.ResponseGetParams{}); err == nil {
		t.Error("an unstored response was found")
	}

	plain := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	r, err = plain.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in})
	if err != nil {
		t.Fatal(err)
	}
	if storeFlag(t, r) {
		t.Error("a gateway without a store answered store true")
	}
	_, err = plain.client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gemini-2.5-flash", Input: in, PreviousResponseID: oai.String(r.ID)})
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "previous_response_id" {
		t.Errorf("previous_response_id without a store: %v", err)
	}
}

// storeFlag returns the response object's "store" (the Go client's Response has no field for it).
func storeFlag(t *testing.T, r *responses.Response) bool {
	t.Helper()
	var v struct{ Store *bool }
	if err := json.Unmarshal([]byte(r.RawJSON()), &v); err != nil || v.Store == nil {
		t.Fatalf("no store in %s", r.RawJSON())
	}
	return *v.Store
}

const (
	helloEvent = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}]}`
	helloLast  = `{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}`
)

// TestResponsesStreamKeepAliveAndDisconnect pins that the Responses stream runs on chat's
// streaming machinery: while Gemini is silent the client gets keep-alive comments between typed
// events, and a client that goes away cancels the upstream request.
func TestResponsesStreamKeepAliveAndDisconnect(t *testing.T) {
	resume := make(chan struct{})
	canceled := make(chan struct{})
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: "+helloEvent+"\r\n\r\n")
		w.(http.Flusher).Flush()
		wait := resume
		if up.calls.Load() > 1 {
			wait = nil // the second request only ends when its client goes away
		}
		select {
		case <-wait:
			_, _ = io.WriteString(w, "data: "+helloLast+"\r\n\r\n")
		case <-r.Context().Done():
			close(canceled)
		}
	})
	g := newGateway(t, up, func(o *gateway.Options) { o.KeepAlive = 5 * time.Millisecond })
	post := func(ctx context.Context) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+"/v1/responses",
			strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"input":"hi"}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// Keep-alive: Gemini holds after its first event until the client has seen a comment.
	resp := post(t.Context())
	br := bufio.NewReader(resp.Body)
	var events []string
	kept := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(line, ": keep-alive") && !kept {
			kept = true
			close(resume)
		}
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			events = append(events, strings.TrimSpace(name))
		}
	}
	resp.Body.Close()
	if !kept || len(events) == 0 || events[len(events)-1] != "response.completed" {
		t.Errorf("keep-alive seen %v, events %v", kept, events)
	}

	// Disconnect: the client goes away after the first text delta; the upstream sees it.
	ctx, cancel := context.WithCancel(t.Context())
	resp = post(ctx)
	br = bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before a text delta: %v", err)
		}
		if strings.HasPrefix(line, "event: response.output_text.delta") {
			break
		}
	}
	cancel()
	resp.Body.Close()
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not canceled after the client went away")
	}
}
