package translate

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// The representative request and answer of issue 16 (loadbench's and the gateway's
// BenchmarkSmallRequests/unary), and an agent-shaped request: system prompt, tools with a JSON
// schema, a tool call and its result, sampling parameters, stop and response_format.
const (
	repRequest   = `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`
	repAnswer    = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is the capital of France."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19},"modelVersion":"gemini-2.5-flash"}`
	agentRequest = `{"model":"gemini-2.5-flash","messages":[` +
		`{"role":"system","content":"You are a helpful assistant. Use the tools when they help."},` +
		`{"role":"user","content":"What is the weather in Paris?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"{\"temperature\":18,\"sky\":\"clear\"}"},` +
		`{"role":"assistant","content":"It is 18 °C and clear in Paris."},` +
		`{"role":"user","content":"And in Rome?"}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],` +
		`"tool_choice":"auto","temperature":0.2,"top_p":0.9,"stop":["\n\n"],"max_completion_tokens":512}`
)

// benchRequest translates body as the gateway does (Developer API, thoughts included by default).
func benchRequest(b *testing.B, body string) {
	req, err := openai.DecodeRequest([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	models, _ := NewModels("")
	opt := RequestOptions{Backend: gemini.Developer, IncludeThoughts: true}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RequestToGemini(ctx, req, models, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestToGeminiRepresentative measures RequestToGemini alone on the representative
// request: no decoding, no encoding.
func BenchmarkRequestToGeminiRepresentative(b *testing.B) { benchRequest(b, repRequest) }

// BenchmarkRequestToGeminiAgent measures RequestToGemini alone on an agent-shaped request.
func BenchmarkRequestToGeminiAgent(b *testing.B) { benchRequest(b, agentRequest) }

// BenchmarkResponseFromGeminiRepresentative measures ResponseFromGemini alone on the
// representative answer, with a Meta built as the gateway builds it.
func BenchmarkResponseFromGeminiRepresentative(b *testing.B) {
	var r gemini.Response
	if err := json.Unmarshal([]byte(repAnswer), &r); err != nil {
		b.Fatal(err)
	}
	newCallID := func() string { return "call_x" }
	b.ReportAllocs()
	for b.Loop() {
		m := Meta{ID: "chatcmpl-x", Created: 1700000000, Model: "gemini-2.5-flash", NewCallID: newCallID, IncludeUsage: true}
		if _, err := ResponseFromGemini(&r, m); err != nil {
			b.Fatal(err)
		}
	}
}
