// Package gcf is the package the Cloud Functions build imports (through the generated root shim
// that scripts/ stages). Its init registers three functions with functions-framework:
//
//	Gateway     HTTP: the gateway handler, every path (it routes by itself)
//	PubSubJob   CloudEvent google.cloud.pubsub.topic.v1.messagePublished: one batch job line
//	StorageJob  CloudEvent google.cloud.storage.object.v1.finalized: a JSONL batch file
//
// The deploy picks one with its entry point. The gateway is built from the settings
// (config.FromEnv) once per instance, on the first call — see
// adapters/gcf.Functions for why not in init.
package gcf

import (
	"context"
	"fmt"

	"cloud.google.com/go/storage"

	adapter "github.com/geminigateway/gateway/adapters/gcf"
	"github.com/geminigateway/gateway/adapters/gcsstore"
	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/store"
)

func init() { adapter.New(build).Register() }

// build assembles the gateway and the batch runner, which opens Cloud Storage buckets when
// GATEWAY_OUTPUT_BUCKET is set (without it the runner refuses jobs, which are then redelivered),
// and the object store when GATEWAY_STORE_BUCKET is set.
func build(ctx context.Context) (*adapter.Deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	var client *storage.Client
	if cfg.Batch.OutputBucket != "" || cfg.StoreBucket != "" {
		if client, err = storage.NewClient(ctx); err != nil {
			return nil, fmt.Errorf("creating the Cloud Storage client: %w", err)
		}
	}
	return assemble(ctx, cfg, client)
}

// assemble builds the Deps on client (nil when no bucket is set): the object store on
// GATEWAY_STORE_BUCKET, which is also Vertex batch prediction's bucket, and the job runner's
// buckets. Tests call it with a client on a Cloud Storage emulator.
func assemble(ctx context.Context, cfg config.Config, client *storage.Client) (*adapter.Deps, error) {
	var o app.Options
	if cfg.StoreBucket != "" {
		o = app.Options{Store: gcsstore.New(client, cfg.StoreBucket), VertexBucket: cfg.StoreBucket}
	}
	if cfg.Batch.OutputBucket != "" {
		o.Open = func(bucket string) store.Store { return gcsstore.New(client, bucket) }
	}
	a, err := app.NewWith(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	return &adapter.Deps{Handler: a.Handler, Jobs: a.Jobs, Logger: a.Logger, Refresh: a.Refresh}, nil
}
