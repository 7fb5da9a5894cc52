package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// responses serves POST /v1/responses: the same auth, body limit, model allow-list, media
// fetching, upstream client, SSE writer and error funnel as chat, with the Responses layer's
// translation (translate.ResponsesToGemini) and output (items, typed events).
func (h *Handler) responses(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	size := body.Len()
	req, err := openai.Limits{Messages: h.o.MaxMessages, Parts: h.o.MaxParts}.DecodeResponsesRequest(body.Bytes())
	putBuffer(body) // decoding copied every value out of it
	if err != nil {
		return err
	}
	rs.model = req.Model
	respID := newID("resp_")
	ids := itemIDs(respID)
	stored := h.o.Store != nil && (req.Store == nil || *req.Store)
	var input, history []openai.Item
	if stored || req.PreviousResponseID != "" || hasReferences(req) {
		if input, history, err = h.withHistory(r.Context(), req, rs.key, ids); err != nil {
			return err
		}
		expanded := *req
		expanded.Input = openai.Input{IsItems: true, Items: append(append([]openai.Item{}, history...), input...)}
		req = &expanded
	}
	tr, gbody, err := h.prepareResponses(r.Context(), req, key, rs, size)
	if err != nil {
		return shiftInputParam(err, len(history))
	}
	m := h.responsesMeta(req, tr, rs.model, respID, ids, stored)
	save := func(ctx context.Context, obj *openai.ResponseObject, full []openai.Item) error {
		if !stored {
			return nil
		}
		conv := make([]openai.Item, 0, len(history)+len(input)+len(full))
		conv = append(append(append(conv, history...), input...), full...)
		return h.saveResponse(ctx, rs.key, &storedResponse{Response: obj, Input: input, Context: conv})
	}
	if tr.Stream {
		return h.streamResponses(w, r.Context(), tr, gbody, m, rs, save)
	}
	gresp, err := h.o.Client.Generate(r.Context(), tr.Model, gbody)
	if err != nil {
		return err
	}
	obj, full, err := translate.ResponsesFromGemini(gresp, m)
	if err != nil {
		return err
	}
	rs.usage = usageForLog(obj.Usage)
	if err := save(r.Context(), obj, full); err != nil {
		return err
	}
	return writeResponseObject(w, obj)
}

// writeResponseObject writes a response object as writeJSON would, byte for byte (writeEncoded
// with openai.AppendResponseObject).
func writeResponseObject(w http.ResponseWriter, obj *openai.ResponseObject) error {
	return writeEncoded(w, obj, openai.AppendResponseObject)
}

// hasReferences reports whether the input holds an item_reference.
func hasReferences(req *openai.ResponsesRequest) bool {
	for i := range req.Input.Items {
		if req.Input.Items[i].Type == openai.ItemReference {
			return true
		}
	}
	return false
}

// prepareResponses translates a decoded request, checks the key's model access, inlines media
// that must be fetched and encodes the Gemini request.
func (h *Handler) prepareResponses(ctx context.Context, req *openai.ResponsesRequest, key *keys.Key, rs *reqState, size int) (*translate.Translated, []byte, error) {
	tr, err := translate.ResponsesToGemini(ctx, req, h.o.Models, translate.ResponsesOptions{
		RequestOptions: translate.RequestOptions{Backend: h.o.Client.Backend(), IncludeThoughts: h.o.IncludeThoughts, FetchHTTPMedia: h.o.FetchHTTPMedia},
		SealKey:        h.o.SealKey})
	if err != nil {
		return nil, nil, err
	}
	rs.upstreamModel, rs.stream = tr.Model, tr.Stream
	if key != nil && !key.AllowsModel(req.Model, tr.Model) {
		return nil, nil, openai.Errorf(http.StatusForbidden, openai.CodePermissionDenied, "model", "the API key %q may not use model %q", key.Name, req.Model)
	}
	lb, err := h.fetchMedia(ctx, tr, nil)
	if err != nil {
		return nil, nil, err
	}
	gbody, err := encodeRequest(tr, size)
	if err != nil {
		return nil, nil, err
	}
	return tr, lb.splice(gbody), nil
}

func (h *Handler) responsesMeta(req *openai.ResponsesRequest, tr *translate.Translated, model, respID string, ids func(string) string, stored bool) translate.ResponsesMeta {
	m := translate.ResponsesMeta{
		Meta: translate.Meta{Created: h.o.Now().Unix(), Model: model, NewCallID: NewCallID,
			ThoughtTagMarker: tr.ThoughtTagMarker, MaxToolCalls: tr.MaxToolCalls},
		ResponseID: respID,
		NewItemID:  ids,
		KeepSealed: stored,
		// encrypted_content is what a client without stored responses needs to send a signed
		// turn back: returned when asked for, and always when the response is not stored.
		Encrypted: translate.Includes(req, translate.IncludeEncrypted) || (req.Store != nil && !*req.Store),
		Sources:   translate.Includes(req, translate.IncludeSources),
		SealKey:   h.o.SealKey,
		Request:   req,
	}
	m.ID = m.ResponseID
	if !stored {
		f := false
		r := *req
		r.Store = &f // the response object says it was not stored
		m.Request = &r
	}
	return m
}

// usageForLog is the log line's usage in chat's names.
func usageForLog(u *openai.ResponseUsage) *openai.Usage {
	if u == nil {
		return nil
	}
	out := &openai.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	out.PromptTokensDetails.CachedTokens = u.InputTokensDetails.CachedTokens
	out.CompletionTokensDetails.ReasoningTokens = u.OutputTokensDetails.ReasoningTokens
	return out
}

// streamResponses serves a streamed response on chat's SSE writer: headers with the first event
// (so a failure before it is a proper error status), keep-alives while Gemini thinks, and after
// the first byte a failure is one last "error" event, numbered after the events sent, written by
// the funnel. It flushes as chat's stream does: the first event's output at once, then whenever
// the upstream has nothing more ready, and the closing events leave with the end of the body.
func (h *Handler) streamResponses(w http.ResponseWriter, ctx context.Context, tr *translate.Translated, gbody []byte, m translate.ResponsesMeta, rs *reqState,
	save func(context.Context, *openai.ResponseObject, []openai.Item) error) error {
	up, err := h.o.Client.Stream(ctx, tr.Model, gbody)
	if err != nil {
		return err
	}
	defer up.Close()
	sw := h.newSSE(w, rs)
	st := translate.NewResponsesStream(m)
	sw.errorName = openai.EventError
	sw.errorData = func(e *openai.Error) []byte { return responsesErrorData(st.ErrorEvent(e), e, rs.traceID) }
	defer func() { rs.usage = st.Usage() }()
	// The upstream has answered: response.created goes out at once, as OpenAI sends it.
	if err := sw.events(st.Start()); err != nil {
		return err
	}
	if err := sw.flush(); err != nil {
		return err
	}
	first := true
	for {
		ev, err := up.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		events, err := st.Event(ev)
		if werr := sw.events(events); werr != nil {
			return werr
		}
		// As in chat's stream: the first output is not held behind a burst, and once every
		// choice has finished the last events wait for the upstream's end and leave with the
		// closing events and the end of the body in one write.
		if (first && len(events) > 0) || (!up.Ready() && !st.Finished()) {
			first = first && len(events) == 0
			if werr := sw.flush(); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
	events, obj, full, err := st.End()
	if err == nil {
		// Stored before the terminal event goes out: a client that continues from it at once
		// finds it.
		err = save(ctx, obj, full)
	}
	if err != nil {
		if n := len(events); n > 0 && obj != nil {
			events = events[:n-1]
		}
		if werr := sw.events(events); werr != nil {
			return werr
		}
		return err
	}
	if werr := sw.events(events); werr != nil {
		return werr
	}
	sw.end()
	return nil
}

// responsesErrorData is the data of a Responses stream's error event: OpenAI's fields (type,
// code, message, param, sequence_number) and the gateway's one error body beside them, whose
// "error" member makes the official SDKs end the stream with an error.
func responsesErrorData(ev openai.ResponseEvent, e *openai.Error, traceID string) []byte {
	body := e.Body(traceID)
	b, _ := json.Marshal(struct {
		Type           string             `json:"type"`
		SequenceNumber int                `json:"sequence_number"`
		Code           string             `json:"code"`
		Message        string             `json:"message"`
		Param          *string            `json:"param"`
		Success        bool               `json:"success"`
		Error          openai.ErrorDetail `json:"error"`
		TraceID        string             `json:"trace_id,omitempty"`
	}{ev.Type, ev.SequenceNumber, e.Code, e.Message, body.Error.Param, false, body.Error, traceID})
	return b
}

// events writes Responses stream events ("event: <type>" and the JSON data), without flushing.
func (s *sseWriter) events(evs []openai.ResponseEvent) error {
	if len(evs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	for i := range evs {
		s.buf.WriteString("event: ")
		s.buf.WriteString(evs[i].Type)
		s.buf.WriteString("\ndata: ")
		// The deltas, nearly all of a stream, are encoded by openai.AppendResponseEvent, with
		// encoding/json's bytes; the events that carry objects by encoding/json.
		if b, ok := openai.AppendResponseEvent(s.buf.AvailableBuffer(), &evs[i]); ok {
			s.buf.Write(b)
			s.buf.WriteString("\n\n")
			continue
		}
		if err := s.encoder().Encode(&evs[i]); err != nil { // Encode ends with "\n"
			return err
		}
		s.buf.WriteByte('\n')
	}
	return s.put(s.buf.Bytes())
}
