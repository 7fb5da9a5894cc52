package emulator

import (
	"encoding/json"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
)

// TestVector pins the emulator's vectors: a function of the text and the dimension only, unit
// length, different texts apart, and a shorter vector a scaled prefix of a longer one.
func TestVector(t *testing.T) {
	a, again, b := Vector("hello", 64), Vector("hello", 64), Vector("world", 64)
	var norm, dot float64
	for i := range a {
		if a[i] != again[i] {
			t.Fatalf("Vector is not deterministic at %d", i)
		}
		norm += float64(a[i]) * float64(a[i])
		dot += float64(a[i]) * float64(b[i])
	}
	if math.Abs(norm-1) > 1e-5 || math.Abs(dot) > 0.5 {
		t.Errorf("norm %v, cosine with another text %v", norm, dot)
	}
	short := Vector("hello", 8)
	scale := float64(a[0]) / float64(short[0])
	for i := range short {
		if math.Abs(float64(a[i])-scale*float64(short[i])) > 1e-6 {
			t.Errorf("value %d: %v is not %v × %v", i, a[i], scale, short[i])
		}
	}
}

// TestEmulatorEmbeds pins both embedding methods: vectors per input in order at the asked
// dimension, Vertex's statistics, and Google's limit errors (100 requests per batch, one
// instance per gemini-embedding-001 predict, unknown fields, non-embedding models).
func TestEmulatorEmbeds(t *testing.T) {
	srv := httptest.NewServer(Handler{})
	defer srv.Close()
	const dev = "/v1beta/models/gemini-embedding-001:batchEmbedContents"
	var r gemini.EmbedResponse
	resp := post(t, srv, dev, `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},"outputDimensionality":4},
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]},"taskType":"CLUSTERING"}]}`)
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Embeddings) != 2 {
		t.Fatalf("%v %+v", err, r)
	}
	var v0, v1 []float32
	_ = json.Unmarshal(r.Embeddings[0].Values, &v0)
	_ = json.Unmarshal(r.Embeddings[1].Values, &v1)
	if len(v0) != 4 || len(v1) != 3072 || v0[0] != Vector("a", 4)[0] || v1[5] != Vector("b", 3072)[5] {
		t.Errorf("vectors: %d %d values", len(v0), len(v1))
	}

	const vtx = "/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict"
	r = gemini.EmbedResponse{}
	resp = post(t, srv, vtx, `{"instances":[{"content":"one two three"},{"content":"four","task_type":"RETRIEVAL_DOCUMENT","title":"t"}],"parameters":{"outputDimensionality":16,"autoTruncate":false}}`)
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Predictions) != 2 {
		t.Fatalf("%v %+v", err, r)
	}
	if st := r.Predictions[0].Embeddings.Statistics; st == nil || st.Tokens() != tokens("one two three") {
		t.Errorf("statistics = %+v", st)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = `{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"x"}]}}`
	}
	for _, c := range []struct {
		path, body string
		status     int
		msg        string
	}{
		{dev, `{"requests":[` + strings.Join(many, ",") + `]}`, 400, "at most 100 requests can be in one batch"},
		{dev, `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"x"}]},"task_type":"X"}]}`, 400, "unknown field"},
		{dev, `{"requests":[{"model":"models/other","content":{"parts":[{"text":"x"}]}}]}`, 400, "does not match"},
		{"/v1/projects/p/locations/l/publishers/google/models/gemini-embedding-001:predict", `{"instances":[{"content":"a"},{"content":"b"}]}`, 400, "1 to 1 instances"},
		{vtx, `{"instances":[{"content":"a"}],"parameters":{"outputDimensionality":769}}`, 400, "outputDimensionality"},
		{"/v1beta/models/gemini-2.5-flash:batchEmbedContents", `{"requests":[]}`, 404, "not supported for batchEmbedContents"},
		{"/v1beta/models/text-embedding-005:batchEmbedContents", `{"requests":[]}`, 404, "not found"},
	} {
		resp := post(t, srv, c.path, c.body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.path, resp.StatusCode, b, c.status, c.msg)
		}
	}
}
