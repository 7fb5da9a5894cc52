// Package gcf runs the gateway on Google Cloud Functions (gen2) through functions-framework-go,
// holding no gateway logic: an HTTP function hands the framework's own ResponseWriter to the
// gateway handler (so streaming works as on any net/http server; the handler recovers its own
// panics), and CloudEvent functions hand Pub/Sub messages and Cloud Storage uploads to the batch
// runner, answering its batch.Redeliver with an error (500: Eventarc and Pub/Sub redeliver).
// Dependencies are built lazily, on the first call; see Functions.
package gcf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/openai"
)

// The names the functions are registered under: the deploy's entry point (--entry-point, or
// build_config.entry_point in Terraform) and FUNCTION_TARGET.
const (
	GatewayName    = "Gateway"
	PubSubJobName  = "PubSubJob"
	StorageJobName = "StorageJob"
)

// The CloudEvent types the job functions accept.
const (
	PubSubType  = "google.cloud.pubsub.topic.v1.messagePublished"
	StorageType = "google.cloud.storage.object.v1.finalized"
)

// Deps is what the functions serve with: the gateway handler (it routes every path itself),
// the batch runner (it refuses jobs when they are not configured), and the logger for events
// dropped as unreadable (nil means slog.Default()).
type Deps struct {
	Handler http.Handler
	Jobs    batch.Jobs
	Logger  *slog.Logger
	// Refresh, when set, is the scheduled refresh of running batches (the gateway's
	// RefreshBatches), run for a Pub/Sub message with the refresh marker (refresh.go).
	Refresh func(context.Context) (int, error)
}

// retryInitAfter is how long a failed build is reported before it is tried again.
const retryInitAfter = 10 * time.Second

// Functions holds the three functions and builds their Deps once per instance, on first use.
//
// Building lazily, not in init(), keeps importing the package free of side effects (tests, the
// buildpack's compile step, `go vet`) and keeps a failure from crash-looping the instance, where
// the only trace would be Cloud Run's generic 503. Instead the failure is logged as one line,
// every request gets a 500 error body, and every event an error (so it is redelivered, not
// lost). A failed build is retried at most every 10 s, so a passing outage (Secret Manager,
// metadata server) heals without a redeploy, while a bad setting does not rebuild per request.
type Functions struct {
	build func(context.Context) (*Deps, error)
	now   func() time.Time
	logw  io.Writer // where the init failure line goes

	ready    atomic.Pointer[Deps]
	mu       sync.Mutex
	err      error
	failedAt time.Time
}

// New returns Functions whose Deps come from build, called with context.Background() on first
// use.
func New(build func(context.Context) (*Deps, error)) *Functions {
	return &Functions{build: build, now: time.Now, logw: os.Stderr}
}

// Register registers Gateway, PubSubJob and StorageJob with functions-framework. Call it once,
// from an init function: a second registration of a name is fatal in the framework.
func (f *Functions) Register() {
	functions.HTTP(GatewayName, f.Gateway)
	functions.CloudEvent(PubSubJobName, f.PubSubJob)
	functions.CloudEvent(StorageJobName, f.StorageJob)
}

// errInit wraps a failed build. A request gets errInitBody instead: the cause is in the logs.
var errInit = errors.New("gateway failed to start")

var errInitBody = &openai.Error{Status: http.StatusInternalServerError, Type: "api_error", Code: openai.CodeAPIError,
	Message: "the gateway failed to start; see the function's logs"}

func (f *Functions) deps(ctx context.Context) (*Deps, error) {
	if d := f.ready.Load(); d != nil {
		return d, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.ready.Load(); d != nil {
		return d, nil
	}
	if f.err != nil && f.now().Sub(f.failedAt) < retryInitAfter {
		return nil, f.err
	}
	d, err := f.build(ctx)
	if err == nil && (d == nil || d.Handler == nil || d.Jobs == nil) {
		err = errors.New("build returned no handler or no jobs")
	}
	if err != nil {
		f.err, f.failedAt = fmt.Errorf("%w: %w", errInit, err), f.now()
		// One line, as Cloud Logging reads it: a JSON entry with its severity.
		line, _ := json.Marshal(map[string]string{"severity": "ERROR", "message": "gateway: init failed: " + err.Error()})
		fmt.Fprintf(f.logw, "%s\n", line)
		return nil, f.err
	}
	dd := *d
	if dd.Logger == nil {
		dd.Logger = slog.Default()
	}
	f.ready.Store(&dd)
	return &dd, nil
}

// Gateway is the HTTP function. functions-framework passes its own ResponseWriter through, so
// the handler's flushes reach the client.
func (f *Functions) Gateway(w http.ResponseWriter, r *http.Request) {
	d, err := f.deps(context.Background())
	if err != nil {
		gateway.WriteError(w, r, errInitBody)
		return
	}
	d.Handler.ServeHTTP(w, r)
}
