// Package engine is the seam between the Batches API and the services that run a batch:
// Vertex AI batch prediction (vertexbatch), Gemini API Batch Mode (geminibatch) and the local
// engine (localbatch) that runs a batch in-process, on the emulator under `make run`.
//
// The gateway validates and translates every line before a job is submitted, so an engine only
// ever sees Gemini requests: the job's input is a store object of JSON lines
// {"key": "<line key>", "request": {GenerateContentRequest}} — Vertex AI's batch input line,
// with our own key beside the request. Engines answer per key, in any order (neither Vertex
// nor Batch Mode keeps answer order), and the gateway maps answers back to lines by key.
package engine

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/geminigateway/gateway/shared/gemini"
)

// Job is a batch to submit.
type Job struct {
	ID    string // the gateway's batch id, for display names
	Model string // the Gemini model id every request is for
	// Input is the store object holding the requests, one {"key","request"} line each.
	Input string
	// Work is a store prefix (ending in "/") that belongs to this job, for the engine's files.
	Work string
	// Count is the number of requests in Input.
	Count int
	// Embed marks an embeddings job: each line's request is a JSON array of embedding call
	// bodies (the model's embedding method, as POST /v1/embeddings calls it), and each answer a
	// JSON array of the calls' answers, in call order. Only an engine that implements Embedder
	// and says so runs one.
	Embed bool `json:"embed,omitempty"`
}

// Embedder is implemented by an engine that can run embeddings jobs.
type Embedder interface {
	Embeds() bool
}

// Cleaner is implemented by an engine that keeps objects of its own for a job after the job
// ended (a staged copy of the input, the engine's output files). The gateway calls Cleanup once
// the batch's final record is stored, when no read of the answers can come any more; a
// failure is left to the bucket's lifecycle expiry.
type Cleaner interface {
	Cleanup(ctx context.Context, ref string) error
}

// InputLine is one line of a job's input.
type InputLine struct {
	Key     string          `json:"key"`
	Request json.RawMessage `json:"request"`
}

// State is where a job is.
type State string

// The job states every engine maps its own onto.
const (
	Running   State = "running" // queued, pending or running
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	Expired   State = "expired"
)

// Done reports whether the job will not change any more.
func (s State) Done() bool { return s != Running }

// Status is a job's state and, for a failed job, why.
type Status struct {
	State   State
	Message string // why the job failed, from the engine
}

// Result is the answer to one request: the GenerateContentResponse, or the error Gemini gave
// for that request.
type Result struct {
	Key      string
	Response json.RawMessage
	Error    *gemini.APIError
}

// Engine runs batch jobs.
type Engine interface {
	// Name names the engine in the batch record (vertex, gemini, local).
	Name() string
	// Submit starts job and returns the engine's reference to it.
	Submit(ctx context.Context, job Job) (ref string, err error)
	// Poll returns the job's state.
	Poll(ctx context.Context, ref string) (Status, error)
	// Cancel asks the engine to stop the job; results finished so far stay readable.
	Cancel(ctx context.Context, ref string) error
	// Results calls fn with each answer of a finished job, in any order.
	Results(ctx context.Context, ref string, fn func(Result) error) error
}

// rpcCodes are the google.rpc.Code names by number, and the HTTP status each maps to:
// https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto
var rpcCodes = []struct {
	name string
	http int
}{
	{"OK", http.StatusOK},
	{"CANCELLED", 499},
	{"UNKNOWN", http.StatusInternalServerError},
	{"INVALID_ARGUMENT", http.StatusBadRequest},
	{"DEADLINE_EXCEEDED", http.StatusGatewayTimeout},
	{"NOT_FOUND", http.StatusNotFound},
	{"ALREADY_EXISTS", http.StatusConflict},
	{"PERMISSION_DENIED", http.StatusForbidden},
	{"RESOURCE_EXHAUSTED", http.StatusTooManyRequests},
	{"FAILED_PRECONDITION", http.StatusBadRequest},
	{"ABORTED", http.StatusConflict},
	{"OUT_OF_RANGE", http.StatusBadRequest},
	{"UNIMPLEMENTED", http.StatusNotImplemented},
	{"INTERNAL", http.StatusInternalServerError},
	{"UNAVAILABLE", http.StatusServiceUnavailable},
	{"DATA_LOSS", http.StatusInternalServerError},
	{"UNAUTHENTICATED", http.StatusUnauthorized},
}

// RPCError is the error of one request given as a google.rpc.Status: the numeric code, or the
// code's name when code is 0 (Vertex writes names, Batch Mode numbers).
func RPCError(code int, name, message string) *gemini.APIError {
	if code == 0 {
		for i, c := range rpcCodes {
			if c.name == name {
				code = i
				break
			}
		}
	}
	e := &gemini.APIError{Code: code, Status: name, Message: message, HTTPStatus: http.StatusInternalServerError}
	if code > 0 && code < len(rpcCodes) {
		e.Status, e.HTTPStatus = rpcCodes[code].name, rpcCodes[code].http
	}
	if e.Status == "" {
		e.Status = "UNKNOWN"
	}
	return e
}
