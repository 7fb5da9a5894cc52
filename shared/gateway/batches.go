package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// The Batches API (https://platform.openai.com/docs/api-reference/batch) on Gemini's batch
// engines. A batch is validated and translated line by line at create, with the same decoder
// and translator as its endpoint online (POST /v1/chat/completions or POST /v1/embeddings);
// lines that fail never reach the engine and go to the error file. The valid lines are submitted as one engine job; GET /v1/batches/{id}
// refreshes from the engine and, once the job is done, writes the output and error files.
//
//	batches/<key>/state/<batch id>.json        the record: the batch object and the engine's job
//	batches/<key>/work/<batch id>/requests.jsonl  the Gemini requests, {"key","request"} lines
//	batches/<key>/work/<batch id>/lines.jsonl     per request: custom_id and response shaping
//	batches/<key>/work/<batch id>/invalid.jsonl   the error lines of refused input lines
//	batches/<key>/work/<batch id>/engine/         the engine's own files
//
// The record is only ever replaced over the version read (compare-and-swap), so concurrent
// refreshes never lose an update: the loser reads again and carries on from there.

// batchRecord is what the store keeps of a batch.
type batchRecord struct {
	Batch  openai.Batch `json:"batch"`
	Engine string       `json:"engine"`
	Ref    string       `json:"ref,omitempty"`
	// Requests counts the lines submitted, Invalid the lines refused at validation.
	Requests int64 `json:"requests"`
	Invalid  int64 `json:"invalid"`
	// Expiring is set when the completion window ran out and the engine was asked to stop:
	// the batch ends expired, not cancelled.
	Expiring bool `json:"expiring,omitempty"`
}

// manifestLine is one line of lines.jsonl: what turns an engine answer back into the output line
// of its input line.
type manifestLine struct {
	Key          string `json:"key"`
	Line         int    `json:"line"`
	CustomID     string `json:"custom_id"`
	Model        string `json:"model"` // as the client sent it, echoed in the response
	Marker       string `json:"marker,omitempty"`
	MaxToolCalls int    `json:"max_tool_calls,omitempty"`
	// Embed is the shape of an embeddings request's calls, for turning their answers back
	// into the list POST /v1/embeddings answers.
	Embed *embedShape `json:"embed,omitempty"`
}

// embedShape is what translate.AppendEmbeddings needs of a translated embeddings request
// besides the answers: the inputs each call carries, the encoding and the backend.
type embedShape struct {
	Ns     []int `json:"ns"`
	Base64 bool  `json:"base64,omitempty"`
	Vertex bool  `json:"vertex,omitempty"`
}

func newEmbedShape(e *translate.Embed) *embedShape {
	s := &embedShape{Ns: make([]int, len(e.Calls)), Base64: e.Base64, Vertex: e.Vertex}
	for i, c := range e.Calls {
		s.Ns[i] = c.N
	}
	return s
}

// embed rebuilds the translated request's shape (without the call bodies).
func (s *embedShape) embed() *translate.Embed {
	e := &translate.Embed{Calls: make([]translate.EmbedCall, len(s.Ns)), Base64: s.Base64, Vertex: s.Vertex}
	for i, n := range s.Ns {
		e.Calls[i] = translate.EmbedCall{First: e.Inputs, N: n}
		e.Inputs += n
	}
	return e
}

func batchStateName(own, id string) string { return "batches/" + own + "/state/" + id + ".json" }

// batchIndexName marks a batch that is still running, for RefreshBatches: listing these is
// cheaper than listing every batch of every key.
func batchIndexName(own, id string) string { return "batch-index/" + own + "/" + id }
func batchWork(own, id string) string      { return "batches/" + own + "/work/" + id + "/" }

func batchNotFound(id string) error {
	return openai.Errorf(http.StatusNotFound, openai.CodeNotFound, "batch_id", "No such Batch object: %s", id)
}

// batchEndpoints are the endpoints a batch may run.
var batchEndpoints = map[string]bool{"/v1/chat/completions": true, "/v1/embeddings": true}

const embeddingsEndpoint = "/v1/embeddings"

// batchesRoute serves /v1/batches and everything below it. rest is the path after "/batches".
func (h *Handler) batchesRoute(w http.ResponseWriter, r *http.Request, rs *reqState, rest string) error {
	switch {
	case rest == "":
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			if r.Method == http.MethodPost {
				return h.createBatch(w, r, rs)
			}
			return h.listBatches(w, r, rs)
		}, http.MethodPost, http.MethodGet)
	case strings.HasSuffix(rest, "/cancel") && strings.Count(rest, "/") == 2:
		id := strings.TrimSuffix(rest[1:], "/cancel")
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			return h.cancelBatch(w, r, rs, id)
		}, http.MethodPost)
	case strings.Count(rest, "/") == 1:
		id := rest[1:]
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			return h.getBatch(w, r, rs, id)
		}, http.MethodGet)
	}
	return notFound(r)
}

// batchAuth authenticates a batches request and checks that batches can run here.
func (h *Handler) batchAuth(r *http.Request, rs *reqState) (*keys.Key, error) {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return nil, err
	}
	if err := h.needStore(); err != nil {
		return nil, err
	}
	if h.engine == nil {
		return nil, openai.NotImplemented("", "batches need a batch engine, which this deployment does not configure")
	}
	return key, nil
}

// createBatch serves POST /v1/batches.
func (h *Handler) createBatch(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.batchAuth(r, rs)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	var req openai.BatchCreate
	dec := json.NewDecoder(bytes.NewReader(body.Bytes()))
	dec.DisallowUnknownFields()
	err = dec.Decode(&req)
	putBuffer(body)
	if err != nil {
		return openai.InvalidParam("", "the body is not a batch create request: %v", err)
	}
	if err := checkBatchCreate(&req); err != nil {
		return err
	}
	if req.Endpoint == embeddingsEndpoint {
		if e, ok := h.engine.(engine.Embedder); !ok || !e.Embeds() {
			return openai.NotImplemented("endpoint", "embeddings batches are not implemented on the %s batch engine; send the requests to POST /v1/embeddings", h.engine.Name())
		}
	}
	own := owner(key)
	in, err := h.file(r.Context(), own, req.InputFileID)
	if err != nil {
		var oe *openai.Error
		if errors.As(err, &oe) && oe.Status == http.StatusNotFound {
			oe.Param = "input_file_id"
		}
		return err
	}
	if in.Purpose != openai.PurposeBatch {
		return openai.InvalidParam("input_file_id", "file %s has purpose %q; a batch input needs purpose %q", in.ID, in.Purpose, openai.PurposeBatch)
	}
	now := h.o.Now()
	rec := &batchRecord{Engine: h.engine.Name(), Batch: openai.Batch{
		ID: sortedID("batch_", now), Object: "batch", Endpoint: req.Endpoint, InputFileID: in.ID,
		CompletionWindow: req.CompletionWindow, Status: openai.BatchInProgress, CreatedAt: now.Unix(),
		ExpiresAt: unix(now.Add(24 * time.Hour)), Metadata: req.Metadata,
	}}
	work := batchWork(own, rec.Batch.ID)
	model, err := h.validateBatch(r.Context(), key, own, rec, work)
	if err != nil {
		return err
	}
	rec.Batch.Model = model
	rec.Batch.RequestCounts.Total = rec.Requests + rec.Invalid
	if rec.Requests == 0 {
		if rec.Invalid == 0 {
			return openai.InvalidParam("input_file_id", "file %s has no requests", in.ID)
		}
		// Nothing to run: the batch is done at once, with only its error file.
		if err := h.finalize(r.Context(), own, rec, engine.Status{State: engine.Succeeded}); err != nil {
			return err
		}
	} else {
		rec.Batch.InProgressAt = unix(now)
		rec.Ref, err = h.engine.Submit(r.Context(), engine.Job{ID: rec.Batch.ID, Model: model,
			Input: work + "requests.jsonl", Work: work + "engine/", Count: int(rec.Requests),
			Embed: rec.Batch.Endpoint == embeddingsEndpoint})
		if err != nil {
			return err
		}
	}
	if active(rec.Batch.Status) {
		if err := h.o.Store.Create(r.Context(), batchIndexName(own, rec.Batch.ID), bytes.NewReader(nil)); err != nil {
			return err
		}
	}
	if err := h.putJSON(r.Context(), batchStateName(own, rec.Batch.ID), rec); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec.Batch)
}

func unix(t time.Time) *int64 { u := t.Unix(); return &u }

// checkBatchCreate validates a create request's fields.
func checkBatchCreate(req *openai.BatchCreate) error {
	switch {
	case req.InputFileID == "":
		return openai.InvalidParam("input_file_id", "input_file_id is required")
	case !batchEndpoints[req.Endpoint]:
		return openai.InvalidParam("endpoint", "endpoint must be \"/v1/chat/completions\" or \"/v1/embeddings\", not %q", req.Endpoint)
	case req.CompletionWindow != "24h":
		return openai.InvalidParam("completion_window", "completion_window must be \"24h\", not %q", req.CompletionWindow)
	case len(req.Metadata) > 16:
		return openai.InvalidParam("metadata", "metadata has %d keys; at most 16 are allowed", len(req.Metadata))
	}
	for k, v := range req.Metadata {
		if len(k) > 64 || len(v) > 512 {
			return openai.InvalidParam("metadata", "metadata keys are at most 64 characters and values at most 512")
		}
	}
	return nil
}

// validateBatch reads the input file line by line and writes the job's requests, its manifest
// and the error lines of refused lines. It returns the Gemini model of the batch: engines run
// one model per job, so a line for another model is refused.
func (h *Handler) validateBatch(ctx context.Context, key *keys.Key, own string, rec *batchRecord, work string) (string, error) {
	rc, _, err := h.o.Store.Open(ctx, fileDataName(own, rec.Batch.InputFileID))
	if err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return "", fileNotFound(rec.Batch.InputFileID)
		}
		return "", err
	}
	defer rc.Close()
	reqs := newObjectWriter(ctx, h.o.Store, work+"requests.jsonl")
	man := newObjectWriter(ctx, h.o.Store, work+"lines.jsonl")
	bad := newObjectWriter(ctx, h.o.Store, work+"invalid.jsonl")
	writers := []*objectWriter{reqs, man, bad}
	abort := func(err error) (string, error) {
		for _, w := range writers {
			w.abort(err)
		}
		return "", err
	}
	seen := map[string]bool{}
	model := ""
	lr := newLineReader(rc, int(h.o.MaxBodyBytes))
	for {
		raw, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return abort(err)
		}
		n := lr.n
		id := lineID(rec.Batch.ID, n)
		if !tooLong && len(bytes.TrimSpace(raw)) == 0 {
			continue // blank lines, as a trailing newline leaves, are not requests
		}
		refuse := func(out openai.BatchOutputLine) error {
			rec.Invalid++
			b, err := marshal(out)
			if err != nil {
				return err
			}
			return bad.line(b)
		}
		if tooLong {
			if err := refuse(invalidLine(id, n, nil, "the line is longer than the limit of %d bytes", h.o.MaxBodyBytes)); err != nil {
				return abort(err)
			}
			continue
		}
		in, customID, msg := parseInputLine(raw, rec.Batch.Endpoint, seen)
		if msg != "" {
			if err := refuse(invalidLine(id, n, customID, "%s", msg)); err != nil {
				return abort(err)
			}
			continue
		}
		seen[*customID] = true
		lrs := &reqState{start: h.o.Now(), traceID: newTraceID()}
		lineModel, gbody, mline, err := h.prepareLine(ctx, rec.Batch.Endpoint, in.Body, key, lrs)
		if err == nil && model != "" && lineModel != model {
			err = openai.InvalidParam("model", "all requests of a batch must use one model: this line asks for %q, the batch runs %q", lineModel, model)
		}
		if err != nil {
			e := toOpenAI(err)
			if e.Status >= 500 {
				return abort(err) // ours, not the line's: the batch is not created
			}
			if err := refuse(failedLine(id, customID, e, lrs.traceID)); err != nil {
				return abort(err)
			}
			continue
		}
		model = lineModel
		key := strconv.Itoa(n)
		rline, err := marshal(engine.InputLine{Key: key, Request: gbody})
		if err != nil {
			return abort(err)
		}
		mline.Key, mline.Line, mline.CustomID = key, n, *customID
		mb, err := marshal(mline)
		if err != nil {
			return abort(err)
		}
		if err := reqs.line(rline); err != nil {
			return abort(err)
		}
		if err := man.line(mb); err != nil {
			return abort(err)
		}
		rec.Requests++
	}
	for _, w := range writers {
		if err := w.close(); err != nil {
			return "", err
		}
	}
	return model, nil
}

// prepareLine decodes and translates one line's body as its endpoint does online. It returns
// the Gemini model, the engine request (a GenerateContentRequest, or for embeddings the array of
// the calls' bodies) and the manifest line's response shaping.
func (h *Handler) prepareLine(ctx context.Context, endpoint string, body json.RawMessage, key *keys.Key, rs *reqState) (string, json.RawMessage, manifestLine, error) {
	if endpoint == embeddingsEndpoint {
		_, e, err := h.prepareEmbed(body, key, rs)
		if err != nil {
			return "", nil, manifestLine{}, err
		}
		calls := make([]any, len(e.Calls))
		for i := range e.Calls {
			calls[i] = e.Calls[i].Body
		}
		b, err := marshal(calls)
		if err != nil {
			return "", nil, manifestLine{}, err
		}
		return e.Model, b, manifestLine{Model: rs.model, Embed: newEmbedShape(e)}, nil
	}
	tr, gbody, err := h.prepare(ctx, body, key, rs)
	if err != nil {
		return "", nil, manifestLine{}, err
	}
	if tr.Stream {
		return "", nil, manifestLine{}, openai.InvalidParam("stream", "stream: true is not supported in batch jobs")
	}
	return tr.Model, gbody, manifestLine{Model: rs.model, Marker: tr.ThoughtTagMarker, MaxToolCalls: tr.MaxToolCalls}, nil
}

// parseInputLine checks one input line's envelope. It returns the line, its custom_id when it
// has a usable one, and a message when the line is refused.
func parseInputLine(raw []byte, endpoint string, seen map[string]bool) (*openai.BatchInputLine, *string, string) {
	var in openai.BatchInputLine
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil, "the line is not a JSON object"
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, nil, fmt.Sprintf("the line is not a JSON object of the batch input format: %v", err)
	}
	var id string
	if len(in.CustomID) == 0 || string(in.CustomID) == "null" {
		return nil, nil, "custom_id is missing"
	}
	if err := json.Unmarshal(in.CustomID, &id); err != nil {
		return nil, nil, "custom_id must be a string"
	}
	switch {
	case id == "":
		return nil, nil, "custom_id is empty"
	case len(id) > 512:
		return nil, nil, "custom_id is longer than 512 bytes"
	case !utf8.ValidString(id):
		return nil, nil, "custom_id is not valid UTF-8"
	case seen[id]:
		return nil, &id, fmt.Sprintf("custom_id %q is used by an earlier line; each line needs its own", id)
	case in.Method != http.MethodPost:
		return nil, &id, fmt.Sprintf("method must be \"POST\", not %q", in.Method)
	case in.URL != endpoint:
		return nil, &id, fmt.Sprintf("url must be the batch's endpoint %q, not %q", endpoint, in.URL)
	}
	if b := bytes.TrimSpace(in.Body); len(b) == 0 || b[0] != '{' {
		return nil, &id, "body must be a JSON object with the request"
	}
	return &in, &id, ""
}

// lineID is an output line's id: derived from the batch and the line number, so that a
// repeated finalize writes the same lines.
func lineID(batchID string, n int) string {
	sum := sha256.Sum256([]byte(batchID + "\x00" + strconv.Itoa(n)))
	return "batch_req_" + hex.EncodeToString(sum[:12])
}

// invalidLine is the error line of an input line that is not a request at all.
func invalidLine(id string, n int, customID *string, format string, args ...any) openai.BatchOutputLine {
	return openai.BatchOutputLine{ID: id, CustomID: customID, Error: &openai.BatchLineError{
		Code: openai.CodeInvalidRequest, Message: "line " + strconv.Itoa(n) + ": " + fmt.Sprintf(format, args...), Line: n}}
}

// failedLine is the error line of a request answered with an error: the response our online
// endpoint gives (status and error body), and the error's code and message repeated.
func failedLine(id string, customID *string, e *openai.Error, traceID string) openai.BatchOutputLine {
	return openai.BatchOutputLine{ID: id, CustomID: customID,
		Response: &openai.BatchResponse{StatusCode: e.Status, RequestID: traceID, Body: e.MarshalBody(traceID)},
		Error:    &openai.BatchLineError{Code: e.Code, Message: e.Message}}
}

// batch reads the key's batch record and its version; another key's batch is 404.
func (h *Handler) batch(ctx context.Context, own, id string) (*batchRecord, string, error) {
	if !validID(id, "batch_") {
		return nil, "", batchNotFound(id)
	}
	var rec batchRecord
	obj, err := h.getJSON(ctx, batchStateName(own, id), &rec)
	if errors.Is(err, store.ErrNotExist) {
		return nil, "", batchNotFound(id)
	}
	if err != nil {
		return nil, "", err
	}
	return &rec, obj.Version, nil
}

// replaceBatch writes rec over version: false when the record changed meanwhile.
func (h *Handler) replaceBatch(ctx context.Context, own string, rec *batchRecord, version string) (bool, error) {
	b, err := marshal(rec)
	if err != nil {
		return false, err
	}
	err = h.o.Store.Replace(ctx, batchStateName(own, rec.Batch.ID), version, bytes.NewReader(b))
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// active reports whether a batch may still change with its engine's job.
func active(status string) bool {
	switch status {
	case openai.BatchValidating, openai.BatchInProgress, openai.BatchFinalizing, openai.BatchCancelling:
		return true
	}
	return false
}

// refresh brings a batch up to date with its engine: a finished job is finalized (output and
// error files written) and the record moves to its final status. Every change is a
// compare-and-swap over the version read; on a conflict the record is read again, so
// concurrent refreshes agree.
func (h *Handler) refresh(ctx context.Context, own string, rec *batchRecord, version string) (*batchRecord, error) {
	for range 5 {
		if !active(rec.Batch.Status) {
			return rec, nil
		}
		if rec.Engine != h.engine.Name() {
			return nil, fmt.Errorf("batch %s runs on the %s engine, this gateway on %s", rec.Batch.ID, rec.Engine, h.engine.Name())
		}
		st, err := h.engine.Poll(ctx, rec.Ref)
		if err != nil {
			return nil, err
		}
		if !st.State.Done() {
			return h.expire(ctx, own, rec, version)
		}
		if rec.Batch.Status != openai.BatchFinalizing {
			next := *rec
			next.Batch.Status, next.Batch.FinalizingAt = openai.BatchFinalizing, unix(h.o.Now())
			if rec.Batch.Status == openai.BatchCancelling {
				next.Batch.Status = openai.BatchCancelling // stays until cancelled
			}
			ok, err := h.replaceBatch(ctx, own, &next, version)
			if err != nil {
				return nil, err
			}
			if rec, version, err = h.batch(ctx, own, rec.Batch.ID); err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		next := *rec
		if err := h.finalize(ctx, own, &next, st); err != nil {
			return nil, err
		}
		ok, err := h.replaceBatch(ctx, own, &next, version)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := h.o.Store.Delete(ctx, batchIndexName(own, next.Batch.ID)); err != nil {
				h.o.Logger.Warn("batch index marker not removed; the next sweep retries", "batch", next.Batch.ID, "error", err.Error())
			}
			if c, ok := h.engine.(engine.Cleaner); ok {
				if err := c.Cleanup(ctx, next.Ref); err != nil {
					h.o.Logger.Warn("batch engine objects not removed; the bucket's lifecycle expires them", "batch", next.Batch.ID, "error", err.Error())
				}
			}
			return &next, nil
		}
		if rec, version, err = h.batch(ctx, own, rec.Batch.ID); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// RefreshBatches refreshes every batch that is still running, so that a finished job gets its
// output files even if nobody asks: the entry of the scheduled function (Cloud Scheduler on
// Google Cloud, EventBridge Scheduler on AWS). It returns how many batches it saw end; a
// batch that fails to refresh does not stop the others (their errors are joined).
func (h *Handler) RefreshBatches(ctx context.Context) (int, error) {
	if h.o.Store == nil || h.engine == nil {
		return 0, nil
	}
	var (
		ended int
		errs  []error
		after string
	)
	for {
		objs, err := h.o.Store.List(ctx, "batch-index/", after, 1000)
		if err != nil {
			return ended, err
		}
		for _, o := range objs {
			after = o.Name
			own, id, ok := strings.Cut(strings.TrimPrefix(o.Name, "batch-index/"), "/")
			if !ok {
				continue
			}
			rec, version, err := h.batch(ctx, own, id)
			if err != nil {
				var oe *openai.Error
				if errors.As(err, &oe) && oe.Status == http.StatusNotFound {
					_ = h.o.Store.Delete(ctx, o.Name) // a marker without its batch
					continue
				}
				errs = append(errs, err)
				continue
			}
			if rec, err = h.refresh(ctx, own, rec, version); err != nil {
				errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
				continue
			}
			if !active(rec.Batch.Status) {
				ended++
				_ = h.o.Store.Delete(ctx, o.Name)
			}
		}
		if len(objs) < 1000 {
			return ended, errors.Join(errs...)
		}
	}
}

// expire stops a batch whose completion window (24h) ran out while its job still runs, as
// OpenAI does: the engine is asked to cancel, and once it has stopped the batch ends expired,
// with the answers that finished in the output file and the rest as batch_expired lines.
func (h *Handler) expire(ctx context.Context, own string, rec *batchRecord, version string) (*batchRecord, error) {
	if rec.Expiring || rec.Batch.ExpiresAt == nil || h.o.Now().Unix() < *rec.Batch.ExpiresAt ||
		rec.Batch.Status != openai.BatchInProgress {
		return rec, nil
	}
	if err := h.engine.Cancel(ctx, rec.Ref); err != nil {
		return nil, err
	}
	next := *rec
	next.Expiring = true
	if _, err := h.replaceBatch(ctx, own, &next, version); err != nil {
		return nil, err
	}
	// Whoever won the write, the record as stored is the answer.
	rec, _, err := h.batch(ctx, own, rec.Batch.ID)
	return rec, err
}

// getBatch serves GET /v1/batches/{id}, refreshed from the engine.
func (h *Handler) getBatch(w http.ResponseWriter, r *http.Request, rs *reqState, id string) error {
	key, err := h.batchAuth(r, rs)
	if err != nil {
		return err
	}
	own := owner(key)
	rec, version, err := h.batch(r.Context(), own, id)
	if err != nil {
		return err
	}
	if rec, err = h.refresh(r.Context(), own, rec, version); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec.Batch)
}

// cancelBatch serves POST /v1/batches/{id}/cancel: the engine is asked to stop and the batch is
// cancelling until the engine's job has stopped; then a refresh writes what was finished and
// the batch is cancelled.
func (h *Handler) cancelBatch(w http.ResponseWriter, r *http.Request, rs *reqState, id string) error {
	key, err := h.batchAuth(r, rs)
	if err != nil {
		return err
	}
	own := owner(key)
	for range 5 {
		rec, version, err := h.batch(r.Context(), own, id)
		if err != nil {
			return err
		}
		switch rec.Batch.Status {
		case openai.BatchCancelling, openai.BatchCancelled:
			return writeJSON(w, http.StatusOK, rec.Batch)
		case openai.BatchValidating, openai.BatchInProgress:
		default:
			return openai.InvalidParam("batch_id", "batch %s is %s and cannot be cancelled", id, rec.Batch.Status)
		}
		if err := h.engine.Cancel(r.Context(), rec.Ref); err != nil {
			return err
		}
		rec.Batch.Status, rec.Batch.CancellingAt = openai.BatchCancelling, unix(h.o.Now())
		ok, err := h.replaceBatch(r.Context(), own, rec, version)
		if err != nil {
			return err
		}
		if ok {
			return writeJSON(w, http.StatusOK, rec.Batch)
		}
	}
	return openai.Errorf(http.StatusConflict, openai.CodeInvalidRequest, "", "batch %s changed while it was being cancelled; try again", id)
}

// listBatches serves GET /v1/batches: the key's batches, newest first, as stored (GET
// /v1/batches/{id} refreshes one).
func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.batchAuth(r, rs)
	if err != nil {
		return err
	}
	p, err := parseList(r, "batch_", 20, 100)
	if err != nil {
		return err
	}
	own := owner(key)
	after := ""
	if p.after != "" {
		after = batchStateName(own, p.after)
	}
	objs, err := h.o.Store.List(r.Context(), "batches/"+own+"/state/", after, p.limit+1)
	if err != nil {
		return err
	}
	list := openai.BatchList{Object: "list", Data: []openai.Batch{}}
	for i, o := range objs {
		if i == p.limit {
			list.HasMore = true
			break
		}
		var rec batchRecord
		if _, err := h.getJSON(r.Context(), o.Name, &rec); err != nil {
			return err
		}
		list.Data = append(list.Data, rec.Batch)
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = list.Data[0].ID, list.Data[n-1].ID
	}
	return writeJSON(w, http.StatusOK, list)
}
