package gcf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/batch"
)

// These tests run the functions inside functions-framework's own server (StartHostPort) on
// loopback, as Cloud Functions runs them. functions-framework v1.9.2 exports no http.Handler
// (initServer is unexported) and its registry is process-wide, so each FUNCTION_TARGET gets one
// server for the whole test binary, started on a free port; those servers live until the
// binary exits (ListenAndServe cannot be stopped), which is why this package has no goleak.

// --- the stand-in gateway and fake jobs ---

// gates lets a test hold the stand-in's stream after each event: X-Gate names a channel.
var gates sync.Map // string -> chan struct{}

// standIn plays the gateway handler:
//
//	/v1/chat/completions  three SSE events then [DONE], flushed one by one; with X-Gate it waits
//	                      for the test after each event
//	anything else         200 {"method":…, "path":…}
type standIn struct{}

func (standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	switch r.URL.Path {
	case "/v1/chat/completions":
		var gate chan struct{}
		if g, ok := gates.Load(r.Header.Get("X-Gate")); ok {
			gate = g.(chan struct{})
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			if err := rc.Flush(); err != nil {
				panic(err)
			}
			if gate != nil {
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "path": r.URL.Path})
	}
}

// fakeJobs records each job and answers by the base name: "transient…" is Redeliver, anything
// else Ack. The policy behind the outcome is the runner's, tested in shared/batch.
type fakeJobs struct {
	mu  sync.Mutex
	ran []string
}

func (f *fakeJobs) Handle(_ context.Context, j batch.Job) batch.Outcome {
	name := string(j.Message)
	if j.Name != "" {
		name = j.Bucket + "/" + j.Name
	}
	f.mu.Lock()
	f.ran = append(f.ran, name)
	f.mu.Unlock()
	if strings.HasPrefix(name[strings.LastIndexByte(name, '/')+1:], "transient") {
		return batch.Redeliver
	}
	return batch.Ack
}

// take returns the jobs run since the last call.
func (f *fakeJobs) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.ran
	f.ran = nil
	return r
}

var jobs = &fakeJobs{}

// --- the framework servers ---

var (
	registerOnce sync.Once
	serversMu    sync.Mutex
	servers      = map[string]string{} // FUNCTION_TARGET -> base URL
)

// register registers, once per binary: the real Register's three functions over the stand-in
// and fake jobs, and a set whose build fails (Broken…).
func register() {
	quiet := slog.New(slog.DiscardHandler)
	good := New(func(context.Context) (*Deps, error) {
		return &Deps{Handler: standIn{}, Jobs: jobs, Logger: quiet}, nil
	})
	good.Register()
	broken := New(func(context.Context) (*Deps, error) { return nil, errors.New("GATEWAY_BACKEND: unknown backend \"x\"") })
	broken.logw = io.Discard
	functions.HTTP("BrokenGateway", broken.Gateway)
	functions.CloudEvent("BrokenPubSubJob", broken.PubSubJob)
}

// framework returns the base URL of functions-framework's server for FUNCTION_TARGET=target
// ("" serves every function at /Name; "Gateway" serves the gateway at every path).
func framework(t *testing.T, target string) string {
	t.Helper()
	serversMu.Lock()
	defer serversMu.Unlock()
	if u, ok := servers[target]; ok {
		return u
	}
	registerOnce.Do(register)
	t.Setenv("FUNCTION_TARGET", target) // read by StartHostPort before it listens
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	errc := make(chan error, 1)
	go func() { errc <- funcframework.StartHostPort("127.0.0.1", port) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-errc:
			t.Fatalf("functions-framework: %v", err)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("functions-framework did not start listening")
		}
		time.Sleep(10 * time.Millisecond)
	}
	servers[target] = "http://" + addr
	return servers[target]
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// --- HTTP function ---

// TestGatewayStreamsEventByEvent pins that the HTTP function streams: each SSE event reaches
// the client while the handler is still held before writing the next one.
func TestGatewayStreamsEventByEvent(t *testing.T) {
	base := framework(t, GatewayName)
	gate := make(chan struct{})
	gates.Store(t.Name(), gate)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	req.Header.Set("X-Gate", t.Name())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, ct)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Transfer-Encoding = %v, want chunked", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	readEvent := func() string {
		var ev strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream after %q: %v (is the response buffered?)", ev.String(), err)
			}
			ev.WriteString(line)
			if line == "\n" {
				return ev.String()
			}
		}
	}
	for i := 1; i <= 3; i++ {
		if got, want := readEvent(), fmt.Sprintf("data: {\"n\":%d}\n\n", i); got != want {
			t.Fatalf("event %d = %q, want %q", i, got, want)
		}
		gate <- struct{}{} // only now may the handler write event i+1
	}
	if got := readEvent(); got != "data: [DONE]\n\n" {
		t.Errorf("last event = %q", got)
	}
}

// TestGatewayGetsEveryPath pins that with FUNCTION_TARGET=Gateway every path, including the
// buildpack's /robots.txt, reaches the handler, which routes by itself.
func TestGatewayGetsEveryPath(t *testing.T) {
	base := framework(t, GatewayName)
	for _, p := range []string{"/", "/v1/models", "/healthz", "/robots.txt", "/a/b/c"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+p, nil)
		resp, body := do(t, req)
		if want := fmt.Sprintf(`{"method":"GET","path":%q}`, p) + "\n"; resp.StatusCode != 200 || body != want {
			t.Errorf("GET %s = %d %s, want 200 %s", p, resp.StatusCode, body, want)
		}
	}
}

// TestGatewayInitFailureIs500 pins that a failed build answers every request with the core's
// 500 error body through the framework, rather than crashing the instance; the cause stays in
// the logs.
func TestGatewayInitFailureIs500(t *testing.T) {
	base := framework(t, "")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/BrokenGateway", nil)
	resp, body := do(t, req)
	var eb struct {
		Success *bool `json:"success"`
		Error   struct{ Message, Type, Code string }
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &eb); err != nil || resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %s (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}
	if eb.Success == nil || *eb.Success || eb.Error.Code != "api_error" || eb.Error.Message != "the gateway failed to start; see the function's logs" ||
		eb.TraceID == "" || resp.Header.Get("X-Request-Id") != eb.TraceID || strings.Contains(body, "GATEWAY_BACKEND") {
		t.Errorf("body %s", body)
	}
}

// TestInitIsRetriedAfterAWhile pins the lazy build: built once, a failure logged as one line and
// kept for retryInitAfter (no rebuild per request), then tried again.
func TestInitIsRetriedAfterAWhile(t *testing.T) {
	builds, failing := 0, true
	f := New(func(context.Context) (*Deps, error) {
		builds++
		if failing {
			return nil, errors.New("GATEWAY_API_KEYS: empty")
		}
		return &Deps{Handler: standIn{}, Jobs: jobs}, nil
	})
	var logged bytes.Buffer
	now := time.Unix(1e9, 0)
	f.now, f.logw = func() time.Time { return now }, &logged
	get := func() int {
		rec := httptest.NewRecorder()
		f.Gateway(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if code := get(); code != 500 || builds != 1 {
		t.Fatalf("first: %d after %d builds", code, builds)
	}
	if code := get(); code != 500 || builds != 1 {
		t.Fatalf("within the retry window: %d after %d builds", code, builds)
	}
	if err := f.PubSubJob(t.Context(), pubsubEvent(t)); !errors.Is(err, errInit) {
		t.Errorf("event during a failed init: err = %v, want errInit (redelivered)", err)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"severity":"ERROR"`) || !strings.Contains(lines[0], "gateway: init failed: GATEWAY_API_KEYS: empty") {
		t.Errorf("logged %q, want one JSON ERROR line", logged.String())
	}
	now = now.Add(retryInitAfter)
	failing = false
	if code := get(); code != 200 || builds != 2 {
		t.Fatalf("after the window: %d after %d builds", code, builds)
	}
	if code := get(); code != 200 || builds != 2 {
		t.Fatalf("once built: %d after %d builds", code, builds)
	}
}

// --- CloudEvent functions ---

func loadEvent(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// eventRequest builds the POST of a CloudEvent envelope, structured (application/cloudevents+json)
// or binary (ce- headers, data as the body, as Eventarc delivers).
func eventRequest(t *testing.T, url string, ev map[string]any, binary bool) *http.Request {
	t.Helper()
	if !binary {
		b, _ := json.Marshal(ev)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		return req
	}
	b, _ := json.Marshal(ev["data"])
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if ct, ok := ev["datacontenttype"].(string); ok {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range ev {
		if k != "data" && k != "datacontenttype" {
			req.Header.Set("ce-"+k, v.(string))
		}
	}
	return req
}

func pubsubEvent(t *testing.T) (e cloudevents.Event) {
	t.Helper()
	b, _ := os.ReadFile("testdata/pubsub-message-published.json")
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestJobFunctions pins, for Pub/Sub and Storage events in binary and structured mode, what
// the job sees and the status the platform gets: 2xx for Ack, non-2xx for Redeliver.
func TestJobFunctions(t *testing.T) {
	base := framework(t, "")
	type outcome struct {
		name    string // the message data or object base name; "" keeps the testdata's
		retried bool
	}
	outcomes := []outcome{{"", false}, {"transient-1", true}, {"permanent-1", false}}
	for _, binary := range []bool{true, false} {
		mode := map[bool]string{true: "binary", false: "structured"}[binary]
		for _, o := range outcomes {
			t.Run(fmt.Sprintf("PubSub/%s/%q", mode, o.name), func(t *testing.T) {
				ev := loadEvent(t, "pubsub-message-published.json")
				want := "test message 3"
				if o.name != "" {
					want = o.name
					ev["data"].(map[string]any)["message"].(map[string]any)["data"] = base64.StdEncoding.EncodeToString([]byte(o.name))
				}
				resp, body := do(t, eventRequest(t, base+"/"+PubSubJobName, ev, binary))
				checkOutcome(t, resp, body, o.retried, []string{want})
			})
			t.Run(fmt.Sprintf("Storage/%s/%q", mode, o.name), func(t *testing.T) {
				ev := loadEvent(t, "storage-object-finalized.json")
				want := "charity-games-us-west1/Screenshot 2025-03-13 at 9.21.22 PM.png"
				if o.name != "" {
					name := "batches/in/" + o.name + ".jsonl"
					want = "charity-games-us-west1/" + name
					ev["data"].(map[string]any)["name"], ev["subject"] = name, "objects/"+name
				}
				resp, body := do(t, eventRequest(t, base+"/"+StorageJobName, ev, binary))
				checkOutcome(t, resp, body, o.retried, []string{want})
			})
		}
	}
}

func checkOutcome(t *testing.T, resp *http.Response, body string, retried bool, ran []string) {
	t.Helper()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok == retried {
		t.Errorf("status %d (%s), want retried=%v", resp.StatusCode, body, retried)
	}
	if d := cmp.Diff(ran, jobs.take()); d != "" {
		t.Errorf("jobs run (-want +got):\n%s", d)
	}
}

// TestJobFunctionsDropUnusableEvents pins that an event of the wrong type or with unreadable
// data is acknowledged (a retry cannot fix it) and runs nothing.
func TestJobFunctionsDropUnusableEvents(t *testing.T) {
	base := framework(t, "")
	storage := loadEvent(t, "storage-object-finalized.json")
	resp, body := do(t, eventRequest(t, base+"/"+PubSubJobName, storage, true))
	checkOutcome(t, resp, body, false, nil)

	pubsub := loadEvent(t, "pubsub-message-published.json")
	resp, body = do(t, eventRequest(t, base+"/"+StorageJobName, pubsub, true))
	checkOutcome(t, resp, body, false, nil)

	pubsub["data"].(map[string]any)["message"].(map[string]any)["data"] = "%%% not base64"
	resp, body = do(t, eventRequest(t, base+"/"+PubSubJobName, pubsub, false))
	checkOutcome(t, resp, body, false, nil)
}

// TestJobFunctionsRetryWhenNotReady pins that events are redelivered, not lost, when the
// gateway failed to start. (A function without batch jobs configured is the runner's Redeliver:
// shared/batch TestHandleOutcomes and functions/gcf TestJobEventWithoutBucketIsRedelivered.)
func TestJobFunctionsRetryWhenNotReady(t *testing.T) {
	base := framework(t, "")
	resp, body := do(t, eventRequest(t, base+"/BrokenPubSubJob", loadEvent(t, "pubsub-message-published.json"), true))
	checkOutcome(t, resp, body, true, nil)
}
