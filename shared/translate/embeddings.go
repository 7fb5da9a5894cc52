package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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
	Body any
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
		call := EmbedCall{First: first, N: n}
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

// EmbeddingsFromGemini assembles the answers to e's calls (resps[i] answers e.Calls[i]) into
// the OpenAI list, in input order, under the model name the client sent. Values are Google's
// bytes, as Google wrote them (aliased when compact, else copied with whitespace removed) or, for base64, parsed as float32 and encoded as
// OpenAI does: little-endian float32s in standard base64. Usage is Vertex's
// statistics.token_count summed; the Developer API reports no token counts, so it is 0 there.
func EmbeddingsFromGemini(e *Embed, resps []*gemini.EmbedResponse, model string) (*openai.EmbeddingList, error) {
	if len(resps) != len(e.Calls) {
		return nil, fmt.Errorf("translate: %d answers for %d embedding calls", len(resps), len(e.Calls))
	}
	type vector struct {
		v       []byte
		compact bool // a float vector to pass on as is
	}
	vecs := make([]vector, 0, e.Inputs)
	size := 0
	tokens := 0
	for i, call := range e.Calls {
		r := resps[i]
		got := len(r.Embeddings)
		if e.Vertex {
			got = len(r.Predictions)
		}
		if got != call.N {
			return nil, malformed("Gemini returned %d embeddings for %d inputs", got, call.N)
		}
		for j := range call.N {
			var v []byte
			if e.Vertex {
				p := &r.Predictions[j].Embeddings
				v = p.Values
				if p.Statistics != nil {
					tokens += p.Statistics.Tokens()
				}
			} else {
				v = r.Embeddings[j].Values
			}
			switch {
			case e.Base64:
				size += base64.StdEncoding.EncodedLen(4*(bytes.Count(v, []byte{','})+1)) + 2
				vecs = append(vecs, vector{v: v})
			case compactNumbers(v):
				vecs = append(vecs, vector{v: v, compact: true})
			default:
				size += len(v)
				vecs = append(vecs, vector{v: v})
			}
		}
	}
	list := &openai.EmbeddingList{Model: model, Data: make([]openai.Embedding, len(vecs)),
		Usage: openai.EmbeddingUsage{PromptTokens: tokens, TotalTokens: tokens}}
	out := make([]byte, 0, size) // every vector is a slice of this one buffer
	var scratch []byte
	for i, vec := range vecs {
		v, start := vec.v, len(out)
		var err error
		switch {
		case e.Base64:
			out, scratch, err = appendBase64Vector(out, scratch, v)
		case vec.compact:
			// Already what OpenAI's float format wants: the vector is Google's bytes, not a copy.
			list.Data[i] = openai.Embedding{Index: i, Vector: v[:len(v):len(v)]}
			continue
		default:
			out, err = appendFloatVector(out, v)
		}
		if err != nil {
			return nil, malformed("embedding %d: %v", i, err)
		}
		list.Data[i] = openai.Embedding{Index: i, Vector: out[start:len(out):len(out)]}
	}
	return list, nil
}

func malformed(format string, args ...any) error {
	return &gemini.MalformedError{Err: fmt.Errorf(format, args...)}
}

var errNotNumbers = errors.New("values is not an array of numbers")

// appendFloatVector appends the JSON array v of numbers, each checked against JSON's number
// grammar, with any whitespace removed. Upstream bodies are not fully validated before (see
// gemini.decodeEmbedResponse), so this is where a broken vector is caught.
func appendFloatVector(dst, v []byte) ([]byte, error) {
	if compactNumbers(v) {
		// The usual case (prettyPrint=false): nothing to remove, one copy.
		return append(dst, v...), nil
	}
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return dst, errNotNumbers
	}
	i++
	start := len(dst)
	dst = append(dst, '[')
	for {
		i = skipSpace(v, i)
		end, ok := scanNumber(v, i)
		if !ok {
			return dst[:start], errNotNumbers
		}
		dst = append(dst, v[i:end]...)
		i = skipSpace(v, end)
		if i >= len(v) {
			return dst[:start], errNotNumbers
		}
		if v[i] == ']' {
			break
		}
		if v[i] != ',' {
			return dst[:start], errNotNumbers
		}
		dst = append(dst, ',')
		i++
	}
	if skipSpace(v, i+1) != len(v) {
		return dst[:start], errNotNumbers
	}
	return append(dst, ']'), nil
}

// compactNumbers reports whether v is a JSON array of numbers without any whitespace, [] aside.
func compactNumbers(v []byte) bool {
	if len(v) < 3 || v[0] != '[' {
		return false
	}
	for i := 1; ; {
		end, ok := scanNumber(v, i)
		if !ok || end >= len(v) {
			return false
		}
		switch v[end] {
		case ',':
			i = end + 1
		case ']':
			return end == len(v)-1
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanNumber returns the end of the JSON number that starts at v[i]
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), and whether there is one.
func scanNumber(v []byte, i int) (int, bool) {
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i >= len(v):
		return i, false
	case v[i] == '0':
		i++
	case v[i] >= '1' && v[i] <= '9':
		i = digits(v, i)
	default:
		return i, false
	}
	if i < len(v) && v[i] == '.' {
		d := digits(v, i+1)
		if d == i+1 {
			return i, false
		}
		i = d
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		d := digits(v, i)
		if d == i {
			return i, false
		}
		i = d
	}
	return i, true
}

func digits(v []byte, i int) int {
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	return i
}

// appendBase64Vector appends v's numbers as a JSON string holding the standard base64 of
// their little-endian float32 encoding, the format of OpenAI's encoding_format "base64".
// Each number is rounded once, straight from its decimal form to float32. scratch is reused
// between calls.
func appendBase64Vector(dst, scratch, v []byte) ([]byte, []byte, error) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return dst, scratch, errNotNumbers
	}
	i++
	scratch = scratch[:0]
	for {
		i = skipSpace(v, i)
		end, ok := scanNumber(v, i)
		if !ok {
			return dst, scratch, errNotNumbers
		}
		f, ok := parseFloat32(v[i:end])
		if !ok { // out of float32's range
			return dst, scratch, errNotNumbers
		}
		scratch = binary.LittleEndian.AppendUint32(scratch, math.Float32bits(f))
		i = skipSpace(v, end)
		if i >= len(v) {
			return dst, scratch, errNotNumbers
		}
		if v[i] == ']' {
			break
		}
		if v[i] != ',' {
			return dst, scratch, errNotNumbers
		}
		i++
	}
	if skipSpace(v, i+1) != len(v) {
		return dst, scratch, errNotNumbers
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, scratch)
	dst = append(dst, '"')
	return dst, scratch, nil
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat32 returns the JSON number s (already checked by scanNumber) rounded once to the
// nearest float32, as strconv.ParseFloat(s, 32) does, and false when it is out of float32's
// range. The common case, at most 15 significant digits and a power of ten within 1e±22, is
// worked out in float64: the significand and the power are exact there, so one multiplication
// or division rounds the value once to float64. Rounding that to float32 rounds twice, which
// differs from rounding once only when the float64 lands exactly halfway between two float32s;
// that case, subnormal or huge results and everything else go to strconv.
func parseFloat32(s []byte) (float32, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	nd, exp := 0, 0 // significant digits in m; the value is m * 10^exp
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if m == 0 && s[i] == '0' {
			continue
		}
		m = m*10 + uint64(s[i]-'0')
		nd++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp--
			if m == 0 && s[i] == '0' {
				continue
			}
			m = m*10 + uint64(s[i]-'0')
			nd++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		e := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if e < 10000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if m == 0 && nd == 0 && i == len(s) {
		if neg {
			return float32(math.Copysign(0, -1)), true
		}
		return 0, true
	}
	if i == len(s) && nd <= 15 && exp >= -22 && exp <= 22 {
		f := float64(m)
		if exp < 0 {
			f /= pow10[-exp]
		} else {
			f *= pow10[exp]
		}
		const halfway = 1 << 28 // float64 significand bits below float32's: exactly one half
		if f >= 0x1p-126 && f <= math.MaxFloat32 && math.Float64bits(f)&(1<<29-1) != halfway {
			if neg {
				f = -f
			}
			return float32(f), true
		}
	}
	f, err := strconv.ParseFloat(string(s), 32)
	return float32(f), err == nil
}
