package translate

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// embedTaskTypes are Gemini's embedding task types.
// https://ai.google.dev/api/embeddings#tasktype and
// https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/task-types
var embedTaskTypes = []string{"RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
	"CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}

// Embed is an embeddings request translated for one backend: the calls that, in order, carry
// every input once, each within the model's per-call limit.
type Embed struct {
	Model  string // upstream model id
	Calls  []EmbedCall
	Inputs int
	Base64 bool
	Vertex bool // calls are predict requests and answers carry predictions
}

// EmbedCall is one upstream call: inputs First to First+N-1 of the request.
type EmbedCall struct {
	First, N int
	// Body is the request to encode: *gemini.BatchEmbedRequest (Developer API, emulator) or
	// *gemini.PredictRequest (Vertex).
	Body gemini.EmbedBody

	base64 bool          // the request's encoding_format, for Watch
	solo   bool          // the request's one call: Watch writes the response in place
	early  *earlyVectors // vectors converted while the answer arrived (Watch)
}

// Release gives back the work Watch kept for e's calls, when AppendEmbeddings will not (the
// request failed before). It is safe to call more than once.
func (e *Embed) Release() {
	for i := range e.Calls {
		e.Calls[i].release()
	}
}

// ResolveEmbedding maps a client model name to an upstream embedding model: the alias table
// first ("google/" and "models/" stripped), then the listed embedding models, then any
// gemini-embedding-* id as is. Anything else, an OpenAI name such as text-embedding-3-small
// included, is 404 model_not_found unless an alias maps it.
func (m *Models) ResolveEmbedding(name string) (string, error) {
	if name == "" {
		return "", openai.InvalidParam("model", "model is required")
	}
	n := strings.TrimPrefix(strings.TrimPrefix(name, "google/"), "models/")
	id := n
	if a, ok := m.aliases[n]; ok {
		id = a
	}
	for _, e := range EmbeddingModels {
		if id == e {
			return id, nil
		}
	}
	if strings.HasPrefix(id, "gemini-embedding-") && validModelID(id) {
		return id, nil
	}
	return "", openai.Errorf(http.StatusNotFound, openai.CodeModelNotFound, "model",
		"The model %q is not an embedding model served by this gateway (use one of %s, or map the name in GATEWAY_MODEL_ALIASES)",
		name, strings.Join(EmbeddingModels, ", "))
}

// EmbeddingsToGemini translates an embeddings request for backend, split into calls within the
// model's documented per-call limit (gemini.EmbedLimitFor).
func EmbeddingsToGemini(req *openai.EmbeddingRequest, models *Models, backend gemini.Backend) (*Embed, error) {
	id, err := models.ResolveEmbedding(req.Model)
	if err != nil {
		return nil, err
	}
	vertex := backend == gemini.Vertex
	if !vertex && vertexOnlyEmbedding[id] {
		return nil, openai.Errorf(http.StatusNotFound, openai.CodeModelNotFound, "model",
			"The model %q is served on Vertex AI only; this gateway uses the %s backend (use gemini-embedding-001)", req.Model, backend)
	}
	var g openai.EmbeddingGoogle
	if req.Google != nil {
		g = *req.Google
	}
	taskType := strings.ToUpper(g.TaskType)
	if g.HasTaskType() && !contains(embedTaskTypes, taskType) {
		return nil, openai.InvalidParam("google.task_type", "google.task_type must be one of %s, not %q", strings.Join(embedTaskTypes, ", "), g.TaskType)
	}
	if g.HasTitle() && taskType != "RETRIEVAL_DOCUMENT" {
		// Both APIs take a title only for documents.
		// https://ai.google.dev/api/embeddings#EmbedContentRequest
		return nil, openai.InvalidParam("google.title", "google.title is only valid with google.task_type RETRIEVAL_DOCUMENT")
	}
	if g.AutoTruncate != nil && !vertex {
		// batchEmbedContents has no such field (EmbedContentRequest: model, content, taskType,
		// title, outputDimensionality).
		return nil, openai.NotImplemented("google.auto_truncate", "google.auto_truncate is supported on the Vertex AI backend only")
	}

	texts := req.Input.Texts
	e := &Embed{Model: id, Inputs: len(texts), Base64: req.EncodingFormat == "base64", Vertex: vertex}
	limit := gemini.EmbedLimitFor(backend, id)
	var params *gemini.EmbedParameters
	if vertex && (req.Dimensions != nil || g.AutoTruncate != nil) {
		params = &gemini.EmbedParameters{OutputDimensionality: req.Dimensions, AutoTruncate: g.AutoTruncate}
	}
	devModel := "models/" + id
	for first := 0; first < len(texts); {
		n, tokens := 0, 0
		for first+n < len(texts) && n < limit.Inputs {
			// A token is at least one byte, so the byte length bounds the count from above.
			est := len(texts[first+n]) + len(g.Title)
			if limit.Tokens > 0 && n > 0 && tokens+est > limit.Tokens {
				break
			}
			tokens += est
			n++
		}
		call := EmbedCall{First: first, N: n, base64: e.Base64}
		chunk := texts[first : first+n]
		if vertex {
			body := &gemini.PredictRequest{Instances: make([]gemini.EmbedInstance, n), Parameters: params}
			for i, t := range chunk {
				body.Instances[i] = gemini.EmbedInstance{Content: t, TaskType: taskType, Title: g.Title}
			}
			call.Body = body
		} else {
			body := &gemini.BatchEmbedRequest{Requests: make([]gemini.EmbedContentRequest, n)}
			for i, t := range chunk {
				body.Requests[i] = gemini.EmbedContentRequest{Model: devModel, Content: gemini.Content{Parts: []gemini.Part{{Text: t}}},
					TaskType: taskType, Title: g.Title, OutputDimensionality: req.Dimensions}
			}
			call.Body = body
		}
		e.Calls = append(e.Calls, call)
		first += n
	}
	if len(e.Calls) == 1 {
		e.Calls[0].solo = true
	}
	return e, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// AppendEmbeddings appends to dst the OpenAI list that the answers to e's calls make (resps[i]
// answers e.Calls[i]): every vector in input order, under the model name the client sent, in
// one pass and into one buffer grown once. Float values are Google's bytes as Google wrote
// them, each number checked (compact vectors are copied whole, others lose their whitespace);
// base64 values are each number rounded once to float32, little-endian, in standard base64, as
// OpenAI encodes them. Usage is Vertex's statistics.token_count summed; the Developer API
// reports no token counts, so it is 0 there. On error dst is returned as it came.
// A vector the call's Watch converted while the answer arrived is taken as converted then
// (embeddings_early.go); the work Watch kept is released. When Watch wrote the response in
// place and dst is empty, the result is that buffer, and Watch's pool keeps dst's instead.
func AppendEmbeddings(dst []byte, e *Embed, resps []*gemini.EmbedResponse, model string) ([]byte, openai.EmbeddingUsage, error) {
	defer e.Release()
	if len(resps) != len(e.Calls) {
		return dst, openai.EmbeddingUsage{}, fmt.Errorf("translate: %d answers for %d embedding calls", len(resps), len(e.Calls))
	}
	// vecs[i] is vector i as Google sent it, and done[i] its conversion when it was converted
	// early (float: the vector itself, checked).
	vecs := make([][]byte, 0, e.Inputs)
	done := make([][]byte, 0, e.Inputs)
	size, tokens := 0, 0
	placed := 0     // the vectors of a solo call, from the first, found where Watch wrote them
	placedSize := 0 // their share of size
	for i := range e.Calls {
		call := &e.Calls[i]
		r := resps[i]
		got := len(r.Embeddings)
		if e.Vertex {
			got = len(r.Predictions)
		}
		if got != call.N {
			return dst, openai.EmbeddingUsage{}, malformed("Gemini returned %d embeddings for %d inputs", got, call.N)
		}
		for j := range call.N {
			var (
				v     []byte
				at    int
				known bool // at is known
			)
			if e.Vertex {
				p := &r.Predictions[j]
				v = p.Embeddings.Values
				at, known = p.Offset()
				if s := p.Embeddings.Statistics; s != nil {
					tokens += s.Tokens()
				}
			} else {
				v = r.Embeddings[j].Values
				at, known = r.Embeddings[j].Offset()
			}
			var conv []byte
			if s, k, ok := call.early.lookup(v, at); known && ok {
				conv = v
				if e.Base64 {
					conv = call.early.out[s.from:s.to]
				}
				size += len(conv)
				if k == j && placed == j && call.solo {
					placed++
					placedSize += len(conv)
				}
			} else if e.Base64 {
				// An estimate, not to read the vector one more time: a number and its comma take 2
				// bytes or more and 11 to 14 as Gemini writes them, against 16/3 in base64;
				// appendBase64Vector grows the buffer when a vector of short numbers needs it.
				size += len(v)/2 + 2
			} else {
				size += len(v) // whitespace is dropped, so at most this
			}
			vecs = append(vecs, v)
			done = append(done, conv)
		}
	}
	list := openai.EmbeddingList{Model: model, Len: len(vecs), Usage: openai.EmbeddingUsage{PromptTokens: tokens, TotalTokens: tokens}}
	vector := func(b []byte, i int) ([]byte, error) {
		if done[i] != nil {
			return append(b, done[i]...), nil
		}
		var err error
		if e.Base64 {
			b, err = appendBase64Vector(b, vecs[i])
		} else {
			b, err = appendFloatVector(b, vecs[i])
		}
		if err != nil {
			return b, malformed("embedding %d: %v", i, err)
		}
		return b, nil
	}
	if len(dst) == 0 && len(e.Calls) == 1 {
		out, ok, err := e.Calls[0].early.response(placed, size-placedSize, &list, vector, dst)
		if err != nil {
			return dst, openai.EmbeddingUsage{}, err
		}
		if ok {
			return out, list.Usage, nil
		}
	}
	out, err := list.AppendJSON(slices.Grow(dst, size+list.Overhead()), vector)
	if err != nil {
		return dst, openai.EmbeddingUsage{}, err
	}
	return out, list.Usage, nil
}

func malformed(format string, args ...any) error {
	return &gemini.MalformedError{Err: fmt.Errorf(format, args...)}
}
