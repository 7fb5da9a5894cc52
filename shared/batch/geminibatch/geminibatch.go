// Package geminibatch runs batches on the Gemini Developer API's Batch Mode
// (models/{model}:batchGenerateContent): https://ai.google.dev/api/batch-api. A job up to the
// inline limit goes with its requests inlined, each with its key in metadata.key, and its
// answers come back inlined; a larger job's input object, whose {"key","request"} lines are
// Batch Mode's file format as they are, is streamed to the Files API and the batch created
// with inputConfig.fileName, and its answers are read from the responses file, one
// {"key", "response"|"error"} line each. Either way answers come in no set order and are
// matched on their key.
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
// is in metadata (a GenerateContentBatch), its answers in response once done.
type operation struct {
	Name     string `json:"name"`
	Done     bool   `json:"done"`
	State    string `json:"state"` // when the batch itself is answered
	Metadata struct {
		State string `json:"state"`
	} `json:"metadata"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Response struct {
		InlinedResponses struct {
			InlinedResponses []inlinedResponse `json:"inlinedResponses"`
		} `json:"inlinedResponses"`
		ResponsesFile string `json:"responsesFile"`
	} `json:"response"`
}

type inlinedResponse struct {
	Metadata *metadata       `json:"metadata"`
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Submit implements engine.Engine. The ref is the batch name and the job's input object,
// which Results reads to map answers that come back without their key.
func (e *Engine) Submit(ctx context.Context, j engine.Job) (string, error) {
	var body createBody
	body.Batch.DisplayName = "gateway-" + j.ID
	b, _, err := store.ReadAll(ctx, e.st, j.Input, e.limit)
	if errors.Is(err, store.ErrTooLarge) {
		if body.Batch.InputConfig.FileName, err = e.upload(ctx, j); err != nil {
			return "", err
		}
		return e.create(ctx, j, &body)
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
	return e.create(ctx, j, &body)
}

// upload streams the job's input object to the Files API and returns the file's name.
func (e *Engine) upload(ctx context.Context, j engine.Job) (string, error) {
	rc, obj, err := e.st.Open(ctx, j.Input)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	return e.c.UploadFile(ctx, "gateway-"+j.ID+".jsonl", "application/jsonl", obj.Size, rc)
}

// create calls batchGenerateContent with body.
func (e *Engine) create(ctx context.Context, j engine.Job, body *createBody) (string, error) {
	enc, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	var op operation
	if err := e.c.Call(ctx, http.MethodPost, e.c.URL(j.Model, "batchGenerateContent"), enc, false, &op); err != nil {
		return "", err
	}
	if !strings.HasPrefix(op.Name, "batches/") {
		return "", &gemini.MalformedError{Err: fmt.Errorf("batchGenerateContent answered with name %q", op.Name)}
	}
	return op.Name + " " + j.Input, nil
}

func splitRef(ref string) (name, input string, err error) {
	name, input, _ = strings.Cut(ref, " ")
	if !strings.HasPrefix(name, "batches/") || strings.ContainsAny(name[len("batches/"):], "/?#") {
		return "", "", fmt.Errorf("geminibatch: %q is not a batch reference", ref)
	}
	return name, input, nil
}

func (e *Engine) get(ctx context.Context, ref string) (*operation, error) {
	name, _, err := splitRef(ref)
	if err != nil {
		return nil, err
	}
	var op operation
	if err := e.c.Get(ctx, e.c.ResourceURL(name), &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Poll implements engine.Engine. Google's guide shows both BATCH_STATE_* and JOB_STATE_* names.
func (e *Engine) Poll(ctx context.Context, ref string) (engine.Status, error) {
	op, err := e.get(ctx, ref)
	if err != nil {
		return engine.Status{}, err
	}
	state := op.Metadata.State
	if state == "" {
		state = op.State
	}
	_, state, _ = strings.Cut(state, "_STATE_")
	switch state {
	case "SUCCEEDED":
		return engine.Status{State: engine.Succeeded}, nil
	case "FAILED":
		st := engine.Status{State: engine.Failed}
		if op.Error != nil {
			st.Message = op.Error.Message
		}
		return st, nil
	case "CANCELLED":
		return engine.Status{State: engine.Cancelled}, nil
	case "EXPIRED":
		return engine.Status{State: engine.Expired}, nil
	}
	if op.Done && op.Error != nil {
		return engine.Status{State: engine.Failed, Message: op.Error.Message}, nil
	}
	return engine.Status{State: engine.Running}, nil // PENDING, RUNNING
}

// Cancel implements engine.Engine.
func (e *Engine) Cancel(ctx context.Context, ref string) error {
	name, _, err := splitRef(ref)
	if err != nil {
		return err
	}
	return e.c.Call(ctx, http.MethodPost, e.c.ResourceURL(name)+":cancel", []byte("{}"), true, nil)
}

// Results implements engine.Engine. Answers are matched on metadata.key; if Batch Mode left
// the metadata out (reported against some versions), the answers are taken in input order.
func (e *Engine) Results(ctx context.Context, ref string, fn func(engine.Result) error) error {
	op, err := e.get(ctx, ref)
	if err != nil {
		return err
	}
	if op.Response.ResponsesFile != "" {
		return e.fileResults(ctx, op.Response.ResponsesFile, fn)
	}
	answers := op.Response.InlinedResponses.InlinedResponses
	var keys []string // input order, read only when a key is missing
	for i, a := range answers {
		key := ""
		if a.Metadata != nil {
			key = a.Metadata.Key
		}
		if key == "" {
			if keys == nil {
				if keys, err = e.inputKeys(ctx, ref); err != nil {
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

func (e *Engine) inputKeys(ctx context.Context, ref string) ([]string, error) {
	_, input, _ := splitRef(ref)
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
