// Package vertexbatch runs batches as Vertex AI batch prediction jobs for Gemini
// (projects.locations.batchPredictionJobs): the job's requests are a JSONL object in Cloud
// Storage, one {"key", "request"} line each, and Vertex writes its answers under an output
// prefix in the same bucket, one line per request carrying the key back, in no set order.
// https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-from-cloud-storage
//
// An embeddings job runs as a batch prediction job of the embedding model: each line's predict
// calls are exploded into one instance per input ({"content", "task_type", "title"}, the
// instance JSONL of "Get batch text embeddings predictions",
// https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/batch-prediction-genai-embeddings),
// each with a "key" field that instanceConfig.keyField names, so Vertex sends the instance
// without it and writes it back as the output line's "key"; the calls' parameters
// (outputDimensionality, autoTruncate) go once in the job's modelParameters, so every line of
// one job must ask for the same ones. Output lines carry "predictions" ([{"embeddings": …}]),
// put back into one answer per line by an engine.Assembler.
//
// When the staging bucket is not the store (the gateway on AWS), the objects the engine put in
// the staging bucket and the job's outputs there are deleted by Cleanup, which the gateway
// calls once the batch's final record is stored.
package vertexbatch

import (
	"bufio"
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

// Options configure the engine.
type Options struct {
	// Client is a Vertex backend client (auth, retries, error decoding).
	Client *gemini.Client
	// Store is the gateway's object store, where jobs' inputs are.
	Store store.Store
	// Staging is the Cloud Storage bucket Vertex reads and writes, as a Store, named Bucket.
	// On Google Cloud it is the gateway's store itself (nil here means Store); on AWS it is a
	// Cloud Storage staging bucket and each job's input is copied there first.
	Staging store.Store
	Bucket  string
}

// Engine is the Vertex AI batch prediction engine.
type Engine struct{ o Options }

// New returns the engine.
func New(o Options) (*Engine, error) {
	if o.Client == nil || o.Client.Backend() != gemini.Vertex {
		return nil, errors.New("vertexbatch: needs a vertex backend client")
	}
	if o.Bucket == "" || o.Store == nil {
		return nil, errors.New("vertexbatch: needs the store and its Cloud Storage bucket name")
	}
	if o.Staging == nil {
		o.Staging = o.Store
	}
	return &Engine{o: o}, nil
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return "vertex" }

func (e *Engine) gs(name string) string { return "gs://" + e.o.Bucket + "/" + name }

// job is the part of a BatchPredictionJob the engine writes and reads:
// https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs
type job struct {
	Name            string          `json:"name,omitempty"`
	DisplayName     string          `json:"displayName"`
	Model           string          `json:"model"`
	InputConfig     *inputConfig    `json:"inputConfig,omitempty"`
	InstanceConfig  *instanceConfig `json:"instanceConfig,omitempty"`
	ModelParameters json.RawMessage `json:"modelParameters,omitempty"`
	OutputConfig    *outputConfig   `json:"outputConfig,omitempty"`
	State           string          `json:"state,omitempty"`
	Error           *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
	OutputInfo *struct {
		GcsOutputDirectory string `json:"gcsOutputDirectory"`
	} `json:"outputInfo,omitempty"`
}

type inputConfig struct {
	InstancesFormat string `json:"instancesFormat"`
	GcsSource       struct {
		URIs []string `json:"uris"`
	} `json:"gcsSource"`
}

// instanceConfig names the field of each input line that is its key: Vertex leaves it out of
// the instance sent to the model and writes it as the output line's "key".
type instanceConfig struct {
	KeyField string `json:"keyField"`
}

type outputConfig struct {
	PredictionsFormat string `json:"predictionsFormat"`
	GcsDestination    struct {
		OutputURIPrefix string `json:"outputUriPrefix"`
	} `json:"gcsDestination"`
}

// Submit implements engine.Engine: it creates the job and returns its resource name (with
// " embed" after it for an embeddings job).
func (e *Engine) Submit(ctx context.Context, j engine.Job) (string, error) {
	req := job{DisplayName: "gateway-" + j.ID, Model: "publishers/google/models/" + j.Model,
		InputConfig: &inputConfig{InstancesFormat: "jsonl"}, OutputConfig: &outputConfig{PredictionsFormat: "jsonl"}}
	input := j.Input
	switch {
	case j.Embed:
		input = j.Work + "embed-instances.jsonl"
		params, err := e.explode(ctx, j.Input, input)
		if err != nil {
			return "", err
		}
		req.InstanceConfig, req.ModelParameters = &instanceConfig{KeyField: "key"}, params
	case e.o.Staging != e.o.Store:
		input = j.Work + "input.jsonl"
		if err := e.copyInput(ctx, j.Input, input); err != nil {
			return "", err
		}
	}
	req.InputConfig.GcsSource.URIs = []string{e.gs(input)}
	req.OutputConfig.GcsDestination.OutputURIPrefix = e.gs(j.Work + "output/")
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	var created job
	if err := e.o.Client.Call(ctx, http.MethodPost, e.o.Client.ParentURL("batchPredictionJobs"), body, false, &created); err != nil {
		return "", err
	}
	if created.Name == "" {
		return "", &gemini.MalformedError{Err: errors.New("batchPredictionJobs.create answered without a job name")}
	}
	if j.Embed {
		return created.Name + " embed", nil
	}
	return created.Name, nil
}

// explode writes the instances of an embeddings job to the staging bucket, one per input with
// its part key, streaming from the store, and returns the calls' parameters, which must be
// the same for every call (a job has one modelParameters).
func (e *Engine) explode(ctx context.Context, from, to string) (json.RawMessage, error) {
	rc, _, err := e.o.Store.Open(ctx, from)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var (
		params json.RawMessage
		first  = true
		n      int
	)
	split := func(call json.RawMessage) ([]json.RawMessage, error) {
		var body struct {
			Instances  []json.RawMessage `json:"instances"`
			Parameters json.RawMessage   `json:"parameters"`
		}
		if err := json.Unmarshal(call, &body); err != nil || len(body.Instances) == 0 {
			return nil, fmt.Errorf("an embedding call is not a predict body: %.200s", call)
		}
		p, err := compact(body.Parameters)
		if err != nil {
			return nil, err
		}
		if first {
			params, first = p, false
		} else if !bytes.Equal(p, params) {
			return nil, errMixedParameters
		}
		return body.Instances, nil
	}
	encode := func(key string, instance json.RawMessage) ([]byte, error) {
		inst := bytes.TrimSpace(instance)
		if len(inst) < 2 || inst[0] != '{' {
			return nil, fmt.Errorf("an embedding instance is not an object: %.200s", instance)
		}
		k, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		rest := bytes.TrimSpace(inst[1:])
		b := append([]byte(`{"key":`), k...)
		if rest[0] != '}' {
			b = append(b, ',')
		}
		return append(b, rest...), nil
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(engine.ExplodeEmbed(rc, pw, split, encode, &n))
	}()
	err = e.o.Staging.Create(ctx, to, pr)
	pr.CloseWithError(err)
	<-done
	if errors.Is(err, store.ErrExists) {
		return e.storedParameters(ctx, from)
	}
	if errors.Is(err, errMixedParameters) {
		return nil, &gemini.APIError{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT",
			Message: "Vertex AI batch prediction takes one set of embedding parameters per job: every line of an embeddings batch must ask for the same dimensions (and google.auto_truncate)"}
	}
	if err != nil {
		return nil, fmt.Errorf("vertexbatch: %s: %w", from, err)
	}
	return params, nil
}

var errMixedParameters = errors.New("vertexbatch: embedding calls with different parameters")

// storedParameters reads the parameters of the first call of an embeddings job's input, for a
// Submit retried after its instances were written.
func (e *Engine) storedParameters(ctx context.Context, input string) (json.RawMessage, error) {
	rc, _, err := e.o.Store.Open(ctx, input)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var in engine.InputLine
	if err := json.NewDecoder(rc).Decode(&in); err != nil {
		return nil, fmt.Errorf("vertexbatch: %s: %w", input, err)
	}
	var calls []struct {
		Parameters json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(in.Request, &calls); err != nil || len(calls) == 0 {
		return nil, fmt.Errorf("vertexbatch: %s: an embeddings request is not an array of calls", input)
	}
	return compact(calls[0].Parameters)
}

// compact returns p without insignificant space, or nil for no parameters.
func compact(p json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(p)) == 0 || string(bytes.TrimSpace(p)) == "null" {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (e *Engine) copyInput(ctx context.Context, from, to string) error {
	rc, _, err := e.o.Store.Open(ctx, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := e.o.Staging.Create(ctx, to, rc); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

// splitRef returns the job name of ref and whether it is an embeddings job.
func splitRef(ref string) (name string, embed bool, err error) {
	name, flag, _ := strings.Cut(ref, " ")
	if !strings.Contains(name, "/batchPredictionJobs/") || (flag != "" && flag != "embed") {
		return "", false, fmt.Errorf("vertexbatch: %q is not a batch prediction job name", ref)
	}
	return name, flag == "embed", nil
}

func (e *Engine) get(ctx context.Context, ref string) (*job, error) {
	name, _, err := splitRef(ref)
	if err != nil {
		return nil, err
	}
	var j job
	if err := e.o.Client.Get(ctx, e.o.Client.ResourceURL(name), &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Poll implements engine.Engine. JOB_STATE_PARTIALLY_SUCCEEDED is a success: the requests that
// failed have error lines of their own.
// https://cloud.google.com/vertex-ai/docs/reference/rest/Shared.Types/JobState
func (e *Engine) Poll(ctx context.Context, ref string) (engine.Status, error) {
	j, err := e.get(ctx, ref)
	if err != nil {
		return engine.Status{}, err
	}
	switch j.State {
	case "JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED":
		return engine.Status{State: engine.Succeeded}, nil
	case "JOB_STATE_FAILED":
		st := engine.Status{State: engine.Failed}
		if j.Error != nil {
			st.Message = j.Error.Message
		}
		return st, nil
	case "JOB_STATE_CANCELLED":
		return engine.Status{State: engine.Cancelled}, nil
	case "JOB_STATE_EXPIRED":
		return engine.Status{State: engine.Expired}, nil
	}
	return engine.Status{State: engine.Running}, nil // QUEUED, PENDING, RUNNING, CANCELLING, PAUSED, UPDATING
}

// Cancel implements engine.Engine.
func (e *Engine) Cancel(ctx context.Context, ref string) error {
	if _, err := e.get(ctx, ref); err != nil {
		return err
	}
	name, _, _ := splitRef(ref)
	return e.o.Client.Call(ctx, http.MethodPost, e.o.Client.ResourceURL(name)+":cancel", []byte("{}"), true, nil)
}

// outputLine is one line Vertex writes: the key we sent, the request echoed, and the
// GenerateContentResponse or the failure ("status" as Vertex's Gemini output has it, or the
// PredictionResult "error" object). An embedding model's line has "predictions" (the
// documented output lines) or "prediction" (PredictionResult) instead of "response".
type outputLine struct {
	Key         string            `json:"key"`
	Response    json.RawMessage   `json:"response"`
	Predictions []json.RawMessage `json:"predictions"`
	Prediction  json.RawMessage   `json:"prediction"`
	Status      string            `json:"status"`
	Error       *struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// Results implements engine.Engine: every predictions*.jsonl under the job's output directory.
// An embeddings job's answers are put back together per line.
func (e *Engine) Results(ctx context.Context, ref string, fn func(engine.Result) error) error {
	_, embed, err := splitRef(ref)
	if err != nil {
		return err
	}
	j, err := e.get(ctx, ref)
	if err != nil {
		return err
	}
	emit := fn
	var asm *engine.Assembler
	if embed {
		asm = engine.NewAssembler(true)
		emit = func(r engine.Result) error { return asm.Add(r.Key, r.Response, r.Error) }
	}
	objs, err := e.outputs(ctx, j)
	if err != nil {
		return err
	}
	for _, o := range objs {
		base := o.Name[strings.LastIndexByte(o.Name, '/')+1:]
		if !strings.HasPrefix(base, "predictions") || !strings.HasSuffix(base, ".jsonl") {
			continue
		}
		if err := e.readOutput(ctx, o.Name, embed, emit); err != nil {
			return err
		}
	}
	if asm != nil {
		return asm.Flush(fn)
	}
	return nil
}

// outputs lists the objects under the job's output directory (none for a job cancelled before
// it ran).
func (e *Engine) outputs(ctx context.Context, j *job) ([]store.Object, error) {
	if j.OutputInfo == nil || j.OutputInfo.GcsOutputDirectory == "" {
		return nil, nil
	}
	dir, ok := strings.CutPrefix(j.OutputInfo.GcsOutputDirectory, "gs://"+e.o.Bucket+"/")
	if !ok {
		return nil, fmt.Errorf("vertexbatch: output %s is not in bucket %s", j.OutputInfo.GcsOutputDirectory, e.o.Bucket)
	}
	return e.o.Staging.List(ctx, strings.TrimSuffix(dir, "/")+"/", "", 0)
}

// Cleanup implements engine.Cleaner: when the staging bucket is not the store, it deletes the
// job's input there and its outputs. (Not in Results: a refresh racing the one that stores
// the batch's final record may still read them.)
func (e *Engine) Cleanup(ctx context.Context, ref string) error {
	if e.o.Staging == e.o.Store {
		return nil
	}
	j, err := e.get(ctx, ref)
	if err != nil {
		return err
	}
	objs, err := e.outputs(ctx, j)
	if err != nil {
		return err
	}
	if j.InputConfig != nil {
		for _, u := range j.InputConfig.GcsSource.URIs {
			if name, ok := strings.CutPrefix(u, "gs://"+e.o.Bucket+"/"); ok {
				objs = append(objs, store.Object{Name: name})
			}
		}
	}
	var errs []error
	for _, o := range objs {
		errs = append(errs, e.o.Staging.Delete(ctx, o.Name))
	}
	return errors.Join(errs...)
}

func (e *Engine) readOutput(ctx context.Context, name string, embed bool, fn func(engine.Result) error) error {
	rc, _, err := e.o.Staging.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var l outputLine
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("vertexbatch: %s: %w", name, err)
			}
			if l.Key == "" {
				continue // not ours to map back; its request counts as unanswered
			}
			answer := l.Response
			if embed {
				answer = l.Prediction
				if len(l.Predictions) > 0 {
					answer = l.Predictions[0]
				}
			}
			res := engine.Result{Key: l.Key}
			switch {
			case l.Error != nil:
				res.Error = engine.RPCError(l.Error.Code, l.Error.Status, l.Error.Message)
			case l.Status != "" || len(answer) == 0 || string(answer) == "null":
				res.Error = statusError(l.Status)
			default:
				res.Response = answer
			}
			if err := fn(res); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// statusError is the error of a line whose "status" is set: Vertex writes the upstream error
// there as text, often "<reason>: " followed by the google.rpc error JSON, whose status then
// decides the code.
func statusError(status string) *gemini.APIError {
	if status == "" {
		return engine.RPCError(0, "INTERNAL", "Vertex AI returned no response for this request")
	}
	if i := strings.IndexByte(status, '{'); i >= 0 {
		var body struct {
			Error struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(status[i:]), &body) == nil && body.Error.Status != "" {
			return engine.RPCError(0, body.Error.Status, body.Error.Message)
		}
	}
	return engine.RPCError(0, "INTERNAL", status)
}

var _ engine.Engine = (*Engine)(nil)

// Embeds implements engine.Embedder: embeddings jobs run as batch prediction jobs of the
// embedding model.
func (e *Engine) Embeds() bool { return true }

var (
	_ engine.Embedder = (*Engine)(nil)
	_ engine.Cleaner  = (*Engine)(nil)
)
