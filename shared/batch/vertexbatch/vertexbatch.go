// Package vertexbatch runs batches as Vertex AI batch prediction jobs for Gemini
// (projects.locations.batchPredictionJobs): the job's requests are a JSONL object in Cloud
// Storage, one {"key", "request"} line each, and Vertex writes its answers under an output
// prefix in the same bucket, one line per request carrying the key back, in no set order.
// https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-from-cloud-storage
package vertexbatch

import (
	"bufio"
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
	Name         string        `json:"name,omitempty"`
	DisplayName  string        `json:"displayName"`
	Model        string        `json:"model"`
	InputConfig  *inputConfig  `json:"inputConfig,omitempty"`
	OutputConfig *outputConfig `json:"outputConfig,omitempty"`
	State        string        `json:"state,omitempty"`
	Error        *struct {
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

type outputConfig struct {
	PredictionsFormat string `json:"predictionsFormat"`
	GcsDestination    struct {
		OutputURIPrefix string `json:"outputUriPrefix"`
	} `json:"gcsDestination"`
}

// Submit implements engine.Engine: it creates the job and returns its resource name.
func (e *Engine) Submit(ctx context.Context, j engine.Job) (string, error) {
	input := j.Input
	if e.o.Staging != e.o.Store {
		input = j.Work + "input.jsonl"
		if err := e.copyInput(ctx, j.Input, input); err != nil {
			return "", err
		}
	}
	req := job{DisplayName: "gateway-" + j.ID, Model: "publishers/google/models/" + j.Model,
		InputConfig: &inputConfig{InstancesFormat: "jsonl"}, OutputConfig: &outputConfig{PredictionsFormat: "jsonl"}}
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
	return created.Name, nil
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

func (e *Engine) get(ctx context.Context, ref string) (*job, error) {
	if !strings.Contains(ref, "/batchPredictionJobs/") {
		return nil, fmt.Errorf("vertexbatch: %q is not a batch prediction job name", ref)
	}
	var j job
	if err := e.o.Client.Get(ctx, e.o.Client.ResourceURL(ref), &j); err != nil {
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
	return e.o.Client.Call(ctx, http.MethodPost, e.o.Client.ResourceURL(ref)+":cancel", []byte("{}"), true, nil)
}

// outputLine is one line Vertex writes: the key we sent, the request echoed, and the
// GenerateContentResponse or the failure ("status" as Vertex's Gemini output has it, or the
// PredictionResult "error" object).
type outputLine struct {
	Key      string          `json:"key"`
	Response json.RawMessage `json:"response"`
	Status   string          `json:"status"`
	Error    *struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// Results implements engine.Engine: every predictions*.jsonl under the job's output directory.
func (e *Engine) Results(ctx context.Context, ref string, fn func(engine.Result) error) error {
	j, err := e.get(ctx, ref)
	if err != nil {
		return err
	}
	if j.OutputInfo == nil || j.OutputInfo.GcsOutputDirectory == "" {
		return nil // nothing was written (a job cancelled before it ran)
	}
	dir, ok := strings.CutPrefix(j.OutputInfo.GcsOutputDirectory, "gs://"+e.o.Bucket+"/")
	if !ok {
		return fmt.Errorf("vertexbatch: output %s is not in bucket %s", j.OutputInfo.GcsOutputDirectory, e.o.Bucket)
	}
	objs, err := e.o.Staging.List(ctx, strings.TrimSuffix(dir, "/")+"/", "", 0)
	if err != nil {
		return err
	}
	for _, o := range objs {
		base := o.Name[strings.LastIndexByte(o.Name, '/')+1:]
		if !strings.HasPrefix(base, "predictions") || !strings.HasSuffix(base, ".jsonl") {
			continue
		}
		if err := e.readOutput(ctx, o.Name, fn); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) readOutput(ctx context.Context, name string, fn func(engine.Result) error) error {
	rc, _, err := e.o.Staging.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var l outputLine
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("vertexbatch: %s: %w", name, err)
			}
			if l.Key == "" {
				continue // not ours to map back; its request counts as unanswered
			}
			res := engine.Result{Key: l.Key}
			switch {
			case l.Error != nil:
				res.Error = engine.RPCError(l.Error.Code, l.Error.Status, l.Error.Message)
			case l.Status != "" || len(l.Response) == 0 || string(l.Response) == "null":
				res.Error = statusError(l.Status)
			default:
				res.Response = l.Response
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
