// Package localbatch is the batch engine that runs a job in-process, request by request, with
// the gateway's own Gemini client: on the emulator backend it is how `make run` serves the whole
// Files and Batches flow with no cloud account. Its state lives in the store under the job's
// work prefix (job.json, results.jsonl, cancelled), so a restarted process picks a job up again.
package localbatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// Generator calls generateContent and the embedding method: *gemini.Client.
type Generator interface {
	Generate(ctx context.Context, model string, body []byte) (*gemini.Response, error)
	Embed(ctx context.Context, model string, body []byte) (*gemini.EmbedResponse, error)
}

// Engine is the local engine.
type Engine struct {
	st          store.Store
	gen         Generator
	concurrency int

	mu      sync.Mutex
	running map[string]context.CancelFunc // by ref, the jobs this process runs
	wg      sync.WaitGroup
}

// New returns the engine; concurrency bounds the requests in flight per job (default 8).
func New(st store.Store, gen Generator, concurrency int) *Engine {
	if concurrency < 1 {
		concurrency = 8
	}
	return &Engine{st: st, gen: gen, concurrency: concurrency, running: map[string]context.CancelFunc{}}
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return "local" }

// Embeds implements engine.Embedder: the local engine runs embeddings jobs.
func (e *Engine) Embeds() bool { return true }

// result is one line of results.jsonl.
type result struct {
	Key      string          `json:"key"`
	Response json.RawMessage `json:"response,omitempty"`
	Error    *resultError    `json:"error,omitempty"`
}

type resultError struct {
	HTTPStatus int    `json:"httpStatus"`
	Status     string `json:"status"`
	Message    string `json:"message"`
}

// Submit implements engine.Engine: it records the job and starts it. The ref is the job's
// work prefix.
func (e *Engine) Submit(ctx context.Context, job engine.Job) (string, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return "", err
	}
	if err := e.st.Create(ctx, job.Work+"job.json", bytes.NewReader(b)); err != nil && !errors.Is(err, store.ErrExists) {
		return "", err
	}
	e.start(job)
	return job.Work, nil
}

// start runs job in the background unless this process already runs it.
func (e *Engine) start(job engine.Job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.running[job.Work]; ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.running[job.Work] = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.running, job.Work)
			e.mu.Unlock()
			cancel()
		}()
		_ = e.run(ctx, job) // a failure leaves no results: the next Poll starts the job again
	}()
}

// Wait waits for the jobs this process runs to end (tests, and a clean shutdown).
func (e *Engine) Wait() { e.wg.Wait() }

// run answers every request of job and writes results.jsonl; when cancelled, it writes the
// answers it has and the cancelled marker.
func (e *Engine) run(ctx context.Context, job engine.Job) error {
	bg := context.WithoutCancel(ctx)
	rc, _, err := e.st.Open(bg, job.Input)
	if err != nil {
		return err
	}
	defer rc.Close()
	var (
		mu      sync.Mutex
		results []result
		sem     = make(chan struct{}, e.concurrency)
		wg      sync.WaitGroup
	)
	br := bufio.NewReader(rc)
	for ctx.Err() == nil {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var in engine.InputLine
			if jerr := json.Unmarshal(line, &in); jerr != nil {
				return fmt.Errorf("localbatch: %s: %w", job.Input, jerr)
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				res := e.answer(ctx, job, in)
				if ctx.Err() != nil && res.Error != nil {
					return // stopped by the cancel: not an answer
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	wg.Wait()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range results {
		if err := enc.Encode(&results[i]); err != nil {
			return err
		}
	}
	// The marker goes first: results.jsonl is what makes a job done (see Poll).
	if ctx.Err() != nil {
		if err := e.markCancelled(bg, job.Work); err != nil {
			return err
		}
	}
	if err := e.st.Create(bg, job.Work+"results.jsonl", &buf); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

func (e *Engine) markCancelled(ctx context.Context, ref string) error {
	if err := e.st.Create(ctx, ref+"cancelled", bytes.NewReader(nil)); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

// answer runs one request.
func (e *Engine) answer(ctx context.Context, job engine.Job, in engine.InputLine) result {
	var (
		resp any
		err  error
	)
	if job.Embed {
		resp, err = e.embed(ctx, job.Model, in.Request)
	} else {
		resp, err = e.gen.Generate(ctx, job.Model, in.Request)
	}
	if err == nil {
		b, merr := json.Marshal(resp)
		if merr == nil {
			return result{Key: in.Key, Response: b}
		}
		err = merr
	}
	var ae *gemini.APIError
	if errors.As(err, &ae) {
		return result{Key: in.Key, Error: &resultError{HTTPStatus: ae.HTTPStatus, Status: ae.Status, Message: ae.Message}}
	}
	return result{Key: in.Key, Error: &resultError{HTTPStatus: http.StatusBadGateway, Status: "UNAVAILABLE", Message: err.Error()}}
}

// embed runs the embedding calls of one embeddings request, in order; the first failure is
// the request's error, as on the online endpoint.
func (e *Engine) embed(ctx context.Context, model string, request json.RawMessage) ([]*gemini.EmbedResponse, error) {
	var calls []json.RawMessage
	if err := json.Unmarshal(request, &calls); err != nil {
		return nil, fmt.Errorf("localbatch: an embeddings request is not an array of calls: %w", err)
	}
	out := make([]*gemini.EmbedResponse, len(calls))
	for i, c := range calls {
		r, err := e.gen.Embed(ctx, model, c)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func (e *Engine) exists(ctx context.Context, name string) (bool, error) {
	rc, _, err := e.st.Open(ctx, name)
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rc.Close()
	return true, nil
}

// Poll implements engine.Engine. A job that this process does not run and that has no results
// (the process restarted) is started again.
func (e *Engine) Poll(ctx context.Context, ref string) (engine.Status, error) {
	if done, err := e.exists(ctx, ref+"results.jsonl"); err != nil {
		return engine.Status{}, err
	} else if done {
		if cancelled, err := e.exists(ctx, ref+"cancelled"); err != nil || cancelled {
			return engine.Status{State: engine.Cancelled}, err
		}
		return engine.Status{State: engine.Succeeded}, nil
	}
	e.mu.Lock()
	_, running := e.running[ref]
	e.mu.Unlock()
	if !running {
		b, _, err := store.ReadAll(ctx, e.st, ref+"job.json", 1<<20)
		if err != nil {
			return engine.Status{}, err
		}
		var job engine.Job
		if err := json.Unmarshal(b, &job); err != nil {
			return engine.Status{}, fmt.Errorf("localbatch: %sjob.json: %w", ref, err)
		}
		e.start(job)
	}
	return engine.Status{State: engine.Running}, nil
}

// Cancel implements engine.Engine.
func (e *Engine) Cancel(ctx context.Context, ref string) error {
	e.mu.Lock()
	cancel, running := e.running[ref]
	e.mu.Unlock()
	if running {
		cancel() // the run writes what it has, then the marker
		return nil
	}
	if ok, err := e.exists(ctx, ref+"results.jsonl"); err != nil || ok {
		return err // finished already: nothing to cancel
	}
	if err := e.markCancelled(ctx, ref); err != nil {
		return err
	}
	if err := e.st.Create(ctx, ref+"results.jsonl", bytes.NewReader(nil)); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

// Results implements engine.Engine.
func (e *Engine) Results(ctx context.Context, ref string, fn func(engine.Result) error) error {
	rc, _, err := e.st.Open(ctx, ref+"results.jsonl")
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var r result
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("localbatch: %sresults.jsonl: %w", ref, err)
		}
		res := engine.Result{Key: r.Key, Response: r.Response}
		if r.Error != nil {
			res.Error = &gemini.APIError{HTTPStatus: r.Error.HTTPStatus, Status: r.Error.Status, Message: r.Error.Message}
		}
		if err := fn(res); err != nil {
			return err
		}
	}
}

var (
	_ engine.Engine   = (*Engine)(nil)
	_ engine.Embedder = (*Engine)(nil)
)
