package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/translate"
)

const testKey = "sk-test-key-0123456789"

// upstream is a fake Gemini: it records what it received and answers with fn.
type upstream struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	paths  []string
	calls  atomic.Int32
	fn     http.HandlerFunc
}

func newUpstream(t *testing.T, fn http.HandlerFunc) *upstream {
	u := &upstream{t: t, fn: fn}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		u.mu.Lock()
		u.bodies = append(u.bodies, m)
		u.paths = append(u.paths, r.URL.RequestURI())
		u.mu.Unlock()
		if got := r.Header.Get("x-goog-api-key"); got != "gemini-key" {
			t.Errorf("upstream got api key %q", got)
		}
		u.fn(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) lastBody() map[string]any {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bodies[len(u.bodies)-1]
}

type gw struct {
	srv    *httptest.Server
	client oai.Client
	up     *upstream
}

func newGateway(t *testing.T, up *upstream, mod func(*gateway.Options)) *gw {
	t.Helper()
	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: up.srv.URL, APIKey: "gemini-key",
		Timeout: 5 * time.Second, Retry: gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, err := keys.ParseList("tester:" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	o := gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), IncludeThoughts: true, MaxBodyBytes: 1 << 20}
	if mod != nil {
		mod(&o)
	}
	srv := httptest.NewServer(gateway.New(o))
	t.Cleanup(srv.Close)
	return &gw{srv: srv, up: up, client: oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))}
}

func jsonResponse(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

const thoughtfulAnswer = `{"candidates":[{"content":{"role":"model","parts":[
 {"text":"Thinking about greetings.","thought":true},
 {"text":"Hello there!"}]},"finishReason":"STOP","index":0}],
 "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":3,"thoughtsTokenCount":5,"totalTokenCount":16,
  "cachedContentTokenCount":2,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":"gemini-2.5-flash"}`

// TestChatThroughOpenAIClient pins the unary path end to end: the official client gets content,
// reasoning_content and usage mapped as DESIGN §2 says, and Gemini gets the translated body.
func TestChatThroughOpenAIClient(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	resp, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{
			oai.SystemMessage("Be brief."),
			oai.UserMessage("Hi"),
			oai.AssistantMessage("Hello! How can I help?"),
			oai.UserMessage("Say hello again"),
		},
		MaxCompletionTokens: oai.Int(100),
		Temperature:         oai.Float(0.5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Hello there!" {
		t.Errorf("content = %q", got)
	}
	if got := resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(); got != `"Thinking about greetings."` {
		t.Errorf("reasoning_content = %s", got)
	}
	if resp.Model != "gemini-2.5-flash" || resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("envelope = %q %q %q", resp.Model, resp.Object, resp.ID)
	}
	u := resp.Usage
	if u.PromptTokens != 8 || u.CompletionTokens != 8 || u.TotalTokens != 16 || u.CompletionTokensDetails.ReasoningTokens != 5 || u.PromptTokensDetails.CachedTokens != 2 {
		t.Errorf("usage = %+v", u)
	}
	if string(resp.Choices[0].FinishReason) != "stop" {
		t.Errorf("finish = %q", resp.Choices[0].FinishReason)
	}
	body := g.up.lastBody()
	want := `{"contents":[{"parts":[{"text":"Hi"}],"role":"user"},{"parts":[{"text":"Hello! How can I help?"}],"role":"model"},{"parts":[{"text":"Say hello again"}],"role":"user"}],"generationConfig":{"maxOutputTokens":100,"temperature":0.5,"thinkingConfig":{"includeThoughts":true}},"systemInstruction":{"parts":[{"text":"Be brief."}]}}`
	if got, _ := json.Marshal(body); string(got) != want {
		t.Errorf("upstream body\n got %s\nwant %s", got, want)
	}
	if p := g.up.paths[0]; p != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("upstream path = %s", p)
	}
}

func sseEvents(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\r\n\r\n", e)
			w.(http.Flusher).Flush()
		}
	}
}

// TestStreamThroughOpenAIClient pins the stream shape: role chunk, reasoning deltas, content
// deltas, finish chunk, usage chunk from the last usage seen, and [DONE].
func TestStreamThroughOpenAIClient(t *testing.T) {
	g := newGateway(t, newUpstream(t, sseEvents(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hmm.","thought":true}]}}],"usageMetadata":{"promptTokenCount":4,"totalTokenCount":6,"thoughtsTokenCount":2}}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":7,"thoughtsTokenCount":2}}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":8,"thoughtsTokenCount":2}}`,
	)), nil)
	stream := g.client.Chat.Completions.NewStreaming(t.Context(), oai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
	})
	var text, reasoning strings.Builder
	var finish string
	var usage oai.CompletionUsage
	n := 0
	for stream.Next() {
		c := stream.Current()
		n++
		if n == 1 && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
			t.Errorf("first chunk is not the role chunk: %s", c.RawJSON())
		}
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
			if r := c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; r.Raw() != "" {
				var s string
				_ = json.Unmarshal([]byte(r.Raw()), &s)
				reasoning.WriteString(s)
			}
			if c.Choices[0].FinishReason != "" {
				finish = c.Choices[0].FinishReason
			}
		} else {
			usage = c.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "Hello" || reasoning.String() != "Hmm." || finish != "stop" {
		t.Errorf("text %q reasoning %q finish %q", text.String(), reasoning.String(), finish)
	}
	if usage.TotalTokens != 8 || usage.CompletionTokens != 4 || usage.PromptTokens != 4 || usage.CompletionTokensDetails.ReasoningTokens != 2 {
		t.Errorf("usage = %+v", usage)
	}
	if p := g.up.paths[0]; p != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Errorf("upstream path = %s", p)
	}
}

// rawPost sends body to the gateway and returns the response.
func rawPost(t *testing.T, url, key, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestStreamEndsWithDone pins the raw framing: events in order, the usage chunk has choices: [],
// and the last line is data: [DONE].
func TestStreamEndsWithDone(t *testing.T) {
	g := newGateway(t, newUpstream(t, sseEvents(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`,
	)), nil)
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	b, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if len(events) != 5 {
		t.Fatalf("got %d events:\n%s", len(events), b)
	}
	if !strings.Contains(events[3], `"choices":[]`) || !strings.Contains(events[3], `"total_tokens":2`) {
		t.Errorf("usage chunk = %s", events[3])
	}
	if events[4] != "data: [DONE]" {
		t.Errorf("last event = %q", events[4])
	}
}

type errCase struct {
	name       string
	url        string
	key        string
	body       string
	upstream   http.HandlerFunc
	wantStatus int
	wantCode   string
	wantHeader [2]string
	wantCalls  int32
}

// TestErrors pins status, code and body shape for client mistakes and upstream failures.
func TestErrors(t *testing.T) {
	ok := jsonResponse(thoughtfulAnswer)
	chat := `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`
	rateLimited, _ := fsRead("../translate/testdata/wire/13-error-429-RESOURCE_EXHAUSTED-QuotaFailure-RetryInfo.mldev.adapted.json")
	var flaky atomic.Int32
	cases := []errCase{
		{name: "bad key", key: "wrong-key-123", body: chat, upstream: ok, wantStatus: 401, wantCode: "invalid_token"},
		{name: "no key", key: "", body: chat, upstream: ok, wantStatus: 401, wantCode: "invalid_token"},
		{name: "malformed JSON", key: testKey, body: `{"model":`, upstream: ok, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unknown field", key: testKey, body: `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}],"bogus":1}`, upstream: ok, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unknown model", key: testKey, body: `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`, upstream: ok, wantStatus: 404, wantCode: "model_not_found"},
		{name: "unknown route", url: "/v1/completions", key: testKey, body: chat, upstream: ok, wantStatus: 404, wantCode: "not_found"},
		{name: "too large", key: testKey, body: `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`, upstream: ok, wantStatus: 413, wantCode: "request_too_large"},
		{name: "upstream 429 with RetryInfo", key: testKey, body: chat, upstream: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			_, _ = w.Write(rateLimited)
		}, wantStatus: 429, wantCode: "too_many_requests", wantHeader: [2]string{"Retry-After", "26"}, wantCalls: 1},
		{name: "upstream 503 then success", key: testKey, body: chat, upstream: func(w http.ResponseWriter, r *http.Request) {
			if flaky.Add(1) == 1 {
				w.WriteHeader(503)
				_, _ = io.WriteString(w, `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`)
				return
			}
			ok(w, r)
		}, wantStatus: 200, wantCalls: 2},
		{name: "upstream 500 every time", key: testKey, body: chat, upstream: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":{"code":500,"message":"internal","status":"INTERNAL"}}`)
		}, wantStatus: 502, wantCode: "upstream_error", wantCalls: 3},
		{name: "upstream 400", key: testKey, body: chat, upstream: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}}`)
		}, wantStatus: 400, wantCode: "invalid_request", wantCalls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, newUpstream(t, tc.upstream), nil)
			url := tc.url
			if url == "" {
				url = "/v1/chat/completions"
			}
			resp := rawPost(t, g.srv.URL+url, tc.key, tc.body)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantCalls != 0 && g.up.calls.Load() != tc.wantCalls {
				t.Errorf("upstream calls = %d, want %d", g.up.calls.Load(), tc.wantCalls)
			}
			if tc.wantHeader[0] != "" && resp.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("%s = %q, want %q", tc.wantHeader[0], resp.Header.Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
			if tc.wantStatus == 200 {
				return
			}
			var eb struct {
				Success *bool `json:"success"`
				Error   struct {
					Message, Type, Code string
				} `json:"error"`
				TraceID string `json:"trace_id"`
			}
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("error body %s: %v", b, err)
			}
			if eb.Success == nil || *eb.Success || eb.Error.Code != tc.wantCode || eb.Error.Message == "" || eb.TraceID == "" || eb.TraceID != resp.Header.Get("X-Request-Id") {
				t.Errorf("error body = %s", b)
			}
		})
	}
}

// TestOpenAIClientSeesStatusErrors pins that the official SDK surfaces our errors as its
// *Error with the status and the code.
func TestOpenAIClientSeesStatusErrors(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	bad := oai.NewClient(option.WithBaseURL(g.srv.URL+"/v1"), option.WithAPIKey("nope-nope-nope"), option.WithMaxRetries(0))
	_, err := bad.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("x")}})
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_token" {
		t.Fatalf("err = %v", err)
	}
}

// TestStreamingReallyStreams pins that events are flushed as produced: the client reads the
// first content before the upstream has sent the second event.
func TestStreamingReallyStreams(t *testing.T) {
	release := make(chan struct{})
	g := newGateway(t, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: "+`{"candidates":[{"content":{"role":"model","parts":[{"text":"first"}]}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: "+`{"candidates":[{"content":{"role":"model","parts":[{"text":" second"}]},"finishReason":"STOP"}]}`+"\n\n")
	}), nil)
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	br := bufio.NewReader(resp.Body)
	var seen []string
	for len(seen) < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (seen %v)", err, seen)
		}
		if strings.HasPrefix(line, "data: ") {
			seen = append(seen, line)
		}
	}
	if !strings.Contains(seen[1], `"content":"first"`) {
		t.Fatalf("second event = %s", seen[1])
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), " second") || !strings.HasSuffix(strings.TrimSpace(string(rest)), "data: [DONE]") {
		t.Errorf("rest = %s", rest)
	}
}

// TestDisconnectCancelsUpstream pins that a client going away mid-stream ends the upstream
// request at once.
func TestDisconnectCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	g := newGateway(t, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: "+`{"candidates":[{"content":{"role":"model","parts":[{"text":"first"}]}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(cancelled)
	}), nil)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream request was not cancelled after the client disconnected")
	}
}

// TestStreamErrorAfterFirstByte pins that an upstream failure mid-stream is one final error
// event and no [DONE].
func TestStreamErrorAfterFirstByte(t *testing.T) {
	g := newGateway(t, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: "+`{"candidates":[{"content":{"role":"model","parts":[{"text":"partial"}]}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		// the connection ends without a finish reason: the upstream died mid-way
	}), nil)
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	b, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	last := events[len(events)-1]
	if resp.StatusCode != 200 || !strings.HasPrefix(last, `data: {"success":false,"error":`) || strings.Contains(string(b), "[DONE]") {
		t.Errorf("status %d body:\n%s", resp.StatusCode, b)
	}
}

// TestModelsAndHealth pins GET /v1/models (auth required, OpenAI list format) and /healthz.
func TestModelsAndHealth(t *testing.T) {
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	page, err := g.client.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range page.Data {
		found = found || m.ID == "gemini-3.1-pro"
	}
	if !found {
		t.Errorf("gemini-3.1-pro alias not listed: %d models", len(page.Data))
	}
	resp, err := http.Get(g.srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, g.srv.URL+"/v1/chat/completions", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 405 {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestKeepAlive pins SSE comments during a long silence before the first event.
func TestKeepAlive(t *testing.T) {
	release := make(chan struct{})
	g := newGateway(t, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: "+`{"candidates":[{"content":{"role":"model","parts":[{"text":"done"}]},"finishReason":"STOP"}]}`+"\n\n")
	}), func(o *gateway.Options) { o.KeepAlive = 20 * time.Millisecond })
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != ": keep-alive\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), `"content":"done"`) {
		t.Errorf("rest = %s", rest)
	}
}
