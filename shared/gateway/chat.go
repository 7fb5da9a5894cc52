package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// chat serves POST /v1/chat/completions.
func (h *Handler) chat(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	tr, gbody, err := h.prepare(r.Context(), body.Bytes(), key, rs)
	putBuffer(body) // decoding copied every value out of it
	if err != nil {
		return err
	}
	if tr.Stream {
		return h.stream(w, r.Context(), tr, gbody, rs)
	}
	resp, err := h.unary(r.Context(), tr, gbody, rs)
	if err != nil {
		return err
	}
	return writeCompletion(w, resp)
}

// bufferPool holds the buffers of request bodies: with a base64 image they are the largest
// allocation of a request, and each lives only until the body is decoded (decoding copies every
// value out). The encoded upstream body is not pooled: the HTTP transport may still be writing it
// after the response has arrived (a server may answer before reading all of it).
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer(size int64) *bytes.Buffer {
	b := bufferPool.Get().(*bytes.Buffer)
	b.Grow(int(size))
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > 64<<20 {
		return // let outsized buffers go rather than pin them
	}
	b.Reset()
	bufferPool.Put(b)
}

// readBody reads the request body within the size limit: a declared length over it is refused
// before reading, and an undeclared one is cut off at the limit. A declared length within it is
// read exactly, in one read when the body has arrived: a server request's body ends there (net/http
// enforces it, as the adapters' bodies hold exactly their length), so neither the limit's reader
// nor a read for the end is needed; net/http finds the end after the handler. The caller returns
// the buffer with putBuffer.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, error) {
	if ct := headerValue(r.Header, "Content-Type"); ct != "" && ct != "application/json" { // the common case needs no parse
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends application/x-www-form-urlencoded unless told otherwise; the body is
		// read as JSON whatever the type, and like text/plain it is a CORS-simple type, so
		// accepting it lets `curl -d '{…}'` work and opens nothing.
		if err != nil || (mt != "application/json" && mt != "text/plain" && mt != "application/x-www-form-urlencoded") {
			return nil, openai.Errorf(http.StatusUnsupportedMediaType, openai.CodeUnsupportedMedia, "", "Content-Type must be application/json, got %q", ct)
		}
	}
	limit := h.o.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if n := r.ContentLength; n >= 0 {
		buf := getBuffer(n)
		b := buf.AvailableBuffer()[:n]
		if _, err := io.ReadFull(r.Body, b); err != nil {
			putBuffer(buf)
			return nil, readError(err)
		}
		_, _ = buf.Write(b) // b is the buffer's own free space: no copy moves it
		return buf, nil
	}
	buf := getBuffer(4<<10 + bytes.MinRead)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		putBuffer(buf)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, readError(err)
	}
	return buf, nil
}

func readError(err error) *openai.Error {
	return openai.Errorf(http.StatusBadRequest, openai.CodeInvalidRequest, "", "could not read the request body: %v", err)
}

func tooLarge(limit int64) *openai.Error {
	return openai.Errorf(http.StatusRequestEntityTooLarge, openai.CodeRequestTooLarge, "", "request body is larger than the limit of %d bytes", limit)
}

// prepare decodes and translates a request body, checks the key's model access, inlines media
// that must be fetched, and encodes the Gemini request. Long base64 media payloads are lifted
// out of body first and spliced into the encoded request last (see liftBlobs), so body may be
// reused once prepare returns. A request refused on the lifted body is decoded again unlifted, so
// an error never shows a placeholder and never differs from the unlifted one.
func (h *Handler) prepare(ctx context.Context, body []byte, key *keys.Key, rs *reqState) (*translate.Translated, []byte, error) {
	lbody, lb := liftBlobs(body, liftMin)
	req, tr, err := h.translate(ctx, lbody)
	if err != nil && lb != nil {
		lb = nil
		req, tr, err = h.translate(ctx, body)
	}
	if err != nil {
		return nil, nil, err
	}
	rs.model = req.Model
	rs.upstreamModel, rs.stream = tr.Model, tr.Stream
	if key != nil && !key.AllowsModel(req.Model, tr.Model) {
		return nil, nil, openai.Errorf(http.StatusForbidden, openai.CodePermissionDenied, "model", "the API key %q may not use model %q", key.Name, req.Model)
	}
	if lb, err = h.fetchMedia(ctx, tr, lb); err != nil {
		return nil, nil, err
	}
	gbody, err := encodeRequest(tr, len(lbody))
	if err != nil {
		return nil, nil, err
	}
	return tr, lb.splice(gbody), nil
}

// translate decodes a request body within the handler's limits and translates it.
func (h *Handler) translate(ctx context.Context, body []byte) (*openai.Request, *translate.Translated, error) {
	return translateBody(ctx, body, openai.Limits{Messages: h.o.MaxMessages, Parts: h.o.MaxParts}, h.o.Models, translate.RequestOptions{
		Backend: h.o.Client.Backend(), IncludeThoughts: h.o.IncludeThoughts, FetchHTTPMedia: h.o.FetchHTTPMedia})
}

func translateBody(ctx context.Context, body []byte, l openai.Limits, models *translate.Models, opt translate.RequestOptions) (*openai.Request, *translate.Translated, error) {
	req, err := l.Decode(ctx, body)
	if err != nil {
		return nil, nil, err
	}
	tr, err := translate.RequestToGemini(ctx, req, models, opt)
	return req, tr, err
}

// encodeRequest encodes the Gemini request of tr into a buffer sized once from the body's size,
// so big media cause no regrowth: by appendGeminiRequest when it takes the request's shape, else
// by encoding/json, with the same bytes (the Encoder's trailing newline included).
func encodeRequest(tr *translate.Translated, bodySize int) ([]byte, error) {
	buf := make([]byte, 0, bodySize+1024)
	if b, ok := appendGeminiRequest(buf, tr.Request); ok {
		return append(b, '\n'), nil
	}
	gbody := bytes.NewBuffer(buf)
	enc := json.NewEncoder(gbody)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tr.Request); err != nil {
		return nil, err
	}
	return gbody.Bytes(), nil
}

func (h *Handler) meta(tr *translate.Translated, model string) translate.Meta {
	return translate.Meta{ID: newID("chatcmpl-"), Created: h.o.Now().Unix(), Model: model, NewCallID: NewCallID,
		ThoughtTagMarker: tr.ThoughtTagMarker, MaxToolCalls: tr.MaxToolCalls, IncludeUsage: tr.IncludeUsage}
}

func (h *Handler) unary(ctx context.Context, tr *translate.Translated, gbody []byte, rs *reqState) (*openai.Response, error) {
	gresp, err := h.o.Client.Generate(ctx, tr.Model, gbody)
	if err != nil {
		return nil, err
	}
	resp, err := translate.ResponseFromGemini(gresp, h.meta(tr, rs.model))
	if err != nil {
		return nil, err
	}
	rs.usage = resp.Usage
	return resp, nil
}

// stream serves a streamed completion. The SSE headers go out with the first chunk (or
// keep-alive), so an upstream failure before any output still gets a proper status; after that
// the funnel makes a failure one final error event and the stream ends without [DONE].
func (h *Handler) stream(w http.ResponseWriter, ctx context.Context, tr *translate.Translated, gbody []byte, rs *reqState) error {
	up, err := h.o.Client.Stream(ctx, tr.Model, gbody)
	if err != nil {
		return err
	}
	defer up.Close()
	sw := h.newSSE(w, rs)
	st := translate.NewStream(h.meta(tr, rs.model))
	defer func() { rs.usage = st.Usage() }()
	first := true
	for {
		ev, err := up.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		chunks, err := st.Event(ev)
		for i := range chunks {
			if werr := sw.chunk(&chunks[i]); werr != nil {
				return werr
			}
		}
		// The first output leaves at once, whatever the upstream has buffered behind it (a
		// burst would otherwise hold the first byte until every buffered event is translated).
		// After that, flush before the next read could wait on the network: events that are
		// already here go out together. Once every choice has finished, Gemini ends the stream
		// (the finishing event is the last one in every recorded stream, usage included), so
		// the finish chunk waits for that end and leaves with the usage chunk, [DONE] and the
		// end of the body in one write.
		if (first && len(chunks) > 0) || (!up.Ready() && !st.Finished()) {
			first = first && len(chunks) == 0
			if werr := sw.flush(); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
	chunks, err := st.End(tr.IncludeUsage)
	if err != nil {
		return err
	}
	for i := range chunks {
		if err := sw.chunk(&chunks[i]); err != nil {
			return err
		}
	}
	return sw.done()
}

// Complete runs one non-streaming chat completion in-process, without client auth: the batch
// runner's entry. It returns the status, the response or error body, its id and the error.
func (h *Handler) Complete(ctx context.Context, body []byte) batch.Completion {
	// Batch lines come from the platform, not a client key: their usage is logged under "batch".
	rs := &reqState{start: h.o.Now(), method: http.MethodPost, route: "batch", traceID: newTraceID(), key: "batch"}
	tr, gbody, err := h.prepare(ctx, body, nil, rs)
	if err == nil && tr.Stream {
		err = openai.InvalidParam("stream", "stream: true is not supported in batch jobs")
	}
	var resp *openai.Response
	if err == nil {
		resp, err = h.unary(ctx, tr, gbody, rs)
	}
	var b []byte
	if err == nil {
		b, err = marshal(resp)
	}
	if err != nil {
		rs.err = toOpenAI(err)
		h.logRequest(nil, rs, rs.err.Status)
		return batch.Completion{Status: rs.err.Status, Body: rs.err.MarshalBody(rs.traceID), RequestID: rs.traceID, Err: rs.err}
	}
	h.logRequest(nil, rs, http.StatusOK)
	return batch.Completion{Status: http.StatusOK, Body: b, RequestID: resp.ID}
}
