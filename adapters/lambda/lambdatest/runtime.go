// Package lambdatest runs a Lambda bootstrap binary against a fake Lambda Runtime API
// (2018-06-01) on loopback, for tests: the real aws-lambda-go runtime loop and its real wire
// format, streamed responses included, across a real process boundary.
//
// The fake hands out invocations on GET /runtime/invocation/next (with the
// Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn and -Trace-Id headers),
// reads POST …/{id}/response as it arrives (chunk by chunk, then its trailers), and records
// POST …/{id}/error and POST /runtime/init/error. It accepts the registration of aws-lambda-go's
// internal SIGTERM extension (Extensions API 2020-01-01). It also serves GET /gate/{n}, which
// blocks until the test calls Release, so a handler can wait for the test between stream events.
package lambdatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wait is how long the helpers wait for anything before failing the test.
const Wait = 20 * time.Second

// Build builds pkg as Lambda runs it (-tags lambda.norpc, CGO_ENABLED=0, GOOS=linux, for the
// host's architecture so it can run here) into dir/bootstrap and returns its path.
func Build(t testing.TB, pkg, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Invocation is one event handed out on /next.
type Invocation struct {
	ID       string
	Event    []byte
	Deadline time.Time // sent as Lambda-Runtime-Deadline-Ms
}

// Response is one POST to /response, read as it arrives.
type Response struct {
	ID          string
	ContentType string
	chunks      chan []byte // each read of the body; closed at its end
	Trailer     http.Header // valid once Next has reported the end
}

// Posted is one POST to /error or /init/error.
type Posted struct {
	ID        string
	ErrorType string // the Lambda-Runtime-Function-Error-Type header
	Body      []byte
}

// Runtime is the fake Runtime API.
type Runtime struct {
	srv        *httptest.Server
	next       chan Invocation
	nexts      chan struct{}
	responses  chan *Response
	errors     chan Posted
	initErrors chan Posted
	gates      chan int
	release    chan struct{}
	done       chan struct{}
}

// NewRuntime starts the fake on loopback. Start stops it when the test ends.
func NewRuntime(t testing.TB) *Runtime {
	f := &Runtime{
		next:       make(chan Invocation, 8),
		nexts:      make(chan struct{}, 64),
		responses:  make(chan *Response, 8),
		errors:     make(chan Posted, 8),
		initErrors: make(chan Posted, 8),
		gates:      make(chan int, 8),
		release:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		f.nexts <- struct{}{}
		select {
		case inv := <-f.next:
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-west-2:123456789012:function:gateway")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=1;Sampled=0")
			_, _ = w.Write(inv.Event)
		case <-r.Context().Done(): // the process went away
		case <-f.done:
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		resp := &Response{ID: r.PathValue("id"), ContentType: r.Header.Get("Content-Type"), chunks: make(chan []byte, 256)}
		f.responses <- resp
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				resp.chunks <- bytes.Clone(buf[:n])
			}
			if err != nil {
				break
			}
		}
		resp.Trailer = r.Trailer.Clone()
		close(resp.chunks)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	})
	post := func(ch chan Posted) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			ch <- Posted{ID: r.PathValue("id"), ErrorType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Body: b}
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"status":"OK"}`)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", post(f.errors))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", post(f.initErrors))
	// aws-lambda-go registers an internal extension when SIGTERM handling is on; it waits on
	// event/next for the whole life of the process.
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Extension-Identifier", "ext-"+r.Header.Get("Lambda-Extension-Name"))
		_, _ = io.WriteString(w, `{}`)
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	})
	mux.HandleFunc("GET /gate/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		f.gates <- n
		select {
		case <-f.release:
		case <-r.Context().Done():
		case <-f.done:
		}
	})
	f.srv = httptest.NewServer(mux)
	return f
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (f *Runtime) Addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// GateURL is the base URL of the gate endpoint: GET GateURL/n blocks until Release.
func (f *Runtime) GateURL() string { return f.srv.URL + "/gate" }

// Process is a running bootstrap.
type Process struct {
	Cmd    *exec.Cmd
	Exited chan struct{} // closed once it has exited; Cmd.ProcessState may be read then
	out    *syncBuffer
}

// Output is what the process has written to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// Start runs bin with AWS_LAMBDA_RUNTIME_API pointing at the fake, GATE_URL, a Lambda-like
// environment and env. When the test ends it kills the process, then stops the fake, and logs
// the process's output if the test failed.
func (f *Runtime) Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + f.Addr(),
		"GATE_URL=" + f.GateURL(),
		"AWS_LAMBDA_FUNCTION_NAME=gateway",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_REGION=us-west-2",
	}, env...)
	p := &Process{Cmd: cmd, Exited: make(chan struct{}), out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.Exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.Exited
		close(f.done)
		f.srv.Close()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", p.Output())
		}
	})
	return p
}

// Invoke queues event for the next /next call, with a deadline 5 minutes ahead.
func (f *Runtime) Invoke(id string, event []byte) Invocation {
	inv := Invocation{ID: id, Event: event, Deadline: time.Now().Add(5 * time.Minute).Truncate(time.Millisecond)}
	f.next <- inv
	return inv
}

// Response waits for the next POST to /response.
func (f *Runtime) Response(t testing.TB) *Response {
	t.Helper()
	return receive(t, f.responses, "POST /response")
}

// Error waits for the next POST to /error.
func (f *Runtime) Error(t testing.TB) Posted {
	t.Helper()
	return receive(t, f.errors, "POST /error")
}

// InitError waits for the next POST to /runtime/init/error.
func (f *Runtime) InitError(t testing.TB) Posted {
	t.Helper()
	return receive(t, f.initErrors, "POST /runtime/init/error")
}

// NextCalls is how many times /next has been called so far.
func (f *Runtime) NextCalls() int { return len(f.nexts) }

// Gate waits until a handler waits at a gate and returns its number.
func (f *Runtime) Gate(t testing.TB) int {
	t.Helper()
	return receive(t, f.gates, "a handler at a gate")
}

// Release lets the handler waiting at a gate go on.
func (f *Runtime) Release() { f.release <- struct{}{} }

// Next returns the next piece of the body as it arrived, or ok=false at its end.
func (r *Response) Next(t testing.TB) (chunk []byte, ok bool) {
	t.Helper()
	select {
	case c, ok := <-r.chunks:
		return c, ok
	case <-time.After(Wait):
		t.Fatalf("timed out waiting for more of response %s (is it buffered?)", r.ID)
		return nil, false
	}
}

// ReadAll reads the rest of the body.
func (r *Response) ReadAll(t testing.TB) []byte {
	t.Helper()
	var b []byte
	for {
		c, ok := r.Next(t)
		if !ok {
			return b
		}
		b = append(b, c...)
	}
}

// SplitStream parses a streamed response body as Lambda does: the prelude JSON
// ({"statusCode","headers","cookies"}), 8 NUL bytes, then the body.
func SplitStream(t testing.TB, b []byte) (prelude map[string]any, body string) {
	t.Helper()
	i := bytes.Index(b, make([]byte, 8))
	if i < 0 {
		t.Fatalf("no 8-NUL separator in %q", b)
	}
	if err := json.Unmarshal(b[:i], &prelude); err != nil {
		t.Fatalf("prelude %q: %v", b[:i], err)
	}
	return prelude, string(b[i+8:])
}

func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Wait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
