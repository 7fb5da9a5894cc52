package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/translate"
)

// googleEmbed is a fake of Google's embedding methods that checks what it receives as Google
// does: the path and credentials, unknown fields refused (decoded into its own copy of the
// documented request shapes, not the gateway's types), and the per-call limits of
// gemini.EmbedLimitFor enforced with Google's errors. It answers with emulator.Vector, so a
// test can tell which text each vector belongs to.
type googleEmbed struct {
	t      *testing.T
	vertex bool
	srv    *httptest.Server
	// fail, when set, may answer call n (numbered from 0 in arrival order) itself.
	fail func(n int, w http.ResponseWriter, r *http.Request) bool
	// pretty answers indented even when asked for prettyPrint=false (Google honours it).
	pretty bool

	mu          sync.Mutex
	n           int
	paths       []string
	inputs      []int // inputs per call, in arrival order
	dims        []int
	taskTypes   map[string]bool
	titles      map[string]bool
	truncate    []*bool
	inFlight    int
	maxInFlight int
}

// devRequest is batchEmbedContents' body as https://ai.google.dev/api/embeddings documents it.
type devRequest struct {
	Requests []struct {
		Model   string `json:"model"`
		Content struct {
			Role  string `json:"role"`
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"content"`
		TaskType             string `json:"taskType"`
		Title                string `json:"title"`
		OutputDimensionality *int   `json:"outputDimensionality"`
	} `json:"requests"`
}

// vertexRequest is the predict body of Vertex's Text embeddings API.
type vertexRequest struct {
	Instances []struct {
		Content  string `json:"content"`
		TaskType string `json:"task_type"`
		Title    string `json:"title"`
	} `json:"instances"`
	Parameters *struct {
		OutputDimensionality *int  `json:"outputDimensionality"`
		AutoTruncate         *bool `json:"autoTruncate"`
	} `json:"parameters"`
}

func newGoogleEmbed(t *testing.T, vertex bool) *googleEmbed {
	g := &googleEmbed{t: t, vertex: vertex, taskTypes: map[string]bool{}, titles: map[string]bool{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func embedError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
	_, _ = w.Write(b)
}

func (g *googleEmbed) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	n := g.n
	g.n++
	g.paths = append(g.paths, r.URL.Path)
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	time.Sleep(2 * time.Millisecond) // let concurrent calls overlap so the bound is exercised
	if g.fail != nil && g.fail(n, w, r) {
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var model string
	if g.vertex {
		const prefix = "/v1/projects/proj/locations/us-central1/publishers/google/models/"
		m, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, prefix), ":predict")
		if !ok || !strings.HasPrefix(r.URL.Path, prefix) || r.Header.Get("Authorization") != "Bearer test-token" {
			embedError(w, 404, "NOT_FOUND", "bad path or credentials: "+r.URL.Path)
			return
		}
		model = m
		var req vertexRequest
		if err := dec.Decode(&req); err != nil {
			embedError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
			return
		}
		g.vertexAnswer(w, r, model, &req)
		return
	}
	m, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":batchEmbedContents")
	if !ok || r.Header.Get("x-goog-api-key") != "gemini-key" {
		embedError(w, 404, "NOT_FOUND", "bad path or credentials: "+r.URL.Path)
		return
	}
	model = m
	var req devRequest
	if err := dec.Decode(&req); err != nil {
		embedError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	g.devAnswer(w, r, model, &req)
}

func (g *googleEmbed) record(inputs, dim int, taskType, title string, truncate *bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inputs = append(g.inputs, inputs)
	g.dims = append(g.dims, dim)
	g.taskTypes[taskType] = true
	g.titles[title] = true
	g.truncate = append(g.truncate, truncate)
}

func (g *googleEmbed) devAnswer(w http.ResponseWriter, r *http.Request, model string, req *devRequest) {
	if len(req.Requests) > 100 {
		g.t.Errorf("batchEmbedContents got %d requests", len(req.Requests))
		embedError(w, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
		return
	}
	type vec struct {
		Values []float32 `json:"values"`
	}
	var out struct {
		Embeddings []vec `json:"embeddings"`
	}
	for i, q := range req.Requests {
		if q.Model != "models/"+model || len(q.Content.Parts) != 1 || q.Content.Parts[0].Text == "" {
			embedError(w, 400, "INVALID_ARGUMENT", fmt.Sprintf("requests[%d] is not valid", i))
			return
		}
		dim := 3072
		if q.OutputDimensionality != nil {
			dim = *q.OutputDimensionality
		}
		if i == 0 {
			g.record(len(req.Requests), dim, q.TaskType, q.Title, nil)
		}
		out.Embeddings = append(out.Embeddings, vec{emulator.Vector(q.Content.Parts[0].Text, dim)})
	}
	g.answer(w, r, out)
}

func (g *googleEmbed) vertexAnswer(w http.ResponseWriter, r *http.Request, model string, req *vertexRequest) {
	limit := 1
	if strings.HasPrefix(model, "text-") {
		limit = 250
	}
	if len(req.Instances) == 0 || len(req.Instances) > limit {
		g.t.Errorf("%s:predict got %d instances", model, len(req.Instances))
		embedError(w, 400, "INVALID_ARGUMENT", "too many instances")
		return
	}
	dim, full := 768, 768
	if strings.HasPrefix(model, "gemini-") {
		dim, full = 3072, 3072
	}
	var truncate *bool
	if p := req.Parameters; p != nil {
		if p.OutputDimensionality != nil {
			dim = *p.OutputDimensionality
		}
		truncate = p.AutoTruncate
	}
	if dim > full {
		embedError(w, 400, "INVALID_ARGUMENT", "outputDimensionality out of range")
		return
	}
	g.record(len(req.Instances), dim, req.Instances[0].TaskType, req.Instances[0].Title, truncate)
	type pred struct {
		Embeddings struct {
			Statistics struct {
				Truncated  bool    `json:"truncated"`
				TokenCount float64 `json:"token_count"`
			} `json:"statistics"`
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	var out struct {
		Predictions []pred `json:"predictions"`
	}
	for _, in := range req.Instances {
		var p pred
		p.Embeddings.Values = emulator.Vector(in.Content, dim)
		p.Embeddings.Statistics.TokenCount = float64(len(strings.Fields(in.Content)))
		out.Predictions = append(out.Predictions, p)
	}
	g.answer(w, r, out)
}

// answer writes out as Google does: indented unless the request says prettyPrint=false (a
// system parameter of every Google REST API), and, as a network delivers a large answer, in
// pieces (2 KiB, each flushed), so that the gateway's reader sees it arrive.
func (g *googleEmbed) answer(w http.ResponseWriter, r *http.Request, out any) {
	b, _ := json.MarshalIndent(out, "", "  ")
	if r.URL.Query().Get("prettyPrint") == "false" && !g.pretty {
		b, _ = json.Marshal(out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	rc := http.NewResponseController(w)
	for len(b) > 0 {
		n := min(len(b), 2<<10)
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		_ = rc.Flush()
		b = b[n:]
	}
}

type embedGateway struct {
	srv    *httptest.Server
	client oai.Client
	up     *googleEmbed
	h      *gateway.Handler
}

func newEmbedGateway(t *testing.T, up *googleEmbed, mod func(*gateway.Options)) *embedGateway {
	t.Helper()
	o := gemini.Options{Backend: gemini.Developer, BaseURL: up.srv.URL, APIKey: "gemini-key",
		Timeout: 5 * time.Second, Retry: gemini.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}}
	if up.vertex {
		o.Backend, o.APIKey, o.Project, o.Location, o.Tokens = gemini.Vertex, "", "proj", "us-central1", staticToken{}
	}
	client, err := gemini.New(o)
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels(`{"text-embedding-3-small":"gemini-embedding-001"}`)
	set, err := keys.ParseList("tester:" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), MaxBodyBytes: 4 << 20}
	if mod != nil {
		mod(&opts)
	}
	h := gateway.New(opts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &embedGateway{srv: srv, up: up, h: h,
		client: oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))}
}

func inputs(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("passage number %d about topic %d", i, i%7)
	}
	return s
}

// checkVectors checks that the response holds, in input order, the vectors the fake computed
// for each input at dim, float32 for float32.
func checkVectors(t *testing.T, resp *oai.CreateEmbeddingResponse, in []string, dim int) {
	t.Helper()
	if len(resp.Data) != len(in) {
		t.Fatalf("%d embeddings for %d inputs", len(resp.Data), len(in))
	}
	for i, d := range resp.Data {
		if d.Index != int64(i) || d.Object != "embedding" {
			t.Fatalf("data[%d] = index %d object %q", i, d.Index, d.Object)
		}
		want := emulator.Vector(in[i], dim)
		if len(d.Embedding) != dim {
			t.Fatalf("data[%d] has %d values, want %d", i, len(d.Embedding), dim)
		}
		for j, v := range d.Embedding {
			if float32(v) != want[j] {
				t.Fatalf("data[%d][%d] = %v, want %v: wrong order or lost precision", i, j, v, want[j])
			}
		}
	}
}

// TestEmbeddingsSingle pins the simplest call through the official client: one string, the
// Developer API path and body, the model echoed as sent, usage 0 (the Developer API reports no
// token counts).
func TestEmbeddingsSingle(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, false), nil)
	resp, err := g.client.Embeddings.New(t.Context(), oai.EmbeddingNewParams{
		Model: "google/gemini-embedding-001",
		Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("What is the meaning of life?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, resp, []string{"What is the meaning of life?"}, 3072)
	if resp.Model != "google/gemini-embedding-001" || resp.Object != "list" || resp.Usage.PromptTokens != 0 || resp.Usage.TotalTokens != 0 {
		t.Errorf("envelope = %q %q %+v", resp.Model, resp.Object, resp.Usage)
	}
	g.up.mu.Lock()
	defer g.up.mu.Unlock()
	if d := g.up.paths; len(d) != 1 || d[0] != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
		t.Errorf("upstream paths = %v", d)
	}
}

// TestEmbeddingsManyBase64 pins a 250-input request on the Developer API: split into calls of
// at most 100, run concurrently, reassembled in order; dimensions and task type on every call;
// base64 (what the Node SDK asks for by default) decoded by the official client to the exact
// float32 values.
func TestEmbeddingsManyBase64(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, false), nil)
	in := inputs(250)
	resp, err := g.client.Embeddings.New(t.Context(), oai.EmbeddingNewParams{
		Model:          "text-embedding-3-small", // mapped by the operator's alias
		Input:          oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: in},
		Dimensions:     oai.Int(64),
		EncodingFormat: oai.EmbeddingNewParamsEncodingFormatBase64,
	}, option.WithJSONSet("google", map[string]any{"task_type": "RETRIEVAL_DOCUMENT", "title": "Handbook"}))
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, resp, in, 64)
	if raw := resp.Data[0].JSON.Embedding.Raw(); !strings.HasPrefix(raw, `"`) {
		t.Errorf("embedding was not sent as base64: %.40s", raw)
	}
	up := g.up
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.inputs) != 3 || up.inputs[0]+up.inputs[1]+up.inputs[2] != 250 || max(up.inputs[0], up.inputs[1], up.inputs[2]) != 100 {
		t.Errorf("calls carried %v inputs", up.inputs)
	}
	for _, d := range up.dims {
		if d != 64 {
			t.Errorf("outputDimensionality = %v", up.dims)
		}
	}
	if !up.taskTypes["RETRIEVAL_DOCUMENT"] || len(up.taskTypes) != 1 || !up.titles["Handbook"] || len(up.titles) != 1 {
		t.Errorf("task types %v titles %v", up.taskTypes, up.titles)
	}
}

// TestEmbeddingsVertexOnePerCall pins gemini-embedding-001 on Vertex: one instance per predict
// call, at most EmbedConcurrency calls at once, order kept, usage summed from
// statistics.token_count, auto_truncate forwarded.
func TestEmbeddingsVertexOnePerCall(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, true), func(o *gateway.Options) { o.EmbedConcurrency = 3 })
	in := inputs(12)
	resp, err := g.client.Embeddings.New(t.Context(), oai.EmbeddingNewParams{
		Model:      "gemini-embedding-001",
		Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: in},
		Dimensions: oai.Int(32),
	}, option.WithJSONSet("extra_body", map[string]any{"google": map[string]any{"task_type": "QUESTION_ANSWERING", "auto_truncate": false}}))
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, resp, in, 32)
	want := 0
	for _, s := range in {
		want += len(strings.Fields(s))
	}
	if resp.Usage.PromptTokens != int64(want) || resp.Usage.TotalTokens != int64(want) {
		t.Errorf("usage = %+v, want %d", resp.Usage, want)
	}
	up := g.up
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.inputs) != 12 || up.maxInFlight > 3 {
		t.Errorf("%d calls, %d at once (limit 3)", len(up.inputs), up.maxInFlight)
	}
	for _, tr := range up.truncate {
		if tr == nil || *tr {
			t.Errorf("autoTruncate not forwarded as false")
		}
	}
	if !up.taskTypes["QUESTION_ANSWERING"] || len(up.taskTypes) != 1 {
		t.Errorf("task types %v", up.taskTypes)
	}
}

// TestEmbeddingsVertexTextEmbedding pins text-embedding-005 on Vertex: up to 250 instances per
// call, and the model's full 768 dimensions when none are asked; whether the answers come
// compact (as asked, and converted while they arrive) or indented.
func TestEmbeddingsVertexTextEmbedding(t *testing.T) {
	for _, pretty := range []bool{false, true} {
		up := newGoogleEmbed(t, true)
		up.pretty = pretty
		g := newEmbedGateway(t, up, nil)
		in := inputs(300)
		resp, err := g.client.Embeddings.New(t.Context(), oai.EmbeddingNewParams{
			Model: "text-embedding-005",
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: in},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkVectors(t, resp, in, 768)
		g.up.mu.Lock()
		if len(g.up.inputs) != 2 || g.up.inputs[0]+g.up.inputs[1] != 300 {
			t.Errorf("pretty %v: calls carried %v inputs", pretty, g.up.inputs)
		}
		g.up.mu.Unlock()
	}
}

// TestEmbeddingsListedModels pins GET /v1/models: gemini-embedding-001 on the Developer API,
// all three embedding models on Vertex.
func TestEmbeddingsListedModels(t *testing.T) {
	for _, vertex := range []bool{false, true} {
		g := newEmbedGateway(t, newGoogleEmbed(t, vertex), nil)
		page, err := g.client.Models.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, m := range page.Data {
			listed[m.ID] = true
		}
		if !listed["gemini-embedding-001"] || listed["text-embedding-005"] != vertex || listed["text-multilingual-embedding-002"] != vertex {
			t.Errorf("vertex=%v: listed %v", vertex, listed)
		}
	}
}

// TestEmbeddingsErrors pins the client-facing errors: the status, code and param the official
// client sees, and how many upstream calls were made.
func TestEmbeddingsErrors(t *testing.T) {
	rateLimited, err := fsRead("../translate/testdata/wire/13-error-429-RESOURCE_EXHAUSTED-QuotaFailure-RetryInfo.mldev.adapted.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		params     oai.EmbeddingNewParams
		opts       []option.RequestOption
		fail       func(n int, w http.ResponseWriter, r *http.Request) bool
		status     int
		code       string
		param      string
		calls      int
		retryAfter string
	}{
		{name: "token ids", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 2, 3}}}},
			status: 400, code: "api_not_implemented", param: "input"},
		{name: "flat token ids", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2, 3}}},
			status: 400, code: "api_not_implemented", param: "input"},
		{name: "empty string", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("")}},
			status: 400, code: "invalid_request", param: "input"},
		{name: "unknown model", params: oai.EmbeddingNewParams{Model: "text-embedding-3-large",
			Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("x")}},
			status: 404, code: "model_not_found", param: "model"},
		{name: "unknown google key", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("x")}},
			opts:   []option.RequestOption{option.WithJSONSet("google", map[string]any{"task": "x"})},
			status: 400, code: "invalid_request", param: "google.task"},
		{name: "upstream 429 with RetryInfo", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("x")}},
			fail: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(429)
				_, _ = w.Write(rateLimited)
				return true
			},
			// RetryInfo says 26s, over the 2s the policy waits: one call, the delay passed on.
			status: 429, code: "too_many_requests", calls: 1, retryAfter: "26"},
		{name: "one chunk fails", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs(250)}},
			fail: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 1 {
					return false
				}
				embedError(w, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests[3].content: text too long")
				return true
			},
			// The other two calls may be cancelled before Google sees them: no call count.
			status: 400, code: "invalid_request"},
		{name: "upstream 503 then success", params: oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("x")}},
			fail: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n > 0 {
					return false
				}
				embedError(w, 503, "UNAVAILABLE", "overloaded")
				return true
			},
			status: 200, calls: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := newGoogleEmbed(t, false)
			up.fail = c.fail
			g := newEmbedGateway(t, up, nil)
			var raw *http.Response
			_, err := g.client.Embeddings.New(t.Context(), c.params, append(c.opts, option.WithResponseInto(&raw))...)
			if c.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var ae *oai.Error
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want *openai.Error", err)
				}
				if ae.StatusCode != c.status || ae.Code != c.code || ae.Param != c.param {
					t.Errorf("got %d %q param %q (%s), want %d %q %q", ae.StatusCode, ae.Code, ae.Param, ae.Message, c.status, c.code, c.param)
				}
				if c.retryAfter != "" && ae.Response.Header.Get("Retry-After") != c.retryAfter {
					t.Errorf("Retry-After = %q, want %q", ae.Response.Header.Get("Retry-After"), c.retryAfter)
				}
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			if c.fail != nil && c.calls > 0 && up.n != c.calls {
				t.Errorf("%d upstream calls, want %d", up.n, c.calls)
			}
			if c.fail == nil && c.status != 200 && up.n != 0 {
				t.Errorf("%d upstream calls for a request refused before any", up.n)
			}
		})
	}
}

// TestEmbeddingsRawHTTP pins what the OpenAI client does not show: /embeddings without /v1,
// 405 for GET, a body that is valid JSON with the vectors as JSON arrays, and the key check.
func TestEmbeddingsRawHTTP(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, false), nil)
	post := func(path, key, body string) (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := post("/embeddings", testKey, `{"model":"gemini-embedding-001","input":["a","b"],"dimensions":3,"encoding_format":"float"}`)
	var out struct {
		Object string `json:"object"`
		Data   []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Usage map[string]int `json:"usage"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || len(out.Data) != 2 || len(out.Data[1].Embedding) != 3 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if bytes.Contains(body, []byte("\n  ")) {
		t.Errorf("Google's indentation leaked into the response: %.80s", body)
	}
	if _, ok := out.Usage["prompt_tokens"]; !ok || len(out.Usage) != 2 {
		t.Errorf("usage = %v", out.Usage)
	}
	if resp, body := post("/v1/embeddings", "wrong-key-123", `{"model":"gemini-embedding-001","input":"a"}`); resp.StatusCode != 401 {
		t.Errorf("bad key: %d %s", resp.StatusCode, body)
	}
	get, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.srv.URL+"/v1/embeddings", nil)
	r, err := http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 405 {
		t.Errorf("GET /v1/embeddings = %d", r.StatusCode)
	}
}

// TestEmbedInProcess pins the batch runner's entry: the same answer as over HTTP, errors as the
// gateway's error body.
func TestEmbedInProcess(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, false), nil)
	c := g.h.Embed(t.Context(), []byte(`{"model":"gemini-embedding-001","input":"a","dimensions":2}`))
	status, body := c.Status, c.Body
	if status != 200 || !bytes.HasPrefix(body, []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[`)) {
		t.Errorf("%d %s", status, body)
	}
	c = g.h.Embed(t.Context(), []byte(`{"model":"gemini-embedding-001","input":[[1]]}`))
	status, body = c.Status, c.Body
	if status != 400 || !bytes.Contains(body, []byte(`"code":"api_not_implemented"`)) || c.Err == nil || c.Err.Code != "api_not_implemented" {
		t.Errorf("%d %s", status, body)
	}
}

// TestEmbeddingsClientGone pins cancellation: a client that leaves cancels the upstream calls
// still running, and no call is started after.
func TestEmbeddingsClientGone(t *testing.T) {
	up := newGoogleEmbed(t, true)
	release := make(chan struct{})
	var started, cancelled atomic.Int32
	up.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		started.Add(1)
		// net/http notices a closed connection only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
			return false
		case <-r.Context().Done(): // the gateway gave up on this call
			cancelled.Add(1)
			return true
		}
	}
	g := newEmbedGateway(t, up, func(o *gateway.Options) { o.EmbedConcurrency = 2 })
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := g.client.Embeddings.New(ctx, oai.EmbeddingNewParams{Model: "gemini-embedding-001",
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs(10)}})
		done <- err
	}()
	for started.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("request succeeded after cancel")
	}
	// Both running calls must be cancelled; the test times out if they are not.
	for cancelled.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // room for a wrongly launched call to arrive
	if n := started.Load(); n != 2 {
		t.Errorf("%d calls started; only the 2 running when the client left should have", n)
	}
}

// TestBatchEmbeddingLines pins batch lines with url /v1/embeddings through the real runner
// and handler: each line is one embeddings request, its error a line of the errors file.
func TestBatchEmbeddingLines(t *testing.T) {
	g := newEmbedGateway(t, newGoogleEmbed(t, false), nil)
	s := batchtest.NewMemStore()
	data := `{"custom_id":"docs","method":"POST","url":"/v1/embeddings","body":{"model":"gemini-embedding-001","input":["a","b"],"dimensions":4,"encoding_format":"base64"}}
{"custom_id":"tokens","method":"POST","url":"/embeddings","body":{"model":"gemini-embedding-001","input":[[1,2]]}}
`
	s.Put("input/e.jsonl", []byte(data))
	r := batch.NewRunner(g.h, s.Bucket, batch.Config{Concurrency: 2, InputPrefix: "input/", OutputPrefix: "output/"}, nil)
	if err := r.RunFile(t.Context(), s, "input/e.jsonl"); err != nil {
		t.Fatal(err)
	}
	outName, errName, _ := r.OutputNames("input/e.jsonl")
	out, _ := s.Object(outName)
	errs, _ := s.Object(errName)
	var line struct {
		CustomID string `json:"custom_id"`
		Response struct {
			StatusCode int `json:"status_code"`
			Body       struct {
				Object string `json:"object"`
				Data   []struct {
					Embedding string `json:"embedding"`
				} `json:"data"`
			} `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(out, &line); err != nil || line.CustomID != "docs" || line.Response.StatusCode != 200 ||
		len(line.Response.Body.Data) != 2 || len(line.Response.Body.Data[1].Embedding) != 24 {
		t.Errorf("output %s (%v)", out, err)
	}
	if !bytes.Contains(errs, []byte(`"custom_id":"tokens"`)) || !bytes.Contains(errs, []byte(`"code":"api_not_implemented"`)) {
		t.Errorf("errors %s", errs)
	}
}

// TestEmbeddingsKeyModelsAndRate pins the per-key allow-list and rate limit on embeddings, and
// the request's log line (route, model, upstream model, key, usage).
func TestEmbeddingsKeyModelsAndRate(t *testing.T) {
	limited := "limited-key-0123456789"
	sum := sha256.Sum256([]byte(limited))
	store := keys.NewStore(keys.NewSet([]*keys.Key{{Name: "limited", Hash: sum, Models: []string{"gemini-embedding-001"}, RPM: 2}}))
	var logs syncBuffer
	g := newEmbedGateway(t, newGoogleEmbed(t, true), func(o *gateway.Options) {
		o.Keys = store
		o.Logger = gateway.NewLogger(&logs, slog.LevelInfo)
	})
	post := func(body string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+"/v1/embeddings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+limited)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post(`{"model":"text-embedding-005","input":"x"}`); status != 403 || !strings.Contains(body, "permission_denied") {
		t.Errorf("other model: %d %s", status, body)
	}
	if status, body := post(`{"model":"google/gemini-embedding-001","input":"one two"}`); status != 200 {
		t.Errorf("allowed model: %d %s", status, body)
	}
	if status, body := post(`{"model":"gemini-embedding-001","input":"x"}`); status != 429 || !strings.Contains(body, "too_many_requests") {
		t.Errorf("over rate: %d %s", status, body)
	}
	var ok map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["status"] == 200.0 {
			ok = m
		}
	}
	if ok == nil || ok["route"] != "/v1/embeddings" || ok["model"] != "google/gemini-embedding-001" || ok["upstream_model"] != "gemini-embedding-001" ||
		ok["key"] != "limited" || ok["prompt_tokens"] != 2.0 || ok["total_tokens"] != 2.0 {
		t.Errorf("log line = %v", ok)
	}
}
