// Package batch runs OpenAI Batch jobs (JSONL lines of Chat Completions requests) through the
// gateway in-process. Jobs arrive as cloud events: a *.jsonl object finalized in a bucket
// (Cloud Storage, S3), or one line per queue message (Pub/Sub, SQS).
//
// Delivery is at least once, and two deliveries of one event may run at the same time, so
// everything here is idempotent and every write is create-only (store.Store.Create): a line is
// claimed before it is called and its result is written next to the claim, so no two
// deliveries bill the same line; ids derive from the input, never from the clock or a random
// source; the final files are written once. The input is streamed and results go to the store
// as they finish, so memory is bounded by the concurrency, not the file size. See RunFile and
// RunMessage for where each object lands. A bucket file above the online threshold goes to a
// batch engine instead (FileEngine), which writes the same files later.
//
// The line format is OpenAI's: https://platform.openai.com/docs/guides/batch and
// https://platform.openai.com/docs/api-reference/batch/request-output.
package batch

import (
	"context"
	"encoding/json"
	"path"
	"time"

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

// Embedder runs one embeddings request in-process, as Completer does a chat completion. A
// Completer that is also an Embedder runs lines whose url is /v1/embeddings; the others answer
// those lines 404. The gateway's *gateway.Handler implements it.
type Embedder interface {
	Embed(ctx context.Context, body []byte) Completion
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
	// MaxLines is the most request lines (non-blank lines) one input file may hold; a larger
	// file is refused whole, before any call, with one error line in its errors file. Below 1
	// means DefaultMaxLines.
	MaxLines int
	// ClaimLease is how long a line's claim holds off other deliveries when it has no result
	// yet; an older claim is taken to belong to a worker that died, and its line runs again.
	// It must be longer than the longest event invocation (15 minutes on Lambda, 9 on Cloud
	// Functions gen2), so that no line is run twice while its first run may still be going.
	// Zero means DefaultClaimLease.
	ClaimLease time.Duration
	// BucketEngine says which engine runs a bucket file (GATEWAY_BATCH_BUCKET_ENGINE): BucketAuto
	// (the default: online up to OnlineMaxLines request lines, the batch engine above), BucketOnline
	// or BucketBatch. Queue messages always run online.
	BucketEngine string
	// OnlineMaxLines is the most request lines a bucket file may hold to run online when
	// BucketEngine is BucketAuto (GATEWAY_BATCH_ONLINE_MAX_LINES); a larger file goes to the batch
	// engine. Below 1 means DefaultOnlineMaxLines.
	OnlineMaxLines int
}

// The values of Config.BucketEngine.
const (
	BucketAuto   = "auto"   // by size: online up to OnlineMaxLines, the batch engine above
	BucketOnline = "online" // every file runs online, line by line, in the event's invocation
	BucketBatch  = "batch"  // every file is submitted to the batch engine
)

// The defaults shared/config uses for unset settings, and the largest Concurrency.
const (
	DefaultConcurrency  = 8
	DefaultInputPrefix  = "input/"
	DefaultOutputPrefix = "output/"
	MaxConcurrency      = 256
	// DefaultMaxLines is OpenAI's own limit of requests per batch input file.
	DefaultMaxLines = 50_000
	// MaxMaxLines is the largest MaxLines shared/config accepts.
	MaxMaxLines = 1_000_000
	// DefaultClaimLease outlasts the longest event invocation (Lambda's 15 minutes) with a
	// margin for the final writes.
	DefaultClaimLease = 16 * time.Minute
	// DefaultOnlineMaxLines keeps a file online while it fits one event invocation with room:
	// 500 lines at 8 at once and a few seconds a line take a few minutes, within Cloud
	// Functions' 9 and Lambda's 15.
	DefaultOnlineMaxLines = 500
)
