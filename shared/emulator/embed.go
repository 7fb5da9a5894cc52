package emulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
)

// fullDimensions is the default embedding size of a model: 3072 for gemini-embedding-*, 768
// for the text-embedding models (Vertex's get-text-embeddings page).
func fullDimensions(model string) int {
	if strings.HasPrefix(model, "gemini-embedding-") {
		return 3072
	}
	return 768
}

// isEmbedding reports whether the emulator embeds with model on backend b.
func isEmbedding(b gemini.Backend, model string) bool {
	if strings.HasPrefix(model, "gemini-embedding-") {
		return true
	}
	return b == gemini.Vertex && (strings.HasPrefix(model, "text-embedding-") || strings.HasPrefix(model, "text-multilingual-embedding-"))
}

// Vector returns the emulator's embedding of text with dim values: a deterministic function of
// the text and the dimension (a PCG stream seeded by the text's FNV-1a hash, scaled to unit
// length), so equal texts get equal vectors and a shorter vector is a prefix of a longer one
// up to scale.
func Vector(text string, dim int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
	v := make([]float32, dim)
	var sum float64
	for i := range v {
		x := rng.Float64()*2 - 1
		v[i] = float32(x)
		sum += x * x
	}
	norm := math.Sqrt(sum)
	if norm == 0 {
		norm = 1
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// strictDecode decodes body into v, refusing unknown fields as Google does.
func strictDecode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// dims checks an outputDimensionality against the model's full size.
func dims(model string, od *int) (int, string) {
	full := fullDimensions(model)
	if od == nil {
		return full, ""
	}
	if *od < 1 || *od > full {
		return 0, fmt.Sprintf("* outputDimensionality: must be between 1 and %d for %s, got %d", full, model, *od)
	}
	return *od, ""
}

// embed routes an embedding method: batchEmbedContents at the Developer API path, predict at
// the Vertex AI path.
func embed(w http.ResponseWriter, r *http.Request, model, method string) {
	vertex := strings.Contains(r.URL.Path, "/publishers/google/models/")
	backend := gemini.Developer
	if vertex {
		backend = gemini.Vertex
	}
	switch {
	case method == "predict" && !vertex, method == "batchEmbedContents" && vertex:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown method "+method)
	case !isEmbedding(backend, model):
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for %s", model, method))
	case vertex:
		predictEmbed(w, r, model)
	default:
		batchEmbed(w, r, model)
	}
}

// batchEmbed answers models/{m}:batchEmbedContents as the Developer API does, limits included.
func batchEmbed(w http.ResponseWriter, r *http.Request, model string) {
	var req gemini.BatchEmbedRequest
	if err := strictDecode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	switch n := len(req.Requests); {
	case n == 0:
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests is not specified")
		return
	case n > 100:
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
		return
	}
	type values struct {
		Values []float32 `json:"values"`
	}
	out := struct {
		Embeddings []values `json:"embeddings"`
	}{Embeddings: make([]values, len(req.Requests))}
	for i, q := range req.Requests {
		if q.Model != "models/"+model {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d].model: model %q does not match the batch model models/%s", i, q.Model, model))
			return
		}
		var text strings.Builder
		for _, p := range q.Content.Parts {
			text.WriteString(p.Text)
		}
		if text.Len() == 0 {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d].content: contents is not specified", i))
			return
		}
		d, msg := dims(model, q.OutputDimensionality)
		if msg != "" {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
			return
		}
		out.Embeddings[i].Values = Vector(text.String(), d)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// predictEmbed answers publishers/google/models/{m}:predict as Vertex does for text
// embeddings: one instance for gemini-embedding-*, else up to 250 instances and 20,000 tokens.
func predictEmbed(w http.ResponseWriter, r *http.Request, model string) {
	var req gemini.PredictRequest
	if err := strictDecode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	limit := gemini.EmbedLimitFor(gemini.Vertex, model)
	if len(req.Instances) == 0 || len(req.Instances) > limit.Inputs {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("%s takes 1 to %d instances per request, got %d", model, limit.Inputs, len(req.Instances)))
		return
	}
	var od *int
	if req.Parameters != nil {
		od = req.Parameters.OutputDimensionality
	}
	d, msg := dims(model, od)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	type prediction struct {
		Embeddings struct {
			Values     []float32 `json:"values"`
			Statistics struct {
				TokenCount int  `json:"token_count"`
				Truncated  bool `json:"truncated"`
			} `json:"statistics"`
		} `json:"embeddings"`
	}
	out := struct {
		Predictions []prediction `json:"predictions"`
	}{Predictions: make([]prediction, len(req.Instances))}
	total := 0
	for i, in := range req.Instances {
		if in.Content == "" {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("instances[%d].content is empty", i))
			return
		}
		p := &out.Predictions[i].Embeddings
		p.Values = Vector(in.Content, d)
		p.Statistics.TokenCount = tokens(in.Content)
		total += p.Statistics.TokenCount
	}
	if limit.Tokens > 0 && total > limit.Tokens {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("the request has %d input tokens; %s takes at most %d", total, model, limit.Tokens))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
