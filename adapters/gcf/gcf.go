// Package gcf runs the gateway on Google Cloud Functions (gen2) through functions-framework-go:
// an HTTP function serving the gateway handler, and CloudEvent functions running batch jobs from
// Pub/Sub messages and Cloud Storage uploads.
//
// It holds no gateway logic. The HTTP function hands the framework's own ResponseWriter to the
// handler, so streaming works as on any net/http server. The event functions decode the event
// data, run the job, and sort job errors into "retry" (a returned error: the framework answers
// 500 and Eventarc/Pub/Sub redeliver) and "done" (nil: the runner has recorded the failure).
//
// Dependencies are built lazily, on the first call, by the function given to New; see Functions.
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
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
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

// Jobs runs batch jobs; *batch.Runner behind a small wrapper that opens the GCS bucket satisfies
// it. RunMessage runs one job line (a Pub/Sub message's data); RunFile runs the JSONL file
// bucket/name.
type Jobs interface {
	RunMessage(ctx context.Context, msg []byte) error
	RunFile(ctx context.Context, bucket, name string) error
}

// Deps is what the functions serve with.
type Deps struct {
	// Handler serves HTTP requests (the gateway); it routes every path itself.
	Handler http.Handler
	// Jobs runs Pub/Sub and Storage jobs; nil makes those functions fail (and be retried).
	Jobs Jobs
	// Transient reports whether a job error is worth a retry; nil means none is.
	Transient func(error) bool
	// Logger gets one line per failed job and per recovered panic; nil means slog.Default().
	Logger *slog.Logger
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

// Init builds the Deps now if they are not built yet. A local server calls it before serving,
// so that a bad setting stops it at once and the startup messages come first.
func (f *Functions) Init(ctx context.Context) error {
	_, err := f.deps(ctx)
	return err
}

// errInit wraps a failed build.
var errInit = errors.New("gateway failed to start")

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
	if err == nil && (d == nil || d.Handler == nil) {
		err = errors.New("build returned no handler")
	}
	if err != nil {
		f.err, f.failedAt = fmt.Errorf("%w: %w", errInit, err), f.now()
		// One line, as Cloud Logging reads it: a JSON entry with its severity.
		line, _ := json.Marshal(map[string]string{"severity": "ERROR", "message": "gateway: init failed: " + err.Error()})
		fmt.Fprintf(f.logw, "%s\n", line)
		return nil, f.err
	}
	dd := *d
	if dd.Transient == nil {
		dd.Transient = func(error) bool { return false }
	}
	if dd.Logger == nil {
		dd.Logger = slog.Default()
	}
	f.ready.Store(&dd)
	return &dd, nil
}

// The error bodies the adapter writes itself, in the gateway's format.
const (
	internalErrorBody = `{"success":false,"error":{"message":"internal error","type":"api_error","code":"api_error","param":null}}`
	initErrorBody     = `{"success":false,"error":{"message":"the gateway failed to start; see the function's logs","type":"api_error","code":"api_error","param":null}}`
)

func writeError(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(body))
}

// Gateway is the HTTP function. functions-framework passes its own ResponseWriter through, so
// the handler's flushes reach the client. A panic before any output is our 500 error body; a
// panic mid-stream closes the connection so the client sees a broken stream, not a clean end.
func (f *Functions) Gateway(w http.ResponseWriter, r *http.Request) {
	d, err := f.deps(context.Background())
	if err != nil {
		writeError(w, initErrorBody)
		return
	}
	tw := &trackWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v != http.ErrAbortHandler {
			d.Logger.ErrorContext(r.Context(), "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		if !tw.wrote.Load() {
			writeError(w, internalErrorBody)
			return
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	}()
	d.Handler.ServeHTTP(tw, r)
}

// trackWriter notes whether the response has started. It passes Flush through and unwraps for
// http.ResponseController.
// wrote is atomic because a handler may write from another goroutine (the SSE keep-alive).
type trackWriter struct {
	http.ResponseWriter
	wrote atomic.Bool
}

func (w *trackWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wrote.Store(true)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackWriter) Write(p []byte) (int, error) {
	w.wrote.Store(true)
	return w.ResponseWriter.Write(p)
}

func (w *trackWriter) Flush() {
	w.wrote.Store(true)
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

func (w *trackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
