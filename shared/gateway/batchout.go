package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// outputFileID is the id of a batch's output ("o") or error ("e") file: derived from the batch
// id, so that a repeated finalize writes the same files, create-only.
func outputFileID(batchID, kind string) string {
	return "file-" + strings.TrimPrefix(batchID, "batch_") + kind
}

// finalize writes the output and error files of a batch whose engine job is done, in input
// order, and sets the batch's final status, counts and timestamps in rec (which the caller
// stores). Each answer is translated by the same translator as the online endpoint, so a line's
// body is what POST /v1/chat/completions would have answered. The engine's answers are held by
// key while the files are written (engines answer in any order); the files are streamed.
func (h *Handler) finalize(ctx context.Context, own string, rec *batchRecord, st engine.Status) error {
	work := batchWork(own, rec.Batch.ID)
	results := map[string]engine.Result{}
	if rec.Requests > 0 && st.State != engine.Failed {
		if err := h.engine.Results(ctx, rec.Ref, func(r engine.Result) error {
			results[r.Key] = r
			return nil
		}); err != nil {
			return err
		}
	}
	now := h.o.Now()
	files := map[string]*objectWriter{}
	defer func() {
		for _, w := range files {
			w.abort(errors.New("finalize failed"))
		}
	}()
	write := func(kind string, l openai.BatchOutputLine) error {
		b, err := marshal(l)
		if err != nil {
			return err
		}
		w := files[kind]
		if w == nil {
			w = newObjectWriter(ctx, h.o.Store, fileDataName(own, outputFileID(rec.Batch.ID, kind)))
			files[kind] = w
		}
		return w.line(b)
	}
	if rec.Expiring && st.State == engine.Cancelled {
		st.State = engine.Expired // the gateway stopped it for its window, not the client
	}
	var completed, failed int64
	if rec.Requests > 0 {
		rc, _, err := h.o.Store.Open(ctx, batchWork(own, rec.Batch.ID)+"lines.jsonl")
		if err != nil {
			return err
		}
		defer rc.Close()
		dec := json.NewDecoder(rc)
		for {
			var m manifestLine
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			res, ok := results[m.Key]
			l := h.answerLine(&m, lineID(rec.Batch.ID, m.Line), res, ok, st, now.Unix())
			kind := "o"
			if l.Error != nil {
				kind, failed = "e", failed+1
			} else {
				completed++
			}
			if err := write(kind, l); err != nil {
				return err
			}
		}
	}
	if rec.Invalid > 0 {
		rc, _, err := h.o.Store.Open(ctx, work+"invalid.jsonl")
		if err != nil {
			return err
		}
		defer rc.Close()
		dec := json.NewDecoder(rc)
		for {
			var l openai.BatchOutputLine
			if err := dec.Decode(&l); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			failed++
			if err := write("e", l); err != nil {
				return err
			}
		}
	}
	for _, kind := range []string{"o", "e"} {
		w := files[kind]
		if w == nil {
			continue
		}
		delete(files, kind)
		if err := w.close(); err != nil {
			return err
		}
		id := outputFileID(rec.Batch.ID, kind)
		name := rec.Batch.ID + "_output.jsonl"
		if kind == "e" {
			name = rec.Batch.ID + "_error.jsonl"
		}
		f := openai.FileObject{ID: id, Object: "file", Bytes: w.bytes, CreatedAt: now.Unix(), Filename: name,
			Purpose: openai.PurposeBatchOutput, Status: "processed"}
		if err := h.putJSON(ctx, fileMetaName(own, id), f); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		if kind == "o" {
			rec.Batch.OutputFileID = &id
		} else {
			rec.Batch.ErrorFileID = &id
		}
	}
	b := &rec.Batch
	b.RequestCounts = openai.RequestCounts{Total: rec.Requests + rec.Invalid, Completed: completed, Failed: failed}
	if b.FinalizingAt == nil {
		b.FinalizingAt = unix(now)
	}
	switch {
	case st.State == engine.Expired:
		b.Status, b.ExpiredAt = openai.BatchExpired, unix(now)
	case b.Status == openai.BatchCancelling || st.State == engine.Cancelled:
		b.Status, b.CancelledAt = openai.BatchCancelled, unix(now)
	case st.State == engine.Failed:
		b.Status, b.FailedAt = openai.BatchFailed, unix(now)
		msg := st.Message
		if msg == "" {
			msg = "the batch engine failed the job"
		}
		b.Errors = &openai.BatchErrors{Object: "list", Data: []openai.BatchError{{Code: "batch_failed", Message: msg}}}
	default:
		b.Status, b.CompletedAt = openai.BatchCompleted, unix(now)
	}
	return nil
}

// answerLine turns the engine's answer to one request into its output line: the chat
// completion or embedding list our online endpoint would answer, or an error line.
func (h *Handler) answerLine(m *manifestLine, id string, res engine.Result, ok bool, st engine.Status, now int64) openai.BatchOutputLine {
	customID := m.CustomID
	if !ok {
		code, msg := openai.CodeAPIError, "the batch engine returned no answer for this request"
		switch st.State {
		case engine.Cancelled:
			code, msg = "batch_cancelled", "the batch was cancelled before this request ran"
		case engine.Expired:
			code, msg = "batch_expired", "the batch expired before this request ran"
		case engine.Failed:
			code, msg = "batch_failed", "the batch engine failed the job"
		}
		return openai.BatchOutputLine{ID: id, CustomID: &customID, Error: &openai.BatchLineError{Code: code, Message: msg}}
	}
	traceID := newTraceID()
	var err error
	if res.Error != nil {
		err = res.Error
	} else if m.Embed != nil {
		var body []byte
		if body, err = embedAnswer(m, res.Response); err == nil {
			return openai.BatchOutputLine{ID: id, CustomID: &customID,
				Response: &openai.BatchResponse{StatusCode: http.StatusOK, RequestID: traceID, Body: body}}
		}
	} else {
		var g gemini.Response
		if jerr := json.Unmarshal(res.Response, &g); jerr != nil {
			err = &gemini.MalformedError{Err: jerr}
		} else {
			var resp *openai.Response
			resp, err = translate.ResponseFromGemini(&g, translate.Meta{ID: newID("chatcmpl-"), Created: now, Model: m.Model,
				NewCallID: NewCallID, ThoughtTagMarker: m.Marker, MaxToolCalls: m.MaxToolCalls})
			if err == nil {
				var body []byte
				if body, err = marshal(resp); err == nil {
					return openai.BatchOutputLine{ID: id, CustomID: &customID,
						Response: &openai.BatchResponse{StatusCode: http.StatusOK, RequestID: resp.ID, Body: body}}
				}
			}
		}
	}
	return failedLine(id, &customID, toOpenAI(err), traceID)
}

// embedAnswer turns the answers to an embeddings request's calls into the body POST
// /v1/embeddings answers.
func embedAnswer(m *manifestLine, raw json.RawMessage) ([]byte, error) {
	var resps []*gemini.EmbedResponse
	if err := json.Unmarshal(raw, &resps); err != nil {
		return nil, &gemini.MalformedError{Err: err}
	}
	for i, r := range resps {
		if r == nil {
			return nil, &gemini.MalformedError{Err: fmt.Errorf("embedding call %d has no answer", i)}
		}
	}
	body, _, err := translate.AppendEmbeddings(nil, m.Embed.embed(), resps, m.Model)
	return body, err
}
