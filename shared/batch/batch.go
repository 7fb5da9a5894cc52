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
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Completer runs one chat completion in-process. body is a Chat Completions request JSON; it
// returns the HTTP status and the response JSON (the gateway's error body
// {"success":false,"error":{message,type,code,param},"trace_id"} on errors). The gateway's
// *gateway.Handler implements it.
type Completer interface {
	Complete(ctx context.Context, body []byte) (status int, resp []byte)
}

// Embedder runs one embeddings request in-process, as Completer does a chat completion. A
// Completer that is also an Embedder runs lines whose url is /v1/embeddings; the others answer
// those lines 404. The gateway's *gateway.Handler implements it.
type Embedder interface {
	Embed(ctx context.Context, body []byte) (status int, resp []byte)
}

// Store is an object store: one Cloud Storage or S3 bucket.
type Store interface {
	// Get returns the object's content; the error wraps ErrNotExist when there is no such object.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put writes the object whole, replacing any object of the same name.
	Put(ctx context.Context, name string, data []byte) error
}

// ErrNotExist is wrapped by the error a Store returns for a missing object.
var ErrNotExist = errors.New("batch: object does not exist")

// Config is the batch part of the gateway's configuration.
type Config struct {
	// Concurrency is how many lines of one file run at once; below 1 means 1.
	Concurrency int
	// InputPrefix is where input *.jsonl objects are read from; other objects are ignored.
	InputPrefix string
	// OutputPrefix is where results are written. Objects under it are never taken as input,
	// so the output may share the input's bucket.
	OutputPrefix string
	// OutputBucket names the bucket results go to; the adapters open it, the Runner only
	// sees the Store.
	OutputBucket string
}

// Defaults used by ConfigFromEnv for unset variables.
const (
	DefaultConcurrency  = 8
	DefaultInputPrefix  = "input/"
	DefaultOutputPrefix = "output/"
	maxConcurrency      = 256
)

// ConfigFromEnv reads GATEWAY_BATCH_CONCURRENCY (default 8), GATEWAY_INPUT_PREFIX (default
// "input/"), GATEWAY_OUTPUT_PREFIX (default "output/") and GATEWAY_OUTPUT_BUCKET through getenv
// (os.Getenv in a main, a map in tests).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Concurrency:  DefaultConcurrency,
		InputPrefix:  DefaultInputPrefix,
		OutputPrefix: DefaultOutputPrefix,
		OutputBucket: strings.TrimSpace(getenv("GATEWAY_OUTPUT_BUCKET")),
	}
	if v := strings.TrimSpace(getenv("GATEWAY_BATCH_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConcurrency {
			return Config{}, fmt.Errorf("GATEWAY_BATCH_CONCURRENCY=%q: want an integer from 1 to %d", v, maxConcurrency)
		}
		c.Concurrency = n
	}
	if v := getenv("GATEWAY_INPUT_PREFIX"); v != "" {
		c.InputPrefix = v
	}
	if v := getenv("GATEWAY_OUTPUT_PREFIX"); v != "" {
		c.OutputPrefix = v
	}
	// RunFile never takes an object under OutputPrefix as input (so results cannot trigger
	// another run); an input prefix under the output prefix would ignore every input.
	if strings.HasPrefix(c.InputPrefix, c.OutputPrefix) {
		return Config{}, fmt.Errorf("GATEWAY_INPUT_PREFIX=%q is under GATEWAY_OUTPUT_PREFIX=%q: inputs would be ignored", c.InputPrefix, c.OutputPrefix)
	}
	return c, nil
}
