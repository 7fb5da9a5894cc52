package gateway

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// DefaultEmbedConcurrency bounds the upstream calls one embeddings request runs at once when
// Options.EmbedConcurrency is not set.
const DefaultEmbedConcurrency = 8

// embeddings serves POST /v1/embeddings: same auth, model allow-list, rate limit, log line and
// error funnel as chat.
func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	req, e, err := h.prepareEmbed(body.Bytes(), key, rs)
	putBuffer(body) // decoding copied every input out of it
	if err != nil {
		return err
	}
	buf := embedBodies.Get().(*[]byte)
	defer putEmbedBody(buf)
	out, err := h.embed(r.Context(), req, e, rs, (*buf)[:0])
	*buf = out
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out)
	return err
}

// prepareEmbed decodes and translates an embeddings body and checks the key's model access.
func (h *Handler) prepareEmbed(body []byte, key *keys.Key, rs *reqState) (*openai.EmbeddingRequest, *translate.Embed, error) {
	req, err := openai.DecodeEmbeddingRequest(body)
	if err != nil {
		return nil, nil, err
	}
	rs.model = req.Model
	e, err := translate.EmbeddingsToGemini(req, h.o.Models, h.o.Client.Backend())
	if err != nil {
		return nil, nil, err
	}
	rs.upstreamModel = e.Model
	if key != nil && !key.AllowsModel(req.Model, e.Model) {
		return nil, nil, openai.Errorf(http.StatusForbidden, openai.CodePermissionDenied, "model", "the API key %q may not use model %q", key.Name, req.Model)
	}
	return req, e, nil
}

// embedBodies holds response bodies for reuse: a hundred vectors are a megabyte or more, and
// each is written straight into one of these, sent and forgotten.
var embedBodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledEmbedBody bounds the bodies kept in embedBodies, so that one request of 2048 large
// vectors does not pin its tens of megabytes.
const maxPooledEmbedBody = 8 << 20

func putEmbedBody(b *[]byte) {
	if cap(*b) <= maxPooledEmbedBody {
		*b = (*b)[:0]
		embedBodies.Put(b)
	}
}

// embed runs e's upstream calls and appends the response body to dst.
func (h *Handler) embed(ctx context.Context, req *openai.EmbeddingRequest, e *translate.Embed, rs *reqState, dst []byte) ([]byte, error) {
	resps, err := h.embedCalls(ctx, e)
	if err != nil {
		e.Release()
		return dst, err
	}
	out, usage, err := translate.AppendEmbeddings(dst, e, resps, req.Model)
	for _, r := range resps {
		r.Release() // the vectors are copied into out (or the request failed)
	}
	if err != nil {
		return dst, err
	}
	rs.usage = &openai.Usage{PromptTokens: usage.PromptTokens, TotalTokens: usage.TotalTokens}
	return out, nil
}

// embedCalls runs e's calls, at most EmbedConcurrency at once, and returns their answers in
// call order. The first failure cancels the calls still running and is the request's error:
// there is no partial answer.
func (h *Handler) embedCalls(ctx context.Context, e *translate.Embed) ([]*gemini.EmbedResponse, error) {
	resps := make([]*gemini.EmbedResponse, len(e.Calls))
	if len(e.Calls) == 1 {
		r, err := h.embedCall(ctx, e.Model, &e.Calls[0])
		resps[0] = r
		return resps, err
	}
	limit := h.o.EmbedConcurrency
	if limit <= 0 {
		limit = DefaultEmbedConcurrency
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, limit)
	)
launch:
	for i := range e.Calls {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		if ctx.Err() != nil { // both were ready and select chose the slot
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := h.embedCall(ctx, e.Model, &e.Calls[i])
			if err != nil {
				once.Do(func() { first = err; cancel(err) })
				return
			}
			resps[i] = r
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := context.Cause(ctx); err != nil { // the client left before every call was started
		return nil, err
	}
	return resps, nil
}

// embedCall runs one call, converting the answer's vectors while it arrives (EmbedCall.Watch).
func (h *Handler) embedCall(ctx context.Context, model string, call *translate.EmbedCall) (*gemini.EmbedResponse, error) {
	return h.o.Client.EmbedWatched(ctx, model, call.Body.AppendJSON(nil), call.Watch())
}

// Embed runs one embeddings request in-process, without client auth: the batch runner's entry
// for lines whose url is /v1/embeddings. It returns the status and the response or error body.
func (h *Handler) Embed(ctx context.Context, body []byte) batch.Completion {
	rs := &reqState{start: h.o.Now(), method: http.MethodPost, route: "batch", traceID: newTraceID(), key: "batch"}
	req, e, err := h.prepareEmbed(body, nil, rs)
	var out []byte
	if err == nil {
		out, err = h.embed(ctx, req, e, rs, nil) // the batch runner keeps the body
	}
	if err != nil {
		rs.err = toOpenAI(err)
		h.logRequest(nil, rs, rs.err.Status)
		return batch.Completion{Status: rs.err.Status, Body: rs.err.MarshalBody(rs.traceID), RequestID: rs.traceID, Err: rs.err}
	}
	h.logRequest(nil, rs, http.StatusOK)
	return batch.Completion{Status: http.StatusOK, Body: out, RequestID: rs.traceID}
}
