// Package geminibatch runs batches on the Gemini Developer API's Batch Mode
// (models/{model}:batchGenerateContent): https://ai.google.dev/api/batch-api. A job up to the
// inline limit goes with its requests inlined, each with its key in metadata.key, and its
// answers come back inlined; a larger job's input object, whose {"key","request"} lines are
// Batch Mode's file format as they are, is streamed to the Files API and the batch created
// with inputConfig.fileName, and its answers are read from the responses file, one
// {"key", "response"|"error"} line each. Either way answers come in no set order and are
// matched on their key.
//
// An embeddings job goes through models/{model}:asyncBatchEmbedContent the same way: each
// line's embedding calls are exploded into one EmbedContentRequest per input (written to the
// job's work prefix as {"key","request"} lines, the key an engine.PartKey), inlined or uploaded
// as above, and the answers — an EmbedContentResponse per input — put back into one answer per
// line by an engine.Assembler. https://ai.google.dev/api/batch-api#method:-models.asyncbatchembedcontent
//
// A Files API file the engine uploaded is deleted once the job's answers were read, or once the
// job failed, was cancelled or expired (a file already gone is not an error); Google's own
// 48-hour expiry stays as a backstop.
package geminibatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// DefaultInlineLimit is the largest job input sent inline: Batch Mode takes inlined requests up
// to a total of about 20 MB.
const DefaultInlineLimit = 19 << 20

// Engine is the Batch Mode engine.
type Engine struct {
	c     *gemini.Client
	st    store.Store
	limit int64
	chunk int64 // upload chunk size, 0 for gemini.DefaultUploadChunk
}

// New returns the engine over a Developer API client and the gateway's store; inlineLimit <= 0
// means DefaultInlineLimit.
func New(c *gemini.Client, st store.Store, inlineLimit int64) (*Engine, error) {
	if c == nil || c.Backend() != gemini.Developer {
		return nil, errors.New("geminibatch: needs a gemini (Developer API) backend client")
	}
	if inlineLimit <= 0 {
		inlineLimit = DefaultInlineLimit
	}
	return &Engine{c: c, st: st, limit: inlineLimit}, nil
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return "gemini" }

type inlinedRequest struct {
	Request  json.RawMessage `json:"request"`
	Metadata metadata        `json:"metadata"`
}

type metadata struct {
	Key string `json:"key"`
}

// createBody is the body of batchGenerateContent: inlined requests or an uploaded file.
type createBody struct {
	Batch struct {
		DisplayName string `json:"displayName"`
		InputConfig struct {
			Requests *inlinedRequests `json:"requests,omitempty"`
			FileName string           `json:"fileName,omitempty"`
		} `json:"inputConfig"`
	} `json:"batch"`
}

type inlinedRequests struct {
	Requests []inlinedRequest `json:"requests"`
}

// operation is the long-running operation that create and get answer with; the batch's state
// is in metadata (a GenerateContentBatch or EmbedContentBatch), its answers in response once
// done (GenerateContentBatchOutput, EmbedContentBatchOutput) and, as the Python SDK reads them,
// in metadata.output.
type operation struct {
	Name     string `json:"name"`
	Done     bool   `json:"done"`
	State    string `json:"state"` // when the batch itself is answered
	Metadata struct {
		State  string       `json:"state"`
		Output *batchOutput `json:"output"`
	} `json:"metadata"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Response batchOutput `json:"response"`
}

// batchOutput is a batch's answers: inlined, or a responses file. An embeddings batch's
// inlined answers are documented as inlinedEmbedContentResponses, while the Python SDK finds
// them under inlinedResponses (and renames them): both are read.
type batchOutput struct {
	InlinedResponses      inlinedResponses `json:"inlinedResponses"`
	InlinedEmbedResponses inlinedResponses `json:"inlinedEmbedContentResponses"`
	ResponsesFile         string           `json:"responsesFile"`
}

type inlinedResponses struct {
	InlinedResponses []inlinedResponse `json:"inlinedResponses"`
}

func (o *batchOutput) empty() bool {
	return o == nil || o.ResponsesFile == "" && len(o.InlinedResponses.InlinedResponses) == 0 && len(o.InlinedEmbedResponses.InlinedResponses) == 0
}

type inlinedResponse struct {
	Metadata *metadata       `json:"metadata"`
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Submit implements engine.Engine. The ref is the batch name, the job's input object (which
// Results reads to map answers that come back without their key), "embed" for an embeddings
// job, and the name of the file uploaded for it, if any, space-separated.
func (e *Engine) Submit(ctx context.Context, j engine.Job) (string, error) {
	method := "batchGenerateContent"
	if j.Embed {
		method = "asyncBatchEmbedContent"
		in, n, err := e.explode(ctx, j)
		if err != nil {
			return "", err
		}
		j.Input, j.Count = in, n
	}
	var body createBody
	body.Batch.DisplayName = "gateway-" + j.ID
	b, _, err := store.ReadAll(ctx, e.st, j.Input, e.limit)
	if errors.Is(err, store.ErrTooLarge) {
		file, err := e.upload(ctx, j)
		if err != nil {
			return "", err
		}
		body.Batch.InputConfig.FileName = file
		ref, err := e.create(ctx, j, method, &body)
		if err != nil {
			e.deleteFile(ctx, file)
			return "", err
		}
		return ref + " " + file, nil
	}
	if err != nil {
		return "", err
	}
	reqs := make([]inlinedRequest, 0, j.Count)
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var in engine.InputLine
		if err := json.Unmarshal(line, &in); err != nil {
			return "", fmt.Errorf("geminibatch: %s: %w", j.Input, err)
		}
		reqs = append(reqs, inlinedRequest{Request: in.Request, Metadata: metadata{Key: in.Key}})
	}
	body.Batch.InputConfig.Requests = &inlinedRequests{Requests: reqs}
	return e.create(ctx, j, method, &body)
}

// explode writes the requests of an embeddings job, one EmbedContentRequest per input, as
// {"key","request"} lines to the job's work prefix, streaming, and returns the object's name
// and its number of lines (0 when a retried Submit finds them written). A line's request is the array of its batchEmbedContents bodies.
func (e *Engine) explode(ctx context.Context, j engine.Job) (string, int, error) {
	name := j.Work + "embed-requests.jsonl"
	rc, _, err := e.st.Open(ctx, j.Input)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(engine.ExplodeEmbed(rc, pw, func(call json.RawMessage) ([]json.RawMessage, error) {
			var body struct {
				Requests []json.RawMessage `json:"requests"`
			}
			if err := json.Unmarshal(call, &body); err != nil || len(body.Requests) == 0 {
				return nil, fmt.Errorf("an embedding call is not a batchEmbedContents body: %.200s", call)
			}
			return body.Requests, nil
		}, nil, &n))
	}()
	err = e.st.Create(ctx, name, pr)
	pr.CloseWithError(err) // stops the writer if Create gave up early
	<-done
	if errors.Is(err, store.ErrExists) {
		err = nil // a Submit retried: the requests were written the first time
	}
	if err != nil {
		return "", 0, fmt.Errorf("geminibatch: %s: %w", j.Input, err)
	}
	return name, n, nil
}

// upload streams the job's input object to the Files API and returns the file's name.
func (e *Engine) upload(ctx context.Context, j engine.Job) (string, error) {
	rc, obj, err := e.st.Open(ctx, j.Input)
	if err != nil {
		return "", err
	}
	rc.Close() // opened for its size; the upload opens it again, and after a failed chunk at the
	// offset the session has (skipping to it: the store reads no ranges)
	open := func(ctx context.Context, offset int64) (io.ReadCloser, error) {
		rc, _, err := e.st.Open(ctx, j.Input)
		if err != nil {
			return nil, err
		}
		if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
			rc.Close()
			return nil, err
		}
		return rc, nil
	}
	return e.c.UploadFile(ctx, gemini.Upload{DisplayName: "gateway-" + j.ID + ".jsonl", MimeType: "application/jsonl",
		Size: obj.Size, ChunkSize: e.chunk, Open: open})
}

// deleteFile deletes a file the engine uploaded; a failure is left to the Files API's expiry.
func (e *Engine) deleteFile(ctx context.Context, name string) {
	if name != "" {
		_ = e.c.DeleteFile(context.WithoutCancel(ctx), name)
	}
}

// create calls method (batchGenerateContent or asyncBatchEmbedContent) with body.
func (e *Engine) create(ctx context.Context, j engine.Job, method string, body *createBody) (string, error) {
	enc, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	var op operation
	if err := e.c.Call(ctx, http.MethodPost, e.c.URL(j.Model, method), enc, false, &op); err != nil {
		return "", err
	}
	if !strings.HasPrefix(op.Name, "batches/") {
		return "", &gemini.MalformedError{Err: fmt.Errorf("%s answered with name %q", method, op.Name)}
	}
	ref := op.Name + " " + j.Input
	if j.Embed {
		ref += " embed"
	}
	return ref, nil
}

// batchRef is a parsed ref.
type batchRef struct {
	name, input, file string
	embed             bool
}

func splitRef(ref string) (batchRef, error) {
	f := strings.Fields(ref)
	if len(f) < 2 || !strings.HasPrefix(f[0], "batches/") || strings.ContainsAny(f[0][len("batches/"):], "/?#") {
		return batchRef{}, fmt.Errorf("geminibatch: %q is not a batch reference", ref)
	}
	r := batchRef{name: f[0], input: f[1]}
	for _, x := range f[2:] {
		switch {
		case x == "embed":
			r.embed = true
		case strings.HasPrefix(x, "files/"):
			r.file = x
		}
	}
	return r, nil
}

func (e *Engine) get(ctx context.Context, ref string) (*operation, error) {
	r, err := splitRef(ref)
	if err != nil {
		return nil, err
	}
	var op operation
	if err := e.c.Get(ctx, e.c.ResourceURL(r.name), &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Poll implements engine.Engine. Google's guide shows both BATCH_STATE_* and JOB_STATE_* names.
// A job that ended without answers to read (failed, cancelled, expired) has its uploaded input
// file deleted.
func (e *Engine) Poll(ctx context.Context, ref string) (engine.Status, error) {
	op, err := e.get(ctx, ref)
	if err != nil {
		return engine.Status{}, err
	}
	st := status(op)
	if st.State == engine.Failed || st.State == engine.Cancelled || st.State == engine.Expired {
		if r, _ := splitRef(ref); r.file != "" {
			e.deleteFile(ctx, r.file)
		}
	}
	return st, nil
}

func status(op *operation) engine.Status {
	state := op.Metadata.State
	if state == "" {
		state = op.State
	}
	_, state, _ = strings.Cut(state, "_STATE_")
	switch state {
	case "SUCCEEDED":
		return engine.Status{State: engine.Succeeded}
	case "FAILED":
		st := engine.Status{State: engine.Failed}
		if op.Error != nil {
			st.Message = op.Error.Message
		}
		return st
	case "CANCELLED":
		return engine.Status{State: engine.Cancelled}
	case "EXPIRED":
		return engine.Status{State: engine.Expired}
	}
	if op.Done && op.Error != nil {
		return engine.Status{State: engine.Failed, Message: op.Error.Message}
	}
	return engine.Status{State: engine.Running} // PENDING, RUNNING
}

// Cancel implements engine.Engine.
func (e *Engine) Cancel(ctx context.Context, ref string) error {
	r, err := splitRef(ref)
	if err != nil {
		return err
	}
	return e.c.Call(ctx, http.MethodPost, e.c.ResourceURL(r.name)+":cancel", []byte("{}"), true, nil)
}

// Results implements engine.Engine. Answers are matched on metadata.key; if Batch Mode left
// the metadata out (reported against some versions), the answers are taken in input order.
// Once they are read, the file uploaded for the job is deleted.
func (e *Engine) Results(ctx context.Context, ref string, fn func(engine.Result) error) error {
	r, err := splitRef(ref)
	if err != nil {
		return err
	}
	op, err := e.get(ctx, ref)
	if err != nil {
		return err
	}
	out := &op.Response
	if out.empty() && !op.Metadata.Output.empty() {
		out = op.Metadata.Output
	}
	emit := fn
	var asm *engine.Assembler
	if r.embed {
		// Each answer is an EmbedContentResponse {"embedding": ContentEmbedding} for one input.
		asm = engine.NewAssembler(false)
		emit = func(res engine.Result) error {
			var v json.RawMessage
			if res.Error == nil {
				var resp struct {
					Embedding json.RawMessage `json:"embedding"`
				}
				if err := json.Unmarshal(res.Response, &resp); err != nil {
					return &gemini.MalformedError{Err: fmt.Errorf("embedding answer %s: %w", res.Key, err)}
				}
				v = resp.Embedding
			}
			return asm.Add(res.Key, v, res.Error)
		}
	}
	if out.ResponsesFile != "" {
		err = e.fileResults(ctx, out.ResponsesFile, emit)
	} else {
		answers := out.InlinedResponses.InlinedResponses
		if len(answers) == 0 {
			answers = out.InlinedEmbedResponses.InlinedResponses
		}
		err = e.inlinedResults(ctx, r, answers, emit)
	}
	if err == nil && asm != nil {
		err = asm.Flush(fn)
	}
	if err != nil {
		return err
	}
	e.deleteFile(ctx, r.file)
	return nil
}

func (e *Engine) inlinedResults(ctx context.Context, r batchRef, answers []inlinedResponse, fn func(engine.Result) error) error {
	var keys []string // input order, read only when a key is missing
	for i, a := range answers {
		key := ""
		if a.Metadata != nil {
			key = a.Metadata.Key
		}
		if key == "" {
			if keys == nil {
				var err error
				if keys, err = e.inputKeys(ctx, r.input); err != nil {
					return err
				}
			}
			if i >= len(keys) {
				continue
			}
			key = keys[i]
		}
		res := engine.Result{Key: key, Response: a.Response}
		if a.Error != nil {
			res.Response, res.Error = nil, engine.RPCError(a.Error.Code, "", a.Error.Message)
		} else if len(a.Response) == 0 {
			continue // neither answer nor error: unanswered
		}
		if err := fn(res); err != nil {
			return err
		}
	}
	return nil
}

// fileLine is one line of a responses file: the input line's key with its answer or error.
type fileLine struct {
	Key      string          `json:"key"`
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// fileResults streams the responses file, one answer at a time. A line without a key cannot
// be matched (an uploaded file's lines are not answered in order): it is skipped, and its
// request ends as an unanswered error line.
func (e *Engine) fileResults(ctx context.Context, name string, fn func(engine.Result) error) error {
	rc, err := e.c.DownloadFile(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var l fileLine
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return &gemini.MalformedError{Err: fmt.Errorf("responses file %s: %w", name, err)}
		}
		if l.Key == "" {
			continue
		}
		res := engine.Result{Key: l.Key, Response: l.Response}
		if l.Error != nil {
			res.Response, res.Error = nil, engine.RPCError(l.Error.Code, l.Error.Status, l.Error.Message)
		} else if len(l.Response) == 0 {
			continue
		}
		if err := fn(res); err != nil {
			return err
		}
	}
}

func (e *Engine) inputKeys(ctx context.Context, input string) ([]string, error) {
	b, _, err := store.ReadAll(ctx, e.st, input, e.limit)
	if err != nil {
		return nil, err
	}
	var keys []string
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		var in engine.InputLine
		if json.Unmarshal(line, &in) == nil {
			keys = append(keys, in.Key)
		}
	}
	return keys, nil
}

var _ engine.Engine = (*Engine)(nil)

// Embeds implements engine.Embedder: embeddings jobs run on asyncBatchEmbedContent.
func (e *Engine) Embeds() bool { return true }

var _ engine.Embedder = (*Engine)(nil)
