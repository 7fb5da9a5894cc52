// Package batch runs OpenAI Batch jobs (JSONL lines of Chat Completions requests) through the
// gateway in-process. Jobs arrive as cloud events: a *.jsonl object finalized in a bucket
// (Cloud Storage, S3), or one line per queue message (Pub/Sub, SQS).
//
// Delivery is at least once, so everything here is idempotent: ids are derived from the input,
// never from the clock or a random source; every finished line is persisted as soon as it is
// done, so a redelivered event re-runs only the lines that have no result yet; the final files
// are written whole, with the same name and the same content for the same input.
//
// The line format is OpenAI's: https://platform.openai.com/docs/guides/batch and
// https://platform.openai.com/docs/api-reference/batch/request-output.
package batch

import (
	"context"
	"encoding/json"
	"errors"
	"path"

	"github.com/geminigateway/gateway/shared/openai"
)

// Completer runs one chat completion in-process. body is a Chat Completions request JSON. The
// gateway's *gateway.Handler implements it.
type Completer interface {
	Complete(ctx context.Context, body []byte) Completion
}

// Completion is the gateway's answer to one request, typed, so that the runner reads the
// status, id and error without parsing the body again.
type Completion struct {
	// Status is the HTTP status the gateway would have answered.
	Status int
	// Body is the response JSON: the chat.completion, or the gateway's error body
	// {"success":false,"error":{message,type,code,param},"trace_id"}.
	Body json.RawMessage
	// RequestID is the chat.completion's id, or the error body's trace_id: the result line's
	// response.request_id.
	RequestID string
	// Err is the error the body holds; nil when Status is 2xx.
	Err *openai.Error
}

// Store is an object store: one Cloud Storage or S3 bucket.
type Store interface {
	// Get returns the object's content; the error wraps ErrNotExist when there is no such object.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put writes the object whole, replacing any object of the same name.
	Put(ctx context.Context, name string, data []byte) error
}

// ContentType is the media type a Store gives the object name: JSON Lines for *.jsonl, JSON
// for *.json.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".jsonl":
		return "application/jsonl"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// ErrNotExist is wrapped by the error a Store returns for a missing object.
var ErrNotExist = errors.New("batch: object does not exist")

// Config is the batch part of the gateway's configuration; shared/config reads it.
type Config struct {
	// Concurrency is how many lines of one file run at once; below 1 means 1.
	Concurrency int
	// InputPrefix is where input *.jsonl objects are read from; other objects are ignored.
	InputPrefix string
	// OutputPrefix is where results are written. Objects under it are never taken as input,
	// so the output may share the input's bucket.
	OutputPrefix string
	// OutputBucket names the bucket results go to. Without it the runner refuses every job
	// (batch jobs are not configured) and the platform keeps the event.
	OutputBucket string
}

// The defaults shared/config uses for unset settings, and the largest Concurrency.
const (
	DefaultConcurrency  = 8
	DefaultInputPrefix  = "input/"
	DefaultOutputPrefix = "output/"
	MaxConcurrency      = 256
)
