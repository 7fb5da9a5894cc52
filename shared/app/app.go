// Package app assembles the gateway from its configuration: the upstream client (Vertex, the
// Developer API or the in-process emulator), credentials, client keys, the media fetcher and
// the handler. Entry points in functions/ call config.Load and then New once at start.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/auth"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/batch/geminibatch"
	"github.com/geminigateway/gateway/shared/batch/vertexbatch"
	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/secrets"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// App is the assembled gateway.
type App struct {
	Handler *gateway.Handler
	Logger  *slog.Logger
	Config  config.Config
	// LocalKey is the key generated for a local run (cfg.Local) when none was configured; the
	// caller prints it for the developer, never through the logger.
	LocalKey string
	// Close stops background work (key refresh, the emulator).
	Close func()
	// Jobs runs the batch jobs events deliver (queue messages, bucket files); it refuses them
	// when GATEWAY_OUTPUT_BUCKET is not set or Options.Open is nil.
	Jobs *batch.Runner
	// Refresh is the scheduled refresh: the Batches API's batches and, with an output bucket,
	// the bucket jobs running on the batch engine.
	Refresh func(context.Context) (int, error)
}

// Options are what an entry point opened itself and hands to NewWith: app does not import the
// cloud adapters (shared/deps_test.go), so the deployed object store comes in from functions/.
type Options struct {
	// Store is the object store on the deployment's bucket (GATEWAY_STORE_BUCKET): Cloud
	// Storage or S3. Nil means the local folder (GATEWAY_STORE_DIR, `make run`) or none.
	Store store.Store
	// VertexBucket names the Cloud Storage bucket that Store is on, for Vertex AI batch
	// prediction on the vertex backend (gs://VertexBucket/...). Empty keeps the local engine.
	VertexBucket string
	// Open opens a bucket by name (Cloud Storage or S3): the job runner's input buckets and the
	// output bucket (GATEWAY_OUTPUT_BUCKET). Nil turns batch jobs off.
	Open func(bucket string) store.Store
	// OpenStaging opens a Cloud Storage bucket with the gateway's Google credentials, for
	// GATEWAY_VERTEX_STAGING_BUCKET when Store is not on Cloud Storage (Lambda); the func it
	// returns releases the client. Nil: the entry point cannot open one.
	OpenStaging func(ctx context.Context, creds *auth.Credentials, bucket string) (store.Store, func(), error)
}

// New builds the gateway from cfg. Errors are one line naming the setting at fault. With
// cfg.Local (`make run`) a missing client key is generated; the caller prints it (LocalKey).
func New(ctx context.Context, cfg config.Config) (*App, error) {
	return NewWith(ctx, cfg, Options{})
}

// NewWith is New with an object store (and its bucket) the entry point opened.
func NewWith(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	if cfg.Keys.Secret != "" {
		// A bare projects/P/secrets/S means its latest version.
		_, v, err := secrets.SplitName(cfg.Keys.Secret)
		if err != nil {
			return nil, fmt.Errorf("GATEWAY_KEYS_SECRET: %w", err)
		}
		cfg.Keys.Secret = v
	}
	level := slog.LevelInfo
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	logger := gateway.NewLogger(os.Stderr, level)
	a := &App{Logger: logger, Config: cfg}
	var closers []func()
	a.Close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*App, error) { a.Close(); return nil, err }

	models, err := translate.NewModels(cfg.ModelAliases)
	if err != nil {
		return fail(fmt.Errorf("GATEWAY_MODEL_ALIASES: %w", err))
	}
	opts := gemini.Options{Backend: cfg.Backend, BaseURL: cfg.UpstreamURL, Project: cfg.Project, Location: cfg.Location,
		Timeout: cfg.UpstreamTimeout, Retry: gemini.RetryPolicy{MaxAttempts: cfg.RetryAttempts}}
	sec, closeSecrets, err := newClients(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, closeSecrets)
	switch cfg.Backend {
	case gemini.Vertex:
		opts.Tokens = sec.creds
	case gemini.Developer:
		key, err := secrets.Resolve(ctx, sec.accessor(), cfg.GeminiAPIKey)
		if err != nil {
			return fail(fmt.Errorf("GEMINI_API_KEY: %w", err))
		}
		opts.APIKey = key
	case gemini.Emulator:
		if opts.BaseURL == "" {
			url, stop, err := startEmulator()
			if err != nil {
				return fail(fmt.Errorf("starting the emulator: %w", err))
			}
			closers = append(closers, stop)
			opts.BaseURL = url
		}
	}
	client, err := gemini.New(opts)
	if err != nil {
		return fail(err)
	}

	var store *keys.Store
	if !cfg.AuthNone {
		store, a.LocalKey, err = loadKeys(ctx, cfg, sec, logger, &closers)
		if err != nil {
			return fail(err)
		}
	}
	st := o.Store
	if st == nil {
		if st, err = localStore(cfg.StoreDir, cfg.Local); err != nil {
			return fail(fmt.Errorf("GATEWAY_STORE_DIR: %w", err))
		}
	}
	staging, closeStaging, err := openStaging(ctx, cfg, o, sec.creds, st != nil)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, closeStaging)
	batchEngine, err := selectEngine(cfg.Backend, client, st, o.VertexBucket, staging, cfg.VertexStagingBucket)
	if err != nil {
		return fail(err)
	}
	fetcher := media.NewFetcher(media.Options{MaxBytes: cfg.MediaMaxBytes, Timeout: cfg.MediaTimeout, AllowPrivate: cfg.AllowPrivateFetch,
		MaxURLs: cfg.MediaMaxURLs, MaxTotalBytes: cfg.MediaMaxTotalBytes, Concurrency: cfg.MediaFetchConcurrency})
	a.Handler = gateway.New(gateway.Options{
		Client: client, Models: models, Keys: store, Fetcher: fetcher, FetchHTTPMedia: cfg.FetchHTTPMedia,
		IncludeThoughts: cfg.IncludeThoughts, MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: cfg.CORSOrigins,
		MaxMessages: cfg.MaxMessages, MaxParts: cfg.MaxParts,
		KeepAlive: cfg.KeepAlive, Logger: logger, TraceProject: cfg.Project, EmbedConcurrency: cfg.EmbedConcurrency,
		EMFNamespace: cfg.MetricsNamespace, Store: st, BatchEngine: batchEngine, SealKey: []byte(cfg.ResponsesKey),
	})
	if err := a.jobs(cfg.Batch, o.Open, st, batchEngine != nil || cfg.Backend == gemini.Emulator); err != nil {
		return fail(err)
	}
	return a, nil
}

// jobs builds the job runner and the scheduled refresh. With an output bucket and an object
// store, bucket files above the online threshold (or all, GATEWAY_BATCH_BUCKET_ENGINE=batch)
// run on the batch engine as bucket jobs, which the refresh finalizes. batchByDefault says
// whether auto may choose the batch engine: a cloud engine (Vertex batch prediction, Batch
// Mode), or the local engine on the emulator (`make run`); the local engine in front of a real
// backend (vertex on AWS) runs inside one function instance, which the platform freezes
// between invocations, so there auto keeps files online and only batch forces it.
func (a *App) jobs(cfg batch.Config, open func(string) store.Store, st store.Store, batchByDefault bool) error {
	if cfg.OutputBucket == "" {
		open = nil
	}
	a.Jobs = batch.NewRunner(a.Handler, open, cfg, a.Logger)
	a.Refresh = a.Handler.RefreshBatches
	switch {
	case open != nil && st != nil:
		bj := gateway.NewBucketJobs(a.Handler, open(cfg.OutputBucket))
		if batchByDefault || cfg.BucketEngine == batch.BucketBatch {
			a.Jobs.WithFileEngine(bj)
		}
		a.Refresh = bj.Refresh // jobs submitted earlier end whatever the setting is now
	case open != nil && cfg.BucketEngine == batch.BucketBatch:
		return errors.New("GATEWAY_BATCH_BUCKET_ENGINE=batch needs an object store for the batch engine's files: set GATEWAY_STORE_BUCKET")
	}
	return nil
}

// openStaging opens GATEWAY_VERTEX_STAGING_BUCKET when Vertex batch prediction needs it: on the
// vertex backend with a store that is not on Cloud Storage. Otherwise it returns no store.
func openStaging(ctx context.Context, cfg config.Config, o Options, creds *auth.Credentials, haveStore bool) (store.Store, func(), error) {
	if cfg.Backend != gemini.Vertex || o.VertexBucket != "" || cfg.VertexStagingBucket == "" || !haveStore {
		return nil, func() {}, nil
	}
	if o.OpenStaging == nil {
		return nil, nil, errors.New("GATEWAY_VERTEX_STAGING_BUCKET: this entry point does not open Cloud Storage buckets (it is for Lambda)")
	}
	st, closeStaging, err := o.OpenStaging(ctx, creds, cfg.VertexStagingBucket)
	if err != nil {
		return nil, nil, fmt.Errorf("GATEWAY_VERTEX_STAGING_BUCKET: %w", err)
	}
	return st, closeStaging, nil
}

// selectEngine picks the batch engine for the backend: Gemini Batch Mode on the Developer API,
// Vertex AI batch prediction on the vertex backend when the store is on a Cloud Storage bucket
// (vertexBucket) or a Cloud Storage staging bucket is open (staging, named stagingBucket: on
// AWS), else nil (the gateway's local engine: the emulator, and Vertex on AWS without staging).
func selectEngine(backend gemini.Backend, client *gemini.Client, st store.Store, vertexBucket string,
	staging store.Store, stagingBucket string) (engine.Engine, error) {
	switch {
	case st == nil:
		return nil, nil
	case backend == gemini.Developer:
		e, err := geminibatch.New(client, st, 0)
		if err != nil {
			return nil, err
		}
		return e, nil
	case backend == gemini.Vertex && vertexBucket != "":
		e, err := vertexbatch.New(vertexbatch.Options{Client: client, Store: st, Bucket: vertexBucket})
		if err != nil {
			return nil, fmt.Errorf("GATEWAY_STORE_BUCKET: %w", err)
		}
		return e, nil
	case backend == gemini.Vertex && staging != nil:
		e, err := vertexbatch.New(vertexbatch.Options{Client: client, Store: st, Staging: staging, Bucket: stagingBucket})
		if err != nil {
			return nil, fmt.Errorf("GATEWAY_VERTEX_STAGING_BUCKET: %w", err)
		}
		return e, nil
	}
	return nil, nil
}

// localStore is the object store on a local folder: dir when set, else under `make run` a
// folder in the OS cache (or temp) folder, else none (the cloud entry points bring a bucket).
func localStore(dir string, local bool) (store.Store, error) {
	if dir == "" {
		if !local {
			return nil, nil
		}
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "gemini-gateway", "store")
	}
	return store.NewDir(dir)
}

// startEmulator serves the emulator on a loopback port of this process.
func startEmulator() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: emulator.Handler{}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// newLocalKey returns a random key for a local run.
func newLocalKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "gk-local-" + base64.RawURLEncoding.EncodeToString(b[:])
}

var errNoKeys = errors.New("no client keys configured: set GATEWAY_KEYS_SECRET, GATEWAY_KEYS_FILE or GATEWAY_API_KEYS, or GATEWAY_AUTH=none to rely on the platform's IAM")
