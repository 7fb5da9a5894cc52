package gateway_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/media"
)

// Tests of issue 11 (Gemini fidelity, round 2) and issue 12 items 2 and 7, through the official
// OpenAI Go client against the handler and a fake Gemini that records what it receives.

const vertexUsage = `"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6,"trafficType":"ON_DEMAND"}`

// TestStreamChunkShapes pins seed 000's stream: with a usage chunk coming (the default, or
// include_usage), every chunk before it carries "usage": null and every choice a finish_reason
// (null until the finishing chunk); the usage chunk has choices []. With include_usage false
// there is no usage chunk and no usage field.
func TestStreamChunkShapes(t *testing.T) {
	events := sseEvents(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}]}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],`+vertexUsage+`}`)
	for _, tc := range []struct {
		name      string
		opts      oai.ChatCompletionStreamOptionsParam
		wantUsage bool
	}{
		{"default", oai.ChatCompletionStreamOptionsParam{}, true},
		{"include_usage", oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}, true},
		{"no_usage", oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, newUpstream(t, events), nil)
			stream := g.client.Chat.Completions.NewStreaming(t.Context(), oai.ChatCompletionNewParams{
				Model: "gemini-2.5-flash", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}, StreamOptions: tc.opts})
			var chunks []oai.ChatCompletionChunk
			for stream.Next() {
				chunks = append(chunks, stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			content := chunks
			if tc.wantUsage {
				last := chunks[len(chunks)-1]
				content = chunks[:len(chunks)-1]
				if len(last.Choices) != 0 || last.JSON.Choices.Raw() != "[]" || last.Usage.TotalTokens != 6 {
					t.Errorf("usage chunk = %s", last.RawJSON())
				}
			}
			for i, c := range content {
				if got := c.JSON.Usage.Raw(); tc.wantUsage && got != "null" || !tc.wantUsage && c.JSON.Usage.Valid() {
					t.Errorf("chunk %d usage field = %q: %s", i, got, c.RawJSON())
				}
				for _, ch := range c.Choices {
					want := "null"
					if i == len(content)-1 {
						want = `"stop"`
					}
					if got := ch.JSON.FinishReason.Raw(); got != want {
						t.Errorf("chunk %d finish_reason = %s, want %s", i, got, want)
					}
				}
			}
		})
	}
}

// TestStreamErrorEventIsTheErrorBody pins the final event of a stream that fails after its first
// byte: the body every other error has (success false, error{message,type,code,param},
// trace_id, the same id as the X-Request-Id header), and nothing after it.
func TestStreamErrorEventIsTheErrorBody(t *testing.T) {
	g := newGateway(t, newUpstream(t, sseEvents(`{"candidates":[{"content":{"role":"model","parts":[{"text":"partial"}]}}]}`)), nil)
	var resp *http.Response
	stream := g.client.Chat.Completions.NewStreaming(t.Context(), oai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}},
		option.WithResponseInto(&resp))
	for stream.Next() {
	}
	var se *ssestream.StreamError
	if err := stream.Err(); !errors.As(err, &se) {
		t.Fatalf("stream error = %v, want the error event", err)
	}
	var body struct {
		Success *bool `json:"success"`
		Error   struct {
			Message, Type, Code string
			Param               *string
		} `json:"error"`
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(se.Event.Data, &body); err != nil {
		t.Fatal(err)
	}
	if body.Success == nil || *body.Success || body.Error.Code != "upstream_error" || body.Error.Type != "api_error" ||
		body.Error.Message == "" || body.TraceID == "" || body.TraceID != resp.Header.Get("X-Request-Id") {
		t.Errorf("error event = %s (x-request-id %q)", se.Event.Data, resp.Header.Get("X-Request-Id"))
	}
	if !strings.Contains(string(se.Event.Data), `"param":null`) {
		t.Errorf("error event lacks param: %s", se.Event.Data)
	}
}

// TestTrafficTypeAndCompactArguments pins usage.extra_properties.google.traffic_type from
// usageMetadata.trafficType and compact tool-call arguments (Google's REST bodies are indented),
// unary and streamed.
func TestTrafficTypeAndCompactArguments(t *testing.T) {
	call := `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{
	    "a": 1,
	    "b": [ "x", "y" ]
	  }}}]},"finishReason":"STOP"}],` + vertexUsage + `}`
	params := oai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("call f")},
		Tools: []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "f"})}}
	const wantArgs = `{"a":1,"b":["x","y"]}`
	const wantExtra = `{"google":{"traffic_type":"ON_DEMAND"}}`

	g := newGateway(t, newUpstream(t, jsonResponse(call)), nil)
	resp, err := g.client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.ToolCalls[0].Function.Arguments; got != wantArgs {
		t.Errorf("unary arguments = %q", got)
	}
	if got := resp.Usage.JSON.ExtraFields["extra_properties"].Raw(); got != wantExtra {
		t.Errorf("unary usage = %s", resp.Usage.RawJSON())
	}

	g = newGateway(t, newUpstream(t, sseEvents(strings.ReplaceAll(call, "\n", ""))), nil)
	stream := g.client.Chat.Completions.NewStreaming(t.Context(), params)
	acc := oai.ChatCompletionAccumulator{}
	var usage oai.CompletionUsage
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) == 0 {
			usage = c.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.ToolCalls[0].Function.Arguments; got != wantArgs {
		t.Errorf("streamed arguments = %q", got)
	}
	if got := usage.JSON.ExtraFields["extra_properties"].Raw(); got != wantExtra {
		t.Errorf("stream usage = %s", usage.RawJSON())
	}
}

// TestStreamFunctionCallArgumentsOnlyWhenStreamingWithTools pins that
// google.stream_function_call_arguments reaches Gemini only for a streamed request with tools.
func TestStreamFunctionCallArgumentsOnlyWhenStreamingWithTools(t *testing.T) {
	tools := []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "f"})}
	for _, tc := range []struct {
		name   string
		stream bool
		tools  bool
		want   bool
	}{{"unary_with_tools", false, true, false}, {"stream_with_tools", true, true, true}, {"stream_without_tools", true, false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.stream {
					sseEvents(`{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`)(w, r)
					return
				}
				jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`)(w, r)
			})
			g := newGateway(t, up, nil)
			p := oai.ChatCompletionNewParams{Model: "gemini-3.1-pro", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("q")}}
			if tc.tools {
				p.Tools = tools
			}
			p.SetExtraFields(map[string]any{"extra_body": map[string]any{"google": map[string]any{"stream_function_call_arguments": true}}})
			if tc.stream {
				s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
				for s.Next() {
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(up.lastBody()["toolConfig"])
			if got := strings.Contains(string(b), `"streamFunctionCallArguments":true`); got != tc.want {
				t.Errorf("toolConfig = %s", b)
			}
		})
	}
}

// TestReasoningEffortMinimal pins reasoning_effort "minimal" per Google's table: a 1024-token
// budget on 2.5, the lowest level on 3.x Pro, minimal on 3.x Flash; unary and streamed.
func TestReasoningEffortMinimal(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"gemini-2.5-flash", `{"includeThoughts":true,"thinkingBudget":1024}`},
		{"gemini-2.5-pro", `{"includeThoughts":true,"thinkingBudget":1024}`},
		{"gemini-3.1-pro", `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{"gemini-3-flash", `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
	} {
		for _, streamed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.model, streamed), func(t *testing.T) {
				answer := `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`
				up := newUpstream(t, jsonResponse(answer))
				if streamed {
					up = newUpstream(t, sseEvents(answer))
				}
				g := newGateway(t, up, nil)
				p := oai.ChatCompletionNewParams{Model: tc.model, ReasoningEffort: shared.ReasoningEffortMinimal,
					Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("q")}}
				if streamed {
					s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
					for s.Next() {
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
				} else if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(up.lastBody()["generationConfig"].(map[string]any)["thinkingConfig"])
				if string(b) != tc.want {
					t.Errorf("thinkingConfig = %s, want %s", b, tc.want)
				}
			})
		}
	}
}

// TestAnySignatureRoundTripsThroughCallID runs two turns on Gemini 3 with a signature that is
// not base64, once unary and once streamed; the second turn is built with the SDK's ToParam,
// which keeps only the id, and Gemini must get the signature back exactly.
func TestAnySignatureRoundTripsThroughCallID(t *testing.T) {
	const sig = "opaque signature: not/base64 ü=="
	sigJSON, _ := json.Marshal(sig)
	call := `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":` + string(sigJSON) + `}]},"finishReason":"STOP"}]}`
	tools := []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "f"})}
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streamed), func(t *testing.T) {
			var turn atomic.Int32
			var second map[string]any
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if turn.Add(1) == 1 {
					if streamed {
						sseEvents(call)(w, r)
					} else {
						jsonResponse(call)(w, r)
					}
					return
				}
				jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"done"}]},"finishReason":"STOP"}]}`)(w, r)
			})
			g := newGateway(t, up, nil)
			msgs := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("call f")}
			p := oai.ChatCompletionNewParams{Model: "gemini-3.1-pro", Messages: msgs, Tools: tools}
			var msg oai.ChatCompletionMessage
			if streamed {
				s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
				acc := oai.ChatCompletionAccumulator{}
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				msg = acc.Choices[0].Message
			} else {
				resp, err := g.client.Chat.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				msg = resp.Choices[0].Message
			}
			if len(msg.ToolCalls) != 1 {
				t.Fatalf("first turn: %+v", msg)
			}
			p.Messages = append(msgs, msg.ToParam(), oai.ToolMessage("ok", msg.ToolCalls[0].ID))
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			second = up.lastBody()
			if got := part(second, 1, 0)["thoughtSignature"]; got != sig {
				t.Errorf("signature sent back = %q, want %q (id %q)", got, sig, msg.ToolCalls[0].ID)
			}
		})
	}
}

// TestMergedTurnsFetchMedia pins that media of consecutive user messages, merged into one
// Gemini turn, is fetched and inlined: the fetch list used to point at parts a merge had moved.
func TestMergedTurnsFetchMedia(t *testing.T) {
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = io.WriteString(w, "png"+r.URL.Path)
	}))
	defer img.Close()
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) {
		o.Fetcher = media.NewFetcher(media.Options{AllowPrivate: true})
		o.FetchHTTPMedia = true
	})
	imgMsg := func(path string) oai.ChatCompletionMessageParamUnion {
		return oai.UserMessage([]oai.ChatCompletionContentPartUnionParam{oai.TextContentPart("look"),
			oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: img.URL + path})})
	}
	if _, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{imgMsg("/a"), imgMsg("/b"), imgMsg("/c")}}); err != nil {
		t.Fatal(err)
	}
	body := g.up.lastBody()
	for i, want := range []string{"cG5nL2E=", "cG5nL2I=", "cG5nL2M="} { // base64 of png/a, png/b, png/c
		p := part(body, 0, 2*i+1)
		if fmt.Sprint(p["inlineData"]) != "map[data:"+want+" mimeType:image/png]" || p["fileData"] != nil {
			t.Errorf("part %d = %v", 2*i+1, p)
		}
	}
}

// TestToolResultFileURIPolicy pins issue 12 item 7: a function response's file_data.file_uri
// gets the URL policy of content parts: schemes other than data:, gs:// and http(s) are refused
// with a 400 naming the field; an http(s) URL is fetched through the URL guard (a private address
// refused when private fetches are off, nothing sent upstream) and inlined with its display name.
func TestToolResultFileURIPolicy(t *testing.T) {
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = io.WriteString(w, "jpeg")
	}))
	defer img.Close()
	body := func(uri string) string {
		return `{"model":"gemini-3.1-pro","messages":[{"role":"user","content":"Show me the shirt."},
		{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_image","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c1","content":"{\"image_ref\":{\"$ref\":\"dress.jpg\"}}",
		 "extra_content":{"google":{"parts":[{"file_data":{"mime_type":"image/jpeg","display_name":"dress.jpg","file_uri":"` + uri + `"}}]}}}]}`
	}
	for _, tc := range []struct {
		name         string
		uri          string
		allowPrivate bool
		wantStatus   int
		wantParam    string
	}{
		{"file_scheme", "file:///etc/passwd", true, 400, "messages[2].extra_content.google.parts[0].file_data.file_uri"},
		{"private_refused", img.URL + "/dress.jpg", false, 400, ""},
		{"fetched", img.URL + "/dress.jpg", true, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) {
				o.Fetcher = media.NewFetcher(media.Options{AllowPrivate: tc.allowPrivate})
				o.FetchHTTPMedia = true
			})
			var out map[string]any
			err := g.client.Post(t.Context(), "chat/completions", json.RawMessage(body(tc.uri)), &out)
			var apiErr *oai.Error
			switch {
			case tc.wantStatus == 200 && err != nil:
				t.Fatal(err)
			case tc.wantStatus != 200 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus || tc.wantParam != "" && apiErr.Param != tc.wantParam):
				t.Fatalf("got %v, want status %d param %q", err, tc.wantStatus, tc.wantParam)
			}
			if tc.wantStatus != 200 {
				if n := g.up.calls.Load(); n != 0 {
					t.Errorf("%d upstream calls after a refusal", n)
				}
				return
			}
			fr := part(g.up.lastBody(), 2, 0)["functionResponse"].(map[string]any)
			if got := fmt.Sprint(fr["parts"]); got != "[map[inlineData:map[data:anBlZw== displayName:dress.jpg mimeType:image/jpeg]]]" {
				t.Errorf("function response parts = %s", got)
			}
		})
	}
}

// echoed returns the assistant message a client sends back exactly as it received it.
func echoed(raw string) oai.ChatCompletionMessageParamUnion {
	p := param.Override[oai.ChatCompletionAssistantMessageParam](json.RawMessage(raw))
	return oai.ChatCompletionMessageParamUnion{OfAssistant: &p}
}

// streamedMessage runs a streamed completion and rebuilds the assistant message from the raw
// chunks as a client keeping every field would: content, and the extension fields (message
// extra_content, images, audio) taken as they came.
func streamedMessage(t *testing.T, g *gw, p oai.ChatCompletionNewParams) string {
	t.Helper()
	s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
	var content strings.Builder
	msg := map[string]any{"role": "assistant"}
	for s.Next() {
		c := s.Current()
		if len(c.Choices) == 0 {
			continue
		}
		var d map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c.Choices[0].Delta.RawJSON()), &d); err != nil {
			t.Fatal(err)
		}
		var text string
		_ = json.Unmarshal(d["content"], &text)
		content.WriteString(text)
		for _, k := range []string{"extra_content", "images", "audio"} {
			if raw := d[k]; raw != nil && string(raw) != "null" {
				msg[k] = raw
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	msg["content"] = content.String()
	b, _ := json.Marshal(msg)
	return string(b)
}

// TestImageEditingHistory runs Gemini 3 Pro Image's two-turn edit, unary and streamed: the first
// answer is a signed text and a signed image larger than the body lifting threshold; the client
// sends the assistant message back as received (image in both audio and images[]), and Gemini
// must get a model turn with the same bytes and signature exactly once, then the new user turn
// on its own. A client that keeps the image as an image_url part of the content works the same.
func TestImageEditingHistory(t *testing.T) {
	img := strings.Repeat("iVBORw0KGgoA", 8000) // 96,000 base64 characters: over the lifting threshold
	first := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Here is a cat.","thoughtSignature":"c2lnLXRleHQ="},
	  {"inlineData":{"mimeType":"image/png","data":"` + img + `"},"thoughtSignature":"c2lnLWltZw=="}]},"finishReason":"STOP"}]}`
	check := func(t *testing.T, body map[string]any) {
		t.Helper()
		contents := body["contents"].([]any)
		if len(contents) != 3 {
			t.Fatalf("%d contents, want user, model, user", len(contents))
		}
		model := contents[1].(map[string]any)
		parts := model["parts"].([]any)
		if model["role"] != "model" || len(parts) != 2 {
			t.Fatalf("model turn = %v parts", len(parts))
		}
		if p := parts[0].(map[string]any); p["text"] != "Here is a cat." || p["thoughtSignature"] != "c2lnLXRleHQ=" {
			t.Errorf("text part = %v", p)
		}
		p := parts[1].(map[string]any)
		in, _ := p["inlineData"].(map[string]any)
		if in == nil || in["data"] != img || in["mimeType"] != "image/png" || p["thoughtSignature"] != "c2lnLWltZw==" {
			t.Errorf("image part has data %d bytes, signature %v", len(fmt.Sprint(in["data"])), p["thoughtSignature"])
		}
		if u := contents[2].(map[string]any); u["role"] != "user" || fmt.Sprint(u["parts"]) != "[map[text:Make it blue.]]" {
			t.Errorf("last turn = %v", u)
		}
	}
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streamed), func(t *testing.T) {
			var turn atomic.Int32
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case turn.Add(1) > 1:
					jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Blue cat."}]},"finishReason":"STOP"}]}`)(w, r)
				case streamed:
					sseEvents(strings.ReplaceAll(first, "\n", ""))(w, r)
				default:
					jsonResponse(first)(w, r)
				}
			})
			g := newGateway(t, up, nil)
			p := oai.ChatCompletionNewParams{Model: "gemini-3-pro-image", Modalities: []string{"text", "image"},
				Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Draw a cat.")}}
			var raw string
			if streamed {
				raw = streamedMessage(t, g, p)
			} else {
				resp, err := g.client.Chat.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				raw = resp.Choices[0].Message.RawJSON()
			}
			if !strings.Contains(raw, `"images"`) || !strings.Contains(raw, `"audio"`) {
				t.Fatalf("first answer lacks the image: %.300s", raw)
			}
			p.Messages = append(p.Messages, echoed(raw), oai.UserMessage("Make it blue."))
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatalf("%v\nassistant message: %.400s", err, raw)
			}
			check(t, up.lastBody())

			// The same image kept as an image_url part of the assistant content.
			asPart := `{"role":"assistant","content":[{"type":"text","text":"Here is a cat.","extra_content":{"google":{"thought_signature":"c2lnLXRleHQ="}}},
			  {"type":"image_url","image_url":{"url":"data:image/png;base64,` + img + `"},"extra_content":{"google":{"thought_signature":"c2lnLWltZw=="}}}]}`
			p.Messages = []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Draw a cat."), echoed(asPart), oai.UserMessage("Make it blue.")}
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			check(t, up.lastBody())
		})
	}
}

// TestSignaturesOnTextParts pins signatures outside tool calls on Gemini 3: the signature of a
// text answer (on its last part, as Gemini 3 streams it) comes back at message level and goes
// back on the text part; signatures on content parts go back on those parts. Unary and streamed.
func TestSignaturesOnTextParts(t *testing.T) {
	answer := []string{
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Rome, "}]}}]}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"then Florence."}]}}]}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"","thoughtSignature":"c2lnLWVuZA=="}]},"finishReason":"STOP"}]}`,
	}
	unary := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Rome, "},{"text":"then Florence."},{"text":"","thoughtSignature":"c2lnLWVuZA=="}]},"finishReason":"STOP"}]}`
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streamed), func(t *testing.T) {
			var turn atomic.Int32
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case turn.Add(1) > 1:
					jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`)(w, r)
				case streamed:
					sseEvents(answer...)(w, r)
				default:
					jsonResponse(unary)(w, r)
				}
			})
			g := newGateway(t, up, nil)
			p := oai.ChatCompletionNewParams{Model: "gemini-3.1-pro", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Plan a trip.")}}
			var raw string
			if streamed {
				raw = streamedMessage(t, g, p)
			} else {
				resp, err := g.client.Chat.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				raw = resp.Choices[0].Message.RawJSON()
			}
			p.Messages = append(p.Messages, echoed(raw), oai.UserMessage("Shorter?"))
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(part(up.lastBody(), 1, 0)); got != "map[text:Rome, then Florence. thoughtSignature:c2lnLWVuZA==]" {
				t.Errorf("model turn part = %s (assistant message %s)", got, raw)
			}

			// Part-level signatures, as a client that keeps Gemini's parts sends them.
			parts := `{"role":"assistant","content":[{"type":"text","text":"Day 1: Rome.","extra_content":{"google":{"thought_signature":"c2lnLTE="}}},
			  {"type":"text","text":" Day 2: Florence.","extra_content":{"google":{"thought_signature":"c2lnLTI="}}}]}`
			p.Messages = []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Plan a trip."), echoed(parts), oai.UserMessage("Shorter?")}
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			model := g.up.lastBody()["contents"].([]any)[1].(map[string]any)
			if got := fmt.Sprint(model["parts"]); got != "[map[text:Day 1: Rome. thoughtSignature:c2lnLTE=] map[text: Day 2: Florence. thoughtSignature:c2lnLTI=]]" {
				t.Errorf("model turn = %s", got)
			}
		})
	}
}

// TestThoughtTagMarkerInHistory pins thought_tag_marker given with brackets: the answer's
// thoughts are wrapped in <think>…</think> (not <<think>>), and when that answer comes back in
// history the span is removed from what Gemini sees. Unary and streamed.
func TestThoughtTagMarkerInHistory(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streamed), func(t *testing.T) {
			var turn atomic.Int32
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case turn.Add(1) > 1:
					jsonResponse(`{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`)(w, r)
				case streamed:
					sseEvents(
						`{"candidates":[{"content":{"role":"model","parts":[{"text":"Thinking about greetings.","thought":true}]}}]}`,
						`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello there!"}]},"finishReason":"STOP"}]}`)(w, r)
				default:
					jsonResponse(thoughtfulAnswer)(w, r)
				}
			})
			g := newGateway(t, up, nil)
			p := oai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}}
			p.SetExtraFields(map[string]any{"extra_body": map[string]any{"google": map[string]any{"thought_tag_marker": "<think>"}}})
			var raw string
			if streamed {
				raw = streamedMessage(t, g, p)
			} else {
				resp, err := g.client.Chat.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				raw = resp.Choices[0].Message.RawJSON()
			}
			var m struct{ Content string }
			_ = json.Unmarshal([]byte(raw), &m)
			if m.Content != "<think>Thinking about greetings.</think>Hello there!" {
				t.Errorf("content = %q", m.Content)
			}
			p.Messages = append(p.Messages, echoed(raw), oai.UserMessage("Again"))
			if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(part(up.lastBody(), 1, 0)); got != "map[text:Hello there!]" {
				t.Errorf("model turn part = %s", got)
			}
		})
	}
}
