// Package geminibatch runs batches on the Gemini Developer API's Batch Mode
// (models/{model}:batchGenerateContent) with the requests inlined, each with its key in
// metadata.key; answers come back inlined, in no set order, and are matched on that key.
// https://ai.google.dev/api/batch-api
//
// Batch Mode also takes an uploaded JSONL file for large batches; that path is not implemented:
// a job over the inline limit is refused with a 400 that says so.
package geminibatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// createBody is the body of batchGenerateContent.
type createBody struct {
	Batch struct {
		DisplayName string `json:"displayName"`
		InputConfig struct {
			Requests struct {
				Requests []inlinedRequest `json:"requests"`
			} `json:"requests"`
		} `json:"inputConfig"`
	} `json:"batch"`
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
	b, _, err := store.ReadAll(ctx, e.st, j.Input, e.limit)
	if errors.Is(err, store.ErrTooLarge) {
		return "", &gemini.APIError{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT",
			Message: fmt.Sprintf("the batch's requests are larger than the %d bytes Batch Mode takes inline; file input is not supported by this gateway: split the batch", e.limit)}
	}
	if err != nil {
		return "", err
	}
	var body createBody
	body.Batch.DisplayName = "gateway-" + j.ID
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
	body.Batch.InputConfig.Requests.Requests = reqs
	enc, err := json.Marshal(&body)
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
		return fmt.Errorf("geminibatch: the batch answered in a responses file (%s), which this gateway does not read", op.Response.ResponsesFile)
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
