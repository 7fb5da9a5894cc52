// Package gcf is the package the Cloud Functions build imports (through the generated root shim
// that scripts/ stages). Its init registers three functions with functions-framework:
//
//	Gateway     HTTP: the gateway handler, every path (it routes by itself)
//	PubSubJob   CloudEvent google.cloud.pubsub.topic.v1.messagePublished: one batch job line
//	StorageJob  CloudEvent google.cloud.storage.object.v1.finalized: a JSONL batch file
//
// The deploy picks one with its entry point. The gateway is built from the environment
// (app.New with os.Getenv) once per instance, on the first call — see adapters/gcf.Functions
// for why not in init — or up front by Init.
package gcf

import (
	"context"
	"fmt"
	"os"

	"cloud.google.com/go/storage"

	adapter "github.com/geminigateway/gateway/adapters/gcf"
	"github.com/geminigateway/gateway/adapters/gcsstore"
	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/batch"
)

var fns = adapter.New(build)

func init() { fns.Register() }

// Init builds the gateway now instead of on the first call; functions/local calls it so that a
// local run fails fast on a bad setting and prints its startup messages first.
func Init(ctx context.Context) error { return fns.Init(ctx) }

// build assembles the gateway, and the batch runner when GATEWAY_OUTPUT_BUCKET is set (without
// it the job functions refuse events, which are then redelivered).
func build(ctx context.Context) (*adapter.Deps, error) {
	a, err := app.New(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	d := &adapter.Deps{Handler: a.Handler, Logger: a.Logger, Transient: batch.Transient}
	cfg, err := batch.ConfigFromEnv(os.Getenv)
	if err != nil {
		a.Close()
		return nil, err
	}
	if cfg.OutputBucket != "" {
		client, err := storage.NewClient(ctx)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("creating the Cloud Storage client: %w", err)
		}
		d.Jobs = jobs{batch.NewRunner(a.Handler, gcsstore.New(client, cfg.OutputBucket), cfg, a.Logger), client}
	}
	return d, nil
}

// jobs runs files from the bucket named by each event.
type jobs struct {
	runner *batch.Runner
	client *storage.Client
}

func (j jobs) RunMessage(ctx context.Context, msg []byte) error { return j.runner.RunMessage(ctx, msg) }

func (j jobs) RunFile(ctx context.Context, bucket, name string) error {
	return j.runner.RunFile(ctx, gcsstore.New(j.client, bucket), name)
}
