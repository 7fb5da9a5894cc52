package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Embedding wire types and limits. The Developer API (and the emulator) embeds through
// models/{m}:batchEmbedContents, Vertex AI through publishers/google/models/{m}:predict.
// https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
// https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api

// BatchEmbedRequest is a batchEmbedContents request body (Developer API).
type BatchEmbedRequest struct {
	Requests []EmbedContentRequest `json:"requests"`
}

// EmbedContentRequest is one request of a batch. Model repeats the batch's model as
// "models/{m}": Google rejects a batch whose requests name another model.
type EmbedContentRequest struct {
	Model                string  `json:"model"`
	Content              Content `json:"content"`
	TaskType             string  `json:"taskType,omitempty"`
	Title                string  `json:"title,omitempty"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

// PredictRequest is a Vertex AI text-embedding predict request body.
type PredictRequest struct {
	Instances  []EmbedInstance  `json:"instances"`
	Parameters *EmbedParameters `json:"parameters,omitempty"`
}

// EmbedInstance is one Vertex text-embedding instance. Its keys are snake_case: instances are
// free-form protobuf Values interpreted by the model, not proto fields.
type EmbedInstance struct {
	Content  string `json:"content"`
	TaskType string `json:"task_type,omitempty"`
	Title    string `json:"title,omitempty"`
}

// EmbedParameters are the Vertex text-embedding prediction parameters.
// https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/Shared.Types/TextEmbeddingPredictionParams
type EmbedParameters struct {
	OutputDimensionality *int  `json:"outputDimensionality,omitempty"`
	AutoTruncate         *bool `json:"autoTruncate,omitempty"`
}

// EmbedResponse decodes either backend's answer: Embeddings from batchEmbedContents,
// Predictions from predict. Vectors stay the JSON arrays Google sent, so values go out exactly
// as they came.
type EmbedResponse struct {
	Embeddings  []ContentEmbedding `json:"embeddings"`
	Predictions []Prediction       `json:"predictions"`

	body *[]byte // the answer's bytes, which the vectors alias, from embedBodies
}

// embedBodies holds answer buffers for reuse: an answer of a hundred vectors is a megabyte or
// more, read, copied out once and dropped.
var embedBodies sync.Pool

// maxPooledEmbedBody bounds the buffers kept in embedBodies.
const maxPooledEmbedBody = 8 << 20

// Release gives the answer's buffer back for reuse by a later call. The vectors alias it, so
// Release is for when they have been copied out (the response written) and r is dropped; it is
// optional, and a no-op on an answer that was not read by Client.Embed.
func (r *EmbedResponse) Release() {
	if r == nil || r.body == nil {
		return
	}
	r.Embeddings, r.Predictions = nil, nil
	putEmbedBody(r.body)
	r.body = nil
}

func putEmbedBody(b *[]byte) {
	if cap(*b) <= maxPooledEmbedBody {
		embedBodies.Put(b)
	}
}

// ContentEmbedding is one Developer API embedding.
type ContentEmbedding struct {
	Values json.RawMessage `json:"values"`

	at int // where Values starts in the answer, plus one; 0: not known (see Offset)
}

// Offset returns where Values starts in the bytes of the answer Client.Embed read, the bytes
// its watch function saw; ok is false when Values is not known to be part of them.
func (c *ContentEmbedding) Offset() (at int, ok bool) { return c.at - 1, c.at > 0 }

// Prediction is one Vertex text-embedding prediction.
type Prediction struct {
	Embeddings struct {
		Values     json.RawMessage  `json:"values"`
		Statistics *EmbedStatistics `json:"statistics"`
	} `json:"embeddings"`

	at int // where Embeddings.Values starts in the answer, plus one; 0: not known
}

// Offset returns where Embeddings.Values starts in the bytes of the answer Client.Embed read,
// as ContentEmbedding.Offset does.
func (p *Prediction) Offset() (at int, ok bool) { return p.at - 1, p.at > 0 }

// EmbedStatistics are Vertex's per-input statistics. Predictions are free-form values written
// by the model: the samples and client libraries show "token_count" (sometimes as a float, 6.0)
// while the TextEmbedding reference spells it "tokenCount", so both are read.
type EmbedStatistics struct {
	TokenCount      float64 `json:"token_count"`
	TokenCountCamel float64 `json:"tokenCount"`
	Truncated       bool    `json:"truncated"`
}

// Tokens returns the input's token count.
func (s *EmbedStatistics) Tokens() int {
	return int(max(s.TokenCount, s.TokenCountCamel))
}

// EmbedLimit is what one upstream embedding call may carry.
type EmbedLimit struct {
	// Inputs is the most inputs (batch requests or instances) in one call.
	Inputs int
	// Tokens caps the input tokens of one call; 0 means no documented cap.
	Tokens int
}

// EmbedLimitFor returns the documented per-call limit of model on backend:
//   - Developer API (and the emulator): at most 100 requests per batchEmbedContents, the error
//     being "BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch".
//   - Vertex AI: gemini-embedding-* take one instance per request; the text-embedding and
//     text-multilingual-embedding models take up to 250 instances and 20,000 input tokens.
//     https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings
//
// A Vertex model the table does not know gets the strictest limit (one instance).
func EmbedLimitFor(b Backend, model string) EmbedLimit {
	if b != Vertex {
		return EmbedLimit{Inputs: 100}
	}
	if strings.HasPrefix(model, "text-embedding-") || strings.HasPrefix(model, "text-multilingual-embedding-") {
		return EmbedLimit{Inputs: 250, Tokens: 20000}
	}
	return EmbedLimit{Inputs: 1}
}

// EmbedMethod returns the method the client calls to embed: predict on Vertex,
// batchEmbedContents otherwise.
func (c *Client) EmbedMethod() string {
	if c.o.Backend == Vertex {
		return "predict"
	}
	return "batchEmbedContents"
}

// Embed calls the backend's embedding method for model with the encoded body, retrying as
// Generate does.
func (c *Client) Embed(ctx context.Context, model string, body []byte) (*EmbedResponse, error) {
	return c.EmbedWatched(ctx, model, body, nil)
}

// A Watcher sees an embedding answer while it arrives (Client.EmbedWatched). The answer of a
// hundred vectors is a megabyte or more, which takes milliseconds to come through the network;
// a Watcher does its work on the vectors already there (translate converts them) meanwhile,
// instead of after the last byte.
type Watcher interface {
	// Arrived gets every byte read so far, after each read that leaves the answer incomplete:
	// a slice it must not keep (the buffer may move when it grows). It is not called once the
	// answer's declared length has arrived, nor for an error answer.
	Arrived(sofar []byte)
	// VectorEnd returns the end of the vector that starts at b[start] (its '['), the index just
	// past its first ']', when Arrived saw that ']': the decoder then does not look for it
	// again. Calls come in increasing start order.
	VectorEnd(start int) (end int, ok bool)
}

// EmbedWatched is Embed that shows the answer to w while it arrives. The vectors' Offset is
// into the bytes w saw.
func (c *Client) EmbedWatched(ctx context.Context, model string, body []byte, w Watcher) (*EmbedResponse, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.o.Timeout, ErrTimeout)
	defer cancel()
	// prettyPrint=false, a system parameter of every Google REST API
	// (https://cloud.google.com/apis/docs/system-parameters), drops the indentation that
	// would otherwise be a third of a vector's bytes.
	resp, err := c.send(ctx, c.URL(model, c.EmbedMethod())+"?prettyPrint=false", body, time.Time{})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read into a buffer of the declared size: a bytes.Buffer would regrow (doubling a
	// megabyte) to keep its spare 512 bytes for the final read. The buffer comes from
	// embedBodies when one is there (Release puts it back), so it is not cleared first either.
	buf, _ := embedBodies.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	b := (*buf)[:0]
	if n := resp.ContentLength; n > 0 && n < 1<<30 {
		b = slices.Grow(b, int(n))[:n]
		err = readFull(resp.Body, b, w)
	} else {
		b, err = appendAll(b, resp.Body, w)
	}
	*buf = b
	if err != nil {
		putEmbedBody(buf)
		return nil, c.transportError(ctx, err)
	}
	r, aliased, err := decodeEmbedResponse(b, w)

	if !aliased {
		putEmbedBody(buf)
		return r, err
	}
	r.body = buf
	return r, nil
}

// readFull fills b from r, as io.ReadFull does, showing w (when not nil) what it has read
// after each read that leaves b incomplete.
func readFull(r io.Reader, b []byte, w Watcher) error {
	if w == nil {
		_, err := io.ReadFull(r, b)
		return err
	}
	got := 0
	for got < len(b) {
		n, err := r.Read(b[got:])
		got += n
		if got == len(b) {
			return nil
		}
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if n > 0 {
			w.Arrived(b[:got])
		}
	}
	return nil
}

// appendAll appends what r holds to b, as io.ReadAll does to an empty slice, showing w (when
// not nil) what it has read after each read that did not end the stream.
func appendAll(b []byte, r io.Reader, w Watcher) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if w != nil && n > 0 {
			w.Arrived(b)
		}
	}
}

// decodeEmbedResponse decodes an embedding answer. A hundred vectors are megabytes of numbers
// that encoding/json scans twice at about 100 MB/s, more than the rest of the request costs; so
// the two shapes Google answers are matched by hand: the Developer API's
// {"embeddings":[{"values":[…]},…]} by scanDeveloperEmbeddings and Vertex's predictions by
// scanPredictions, both of which jump from vector to vector at memchr speed. Anything they do
// not take (an unexpected field, a duplicate key, a key in another case) goes to encoding/json,
// which is then the one to answer or refuse it. Vectors are not checked here: translate
// validates each number as it writes it.
// aliased reports whether the vectors point into b (read by hand) rather than being copies.
// w, when not nil, is the Watcher that saw b arrive: where it knows a vector's end, it is not
// looked for again.
func decodeEmbedResponse(b []byte, w Watcher) (r *EmbedResponse, aliased bool, err error) {
	if vecs, ok := scanDeveloperEmbeddings(b, w); ok {
		return &EmbedResponse{Embeddings: vecs}, true, nil
	}
	if preds, ok := scanPredictions(b, w); ok {
		return &EmbedResponse{Predictions: preds}, true, nil
	}
	var out EmbedResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, false, &MalformedError{Err: err}
	}
	return &out, false, nil
}

// scanDeveloperEmbeddings matches b against {"embeddings":[{"values":[…]},…]} (any JSON
// whitespace between tokens) and returns the arrays, which alias b. An array holds only
// numbers, so it ends at the first ']'; what it holds is left to the caller to check.
func scanDeveloperEmbeddings(b []byte, w Watcher) ([]ContentEmbedding, bool) {
	i, ok := expect(b, 0, `{`)
	if i, ok = expectKey(b, i, ok, `"embeddings"`); !ok {
		return nil, false
	}
	if i, ok = expect(b, i, `[`); !ok {
		return nil, false
	}
	// No pass to count the vectors first: each pass over a megabyte is time after its last byte.
	out := make([]ContentEmbedding, 0, 16)
	for {
		if i, ok = expect(b, i, `{`); !ok {
			return nil, false
		}
		if i, ok = expectKey(b, i, ok, `"values"`); !ok {
			return nil, false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '[' {
			return nil, false
		}
		end := vectorLen(b, i, w)
		// A nested array would end the vector early, at its own ']', where the '}' expected
		// next is not; and a '[' inside (no vector of numbers has one) is refused by translate,
		// which checks every byte of a vector: no pass here to look for one.
		if end < 0 {
			return nil, false
		}
		out = append(out, ContentEmbedding{Values: b[i : i+end+1 : i+end+1], at: i + 1})
		if i, ok = expect(b, i+end+1, `}`); !ok {
			return nil, false
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		break
	}
	if i, ok = expect(b, i, `]`); !ok {
		return nil, false
	}
	if i, ok = expect(b, i, `}`); !ok {
		return nil, false
	}
	return out, skipSpace(b, i) == len(b)
}

// vectorLen returns the length up to the first ']' of the vector at b[i] less one (-1: none),
// from w when it saw it arrive, else by looking.
func vectorLen(b []byte, i int, w Watcher) int {
	if w != nil {
		if end, ok := w.VectorEnd(i); ok && end > i && end <= len(b) {
			return end - i - 1
		}
	}
	return bytes.IndexByte(b[i:], ']')
}

// expect skips whitespace and then tok; it reports whether tok was there.
func expect(b []byte, i int, tok string) (int, bool) {
	i = skipSpace(b, i)
	if !bytes.HasPrefix(b[i:], []byte(tok)) {
		return i, false
	}
	return i + len(tok), true
}

// expectKey expects the key (a quoted string without escapes) and its colon, when ok.
func expectKey(b []byte, i int, ok bool, key string) (int, bool) {
	if !ok {
		return i, false
	}
	if i, ok = expect(b, i, key); !ok {
		return i, false
	}
	return expect(b, i, `:`)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}
