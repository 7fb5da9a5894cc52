package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/media"
)

// part returns contents[c].parts[p] of a recorded upstream body.
func part(body map[string]any, c, p int) map[string]any {
	return body["contents"].([]any)[c].(map[string]any)["parts"].([]any)[p].(map[string]any)
}

// TestImageInput pins image_url input through the official client: a data URI is inlined with
// its own mime type, and an https URL is fetched (private addresses allowed for the test) and
// inlined with the served Content-Type.
func TestImageInput(t *testing.T) {
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/webp")
		_, _ = w.Write([]byte("RIFF0000WEBPVP8 fake"))
	}))
	defer img.Close()
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) {
		o.Fetcher = media.NewFetcher(media.Options{AllowPrivate: true})
		o.FetchHTTPMedia = true
	})
	_, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage([]oai.ChatCompletionContentPartUnionParam{
			oai.TextContentPart("Compare these"),
			oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
			oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: img.URL + "/photo"}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := g.up.lastBody()
	if got := fmt.Sprint(part(body, 0, 1)["inlineData"]); got != "map[data:iVBORw0KGgo= mimeType:image/png]" {
		t.Errorf("data URI part = %s", got)
	}
	if got := fmt.Sprint(part(body, 0, 2)["inlineData"]); got != "map[data:UklGRjAwMDBXRUJQVlA4IGZha2U= mimeType:image/webp]" {
		t.Errorf("fetched part = %s", got)
	}
}

// TestFetchRefusedSendsNothing pins the SSRF guard: a private address is refused with a 400
// and nothing goes upstream.
func TestFetchRefusedSendsNothing(t *testing.T) {
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("private server was fetched") }))
	defer img.Close()
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) {
		o.Fetcher = media.NewFetcher(media.Options{})
		o.FetchHTTPMedia = true
	})
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"`+img.URL+`/a.png"}}]}]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "invalid_request") || g.up.calls.Load() != 0 {
		t.Errorf("%d %s (upstream calls %d)", resp.StatusCode, b, g.up.calls.Load())
	}
}

// TestStructuredOutput pins json_schema: Gemini gets responseJsonSchema (strict dropped,
// $defs kept) and the answer parses into the caller's struct.
func TestStructuredOutput(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"{\"city\":\"Paris\",\"country\":{\"name\":\"France\"},\"population\":null}"}]},"finishReason":"STOP"}]}`)), nil)
	schema := map[string]any{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "country": map[string]any{"$ref": "#/$defs/Country"}, "population": map[string]any{"anyOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": "null"}}}},
		"required":   []string{"city", "country", "population"}, "additionalProperties": false,
		"$defs": map[string]any{"Country": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}, "additionalProperties": false}},
	}
	resp, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{
		Model:    "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Capital of France?")},
		ResponseFormat: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "Answer", Strict: oai.Bool(true), Schema: schema}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		City    string
		Country struct{ Name string }
	}
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &out); err != nil || out.City != "Paris" || out.Country.Name != "France" {
		t.Errorf("parsed %+v from %q: %v", out, resp.Choices[0].Message.Content, err)
	}
	gc := g.up.lastBody()["generationConfig"].(map[string]any)
	js, _ := json.Marshal(gc["responseJsonSchema"])
	if gc["responseMimeType"] != "application/json" || strings.Contains(string(js), "strict") || !strings.Contains(string(js), `"$defs"`) {
		t.Errorf("generationConfig = %v", gc)
	}
}

const (
	sigParis = "c2lnLXBhcmlz" // base64("sig-paris")
	twoCalls = `{"candidates":[{"content":{"role":"model","parts":[
	 {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"` + sigParis + `"},
	 {"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},"finishReason":"STOP"}],
	 "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":10,"totalTokenCount":20}}`
)

// signatureChecker is a fake Gemini 3 that answers the first turn with two parallel calls
// (the signature on the first only, as Gemini does) and rejects the second turn, as the real
// API does (sample 14), unless the signature is back on exactly the first call's part.
func signatureChecker(t *testing.T) http.HandlerFunc {
	var turn atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if turn.Add(1) == 1 {
			jsonResponse(twoCalls)(w, r)
			return
		}
		var req struct {
			Contents []struct {
				Role  string
				Parts []map[string]any
			}
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &req)
		model := req.Contents[1]
		ok := len(req.Contents) == 3 && model.Role == "model" && len(model.Parts) == 2 &&
			model.Parts[0]["thoughtSignature"] == sigParis && model.Parts[1]["thoughtSignature"] == nil &&
			fmt.Sprint(model.Parts[0]["functionCall"]) == "map[args:map[city:Paris] name:get_weather]"
		resps := req.Contents[2].Parts
		ok = ok && len(resps) == 2 && fmt.Sprint(resps[0]["functionResponse"]) == "map[name:get_weather response:map[output:sunny]]" &&
			fmt.Sprint(resps[1]["functionResponse"]) == "map[name:get_weather response:map[output:rainy]]"
		if !ok {
			t.Logf("second turn rejected: %s", b)
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Function call is missing a thought_signature in functionCall parts.","status":"INVALID_ARGUMENT"}}`)
			return
		}
		jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris sunny, Rome rainy."}]},"finishReason":"STOP"}]}`)(w, r)
	}
}

// TestParallelToolCallsRoundTripSignatures runs a two-turn parallel tool-call conversation on a
// Gemini 3 model twice: once with a client that keeps extra_content, once with the official
// SDK's ToParam, which drops it (the signature then comes back through the call id).
func TestParallelToolCallsRoundTripSignatures(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep_extra_content=%v", keep), func(t *testing.T) {
			g := newGateway(t, newUpstream(t, signatureChecker(t)), nil)
			tools := []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})}
			msgs := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Weather in Paris and Rome?")}
			first, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-3.1-pro", Messages: msgs, Tools: tools})
			if err != nil {
				t.Fatal(err)
			}
			msg := first.Choices[0].Message
			if len(msg.ToolCalls) != 2 || msg.ToolCalls[0].ID == msg.ToolCalls[1].ID || string(first.Choices[0].FinishReason) != "tool_calls" {
				t.Fatalf("first turn: %s", first.RawJSON())
			}
			if sig := extraContent(msg.ToolCalls[0].RawJSON()); !strings.Contains(string(sig), sigParis) {
				t.Errorf("extra_content of call 0 = %s", sig)
			}
			param := msg.ToParam()
			if keep {
				// A client that echoes the assistant message as it came, extra_content included.
				for i, tc := range msg.ToolCalls {
					if raw := extraContent(tc.RawJSON()); raw != nil {
						param.OfAssistant.ToolCalls[i].OfFunction.SetExtraFields(map[string]any{"extra_content": raw})
					}
					// and ids without the embedded signature, so only extra_content carries it
					param.OfAssistant.ToolCalls[i].OfFunction.ID = fmt.Sprintf("plain_%d", i)
				}
			}
			ids := []string{param.OfAssistant.ToolCalls[0].OfFunction.ID, param.OfAssistant.ToolCalls[1].OfFunction.ID}
			// Results arrive in the reverse order; the gateway restores call order.
			msgs = append(msgs, param, oai.ToolMessage("rainy", ids[1]), oai.ToolMessage("sunny", ids[0]))
			second, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-3.1-pro", Messages: msgs, Tools: tools})
			if err != nil {
				t.Fatalf("second turn: %v", err)
			}
			if second.Choices[0].Message.Content != "Paris sunny, Rome rainy." {
				t.Errorf("second turn = %s", second.RawJSON())
			}
		})
	}
}

// TestStreamedParallelCalls pins per-stream monotonic indexes and unique ids for two calls of
// the same function arriving in separate events, each with complete arguments.
func TestStreamedParallelCalls(t *testing.T) {
	g := newGateway(t, newUpstream(t, sseEvents(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me check.","thought":true}]}}]}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"`+sigParis+`"}]}}]}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":9,"candidatesTokenCount":6}}`,
	)), nil)
	stream := g.client.Chat.Completions.NewStreaming(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-3.1-pro",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Weather?")}})
	acc := oai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID == calls[1].ID || calls[0].Function.Arguments != `{"city":"Paris"}` || calls[1].Function.Arguments != `{"city":"Rome"}` {
		t.Fatalf("accumulated calls = %+v", calls)
	}
	if !strings.Contains(calls[0].ID, "__ts__") || strings.Contains(calls[1].ID, "__ts__") {
		t.Errorf("signature embedding: %q %q", calls[0].ID, calls[1].ID)
	}
	if string(acc.Choices[0].FinishReason) != "tool_calls" {
		t.Errorf("finish = %q", acc.Choices[0].FinishReason)
	}
}

// TestImageOutput pins image generation: modalities -> responseModalities, the image in
// message.audio with extra_content.google.mime_type (as Vertex does) and in message.images.
func TestImageOutput(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[
	  {"text":"Here is a cat."},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="},"thoughtSignature":"aW1n"}]},"finishReason":"STOP"}]}`)), nil)
	resp, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-3-pro-image",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Draw a cat")}, Modalities: []string{"text", "image"}})
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	if m.Audio.Data != "iVBORw0KGgo=" || !strings.Contains(m.Audio.JSON.ExtraFields["extra_content"].Raw(), `"mime_type":"image/png"`) {
		t.Errorf("audio = %s", m.Audio.RawJSON())
	}
	if imgs := m.JSON.ExtraFields["images"].Raw(); !strings.Contains(imgs, "data:image/png;base64,iVBORw0KGgo=") {
		t.Errorf("images = %s", imgs)
	}
	if sig := m.JSON.ExtraFields["extra_content"].Raw(); !strings.Contains(sig, "aW1n") {
		t.Errorf("message extra_content = %s", sig)
	}
	gc := g.up.lastBody()["generationConfig"].(map[string]any)
	if fmt.Sprint(gc["responseModalities"]) != "[TEXT IMAGE]" {
		t.Errorf("generationConfig = %v", gc)
	}
}

// TestGroundingAnnotations pins web_search_options -> googleSearch and grounding sources as
// url_citation annotations.
func TestGroundingAnnotations(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Spain won Euro 2024."}]},"finishReason":"STOP",
	  "groundingMetadata":{"webSearchQueries":["euro 2024 winner"],"groundingChunks":[{"web":{"uri":"https://uefa.example/euro","title":"uefa.example"}}],
	  "groundingSupports":[{"segment":{"startIndex":0,"endIndex":20,"text":"Spain won Euro 2024."},"groundingChunkIndices":[0]}]}}]}`)), nil)
	resp, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-3-flash",
		Messages:         []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Who won Euro 2024?")},
		WebSearchOptions: oai.ChatCompletionNewParamsWebSearchOptions{SearchContextSize: "low"}})
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Choices[0].Message.Annotations
	if len(a) != 1 || a[0].URLCitation.URL != "https://uefa.example/euro" || a[0].URLCitation.EndIndex != 20 {
		t.Errorf("annotations = %+v", a)
	}
	if tools := fmt.Sprint(g.up.lastBody()["tools"]); tools != "[map[googleSearch:map[]]]" {
		t.Errorf("tools = %s", tools)
	}
}

func extraContent(raw string) json.RawMessage {
	var v struct {
		ExtraContent json.RawMessage `json:"extra_content"`
	}
	_ = json.Unmarshal([]byte(raw), &v)
	return v.ExtraContent
}
