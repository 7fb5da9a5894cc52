// Command coldstart measures process start to first answer, the part of a serverless cold start
// that our code controls, for the two entry points:
//
//   - local: `go build ./functions/local`, exec it with GATEWAY_BACKEND=emulator and a free PORT,
//     and poll GET /healthz until the first 200;
//   - lambda: `go build -tags lambda.norpc ./functions/lambda` as deployed (static, stripped), exec
//     it with AWS_LAMBDA_RUNTIME_API pointing at a minimal fake Runtime API in this program, which
//     hands out one Function URL invocation for GET /healthz and times the POST of its response.
//
// It prints the median, min and max of -n runs and the binary sizes (plus the linux/arm64
// bootstrap that is actually shipped). Everything is on 127.0.0.1; the page cache is warm, so a
// platform's own cold start (fetching the code, starting the sandbox) comes on top.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const clientKey = "coldstart-key-0123456789"

func main() {
	n := flag.Int("n", 10, "runs per entry point")
	which := flag.String("run", "local,lambda", "entry points to measure: local, lambda")
	keep := flag.String("dir", "", "build into this directory and keep it (default: a temporary one)")
	flag.Parse()

	root, err := moduleRoot()
	if err != nil {
		log.Fatal(err)
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "coldstart"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	fmt.Printf("coldstart: %s/%s, %d CPUs, load average %s, %d runs each\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadAvg(), *n)
	for _, w := range strings.Split(*which, ",") {
		switch strings.TrimSpace(w) {
		case "local":
			bin := filepath.Join(dir, "local")
			if err := build(root, bin, nil, "./functions/local"); err != nil {
				log.Fatal(err)
			}
			report("local (exec -> first 200 on /healthz)", bin, *n, runLocal)
		case "lambda":
			env := []string{"CGO_ENABLED=0", "GOOS=linux"}
			flags := []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}
			bin := filepath.Join(dir, "bootstrap")
			if err := build(root, bin, env, append(flags, "./functions/lambda")...); err != nil {
				log.Fatal(err)
			}
			arm := filepath.Join(dir, "bootstrap-arm64")
			if err := build(root, arm, append(env, "GOARCH=arm64"), append(flags, "./functions/lambda")...); err == nil {
				fmt.Printf("  lambda bootstrap as shipped (linux/arm64, stripped): %s\n", size(arm))
			}
			report("lambda (exec -> POST /response complete)", bin, *n, runLambda)
		default:
			log.Fatalf("unknown entry point %q", w)
		}
	}
}

// report runs measure n times and prints the distribution.
func report(title, bin string, n int, measure func(bin string) (timing, error)) {
	var total, first []time.Duration
	for i := 0; i < n; i++ {
		tm, err := measure(bin)
		if err != nil {
			log.Fatalf("%s: run %d: %v", title, i+1, err)
		}
		total = append(total, tm.total)
		if tm.first > 0 {
			first = append(first, tm.first)
		}
	}
	fmt.Printf("\n%s\n  binary %s: %s\n", title, filepath.Base(bin), size(bin))
	fmt.Printf("  %-34s %9s %9s %9s\n", "", "median ms", "min ms", "max ms")
	if len(first) > 0 {
		med, lo, hi := stat(first)
		fmt.Printf("  %-34s %9.1f %9.1f %9.1f\n", "exec -> first GET /next (init)", med, lo, hi)
	}
	med, lo, hi := stat(total)
	fmt.Printf("  %-34s %9.1f %9.1f %9.1f\n", "exec -> answer", med, lo, hi)
}

func stat(d []time.Duration) (med, lo, hi float64) {
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1])
}

// timing is one run: total is exec to the answer; first, for Lambda, exec to the first /next.
type timing struct{ total, first time.Duration }

// baseEnv is the environment every run gets: nothing from the caller's GATEWAY_* or Google
// settings, so the measurement is of the emulator configuration only.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS=cold:" + clientKey}
}

// runLocal execs the local server and polls /healthz until the first 200.
func runLocal(bin string) (timing, error) {
	port, err := freePort()
	if err != nil {
		return timing{}, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), "PORT="+strconv.Itoa(port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timing{}, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer stop(cmd, exited)
	for deadline := start.Add(30 * time.Second); time.Now().Before(deadline); {
		resp, err := hc.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return timing{total: time.Since(start)}, nil
			}
		}
		select {
		case <-exited:
			return timing{}, fmt.Errorf("the server exited: %s", out.String())
		case <-time.After(500 * time.Microsecond):
		}
	}
	return timing{}, fmt.Errorf("no 200 from /healthz within 30s: %s", out.String())
}

// stop ends a process this program started (exited closes when it has been waited for):
// SIGTERM, then SIGKILL after 3s.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// runLambda execs the bootstrap against a fake Runtime API that hands out one Function URL
// invocation of GET /healthz, and times the arrival of its whole response.
func runLambda(bin string) (timing, error) {
	rt := newRuntimeAPI()
	defer rt.close()
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), "AWS_LAMBDA_RUNTIME_API="+rt.addr(), "AWS_LAMBDA_FUNCTION_NAME=gateway",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512", "AWS_REGION=us-east-1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timing{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case r := <-rt.result:
		if r.err != nil {
			return timing{}, fmt.Errorf("%v; output: %s", r.err, out.String())
		}
		var first time.Duration
		select {
		case at := <-rt.nextAt:
			first = at.Sub(start)
		default:
		}
		return timing{total: r.at.Sub(start), first: first}, nil
	case err := <-exited:
		exited <- err
		return timing{}, fmt.Errorf("the bootstrap exited (%v): %s", err, out.String())
	case <-time.After(30 * time.Second):
		return timing{}, fmt.Errorf("no response within 30s: %s", out.String())
	}
}

// healthzEvent is a Function URL (payload 2.0) event for GET /healthz.
const healthzEvent = `{"version":"2.0","routeKey":"$default","rawPath":"/healthz","rawQueryString":"",
"headers":{"host":"abc.lambda-url.us-east-1.on.aws","user-agent":"coldstart","x-forwarded-proto":"https"},
"requestContext":{"accountId":"123456789012","apiId":"abc","domainName":"abc.lambda-url.us-east-1.on.aws","domainPrefix":"abc",
"http":{"method":"GET","path":"/healthz","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"coldstart"},
"requestId":"cold-1","routeKey":"$default","stage":"$default","time":"01/Jan/2026:00:00:00 +0000","timeEpoch":1767225600000},
"isBase64Encoded":false}`

// runtimeAPI is the least of the Lambda Runtime API (2018-06-01) a bootstrap needs for one
// invocation: /next hands out the event once and then blocks, /response is read to its end
// (streamed or buffered) and checked for status 200, /error and /init/error fail the run. The
// extension endpoints aws-lambda-go uses for SIGTERM handling are answered and held.
type runtimeAPI struct {
	srv    *httptest.Server
	served sync.Once
	nextAt chan time.Time // when the event was handed out
	result chan runResult
	done   chan struct{}
}

type runResult struct {
	at  time.Time
	err error
}

func newRuntimeAPI() *runtimeAPI {
	rt := &runtimeAPI{nextAt: make(chan time.Time, 1), result: make(chan runResult, 4), done: make(chan struct{})}
	mux := http.NewServeMux()
	hold := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-rt.done:
		}
	}
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		first := false
		rt.served.Do(func() { first = true })
		if !first { // one invocation per process: the next call waits until the run ends
			hold(r)
			return
		}
		rt.nextAt <- time.Now()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", "cold-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:gateway")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=1;Sampled=0")
		_, _ = io.WriteString(w, healthzEvent)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		at := time.Now()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		if err == nil {
			err = checkResponse(r.Header.Get("Lambda-Runtime-Function-Response-Mode"), b)
		}
		rt.result <- runResult{at: at, err: err}
	})
	fail := func(what string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			rt.result <- runResult{err: fmt.Errorf("%s: %s", what, b)}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", fail("invocation error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", fail("init error"))
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Extension-Identifier", "ext-1")
		_, _ = io.WriteString(w, `{}`)
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) { hold(r) })
	rt.srv = httptest.NewServer(mux)
	return rt
}

func (rt *runtimeAPI) addr() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

func (rt *runtimeAPI) close() {
	close(rt.done)
	rt.srv.Close()
}

// checkResponse checks a /response body for an HTTP 200: a streamed one is the prelude JSON,
// 8 NUL bytes and the body; a buffered one is the payload 2.0 response JSON.
func checkResponse(mode string, b []byte) error {
	head := b
	if i := bytes.Index(b, make([]byte, 8)); i >= 0 {
		head = b[:i]
	} else if mode == "streaming" {
		return fmt.Errorf("streamed response without the 8-NUL separator: %q", b)
	}
	var p struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(head, &p); err != nil {
		return fmt.Errorf("response %q: %v", b, err)
	}
	if p.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %q", p.StatusCode, b)
	}
	return nil
}

func build(root, out string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", out}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %v\n%s", args, err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run coldstart inside the gateway module")
	}
	return filepath.Dir(mod), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB (%d bytes)", float64(fi.Size())/(1<<20), fi.Size())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b) + " ?")[0]
}
