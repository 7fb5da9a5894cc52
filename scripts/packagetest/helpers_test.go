package packagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the repository root: the test runs in scripts/packagetest.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

func needGo(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	return goBin
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
}

// dropped are environment variables the child processes must not inherit: settings that would
// point the gateway at a real backend or credentials, proxies (everything here is loopback), and
// Go settings this test sets itself.
var droppedPrefixes = []string{"GATEWAY_", "GOOGLE_", "GEMINI_", "AWS_", "CLOUDSDK_", "STORAGE_EMULATOR_HOST",
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
	"GOFLAGS=", "GOPROXY=", "GOSUMDB=", "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOWORK=", "GOTOOLCHAIN=",
	"GOOS=", "GOARCH=", "CGO_ENABLED=", "FUNCTION_", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "PORT=", "DIST="}

// offlineEnv is the environment of the go commands and scripts this test runs: the caller's,
// minus the dropped variables, with the Go command kept off the network (modules come from the
// local module cache only, no toolchain download, no checksum database) and never looking at a
// go.work. extra comes last and wins.
func offlineEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range droppedPrefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	env = append(env, "GOPROXY=off", "GOSUMDB=off", "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=", "NO_PROXY=*", "no_proxy=*")
	return append(env, extra...)
}

// serverEnv is the whole environment of a function process: nothing inherited but PATH, HOME
// and TMPDIR, so no credential or setting of the machine can reach it.
func serverEnv(extra ...string) []string {
	env := []string{"NO_PROXY=*", "no_proxy=*"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// run runs a command in dir and fails the test with its output if it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return out
}

func runErr(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v (%.1fs)", filepath.Base(name), strings.Join(args, " "), errString(err), time.Since(start).Seconds())
	return out.String(), err
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// logBuffer collects a child process's output for the failure message.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a function process listening on a loopback port.
type server struct {
	url  string
	logs *logBuffer
}

// startServer starts bin with env (which must not set PORT), on a free loopback port, and
// waits until it accepts connections. The process is killed when the test ends.
func startServer(t *testing.T, bin string, env []string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port first
		port := freePort(t)
		logs := &logBuffer{}
		cmd := exec.Command(bin)
		cmd.Env = append(env, "PORT="+port)
		cmd.Stdout = logs
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		addr := net.JoinHostPort("127.0.0.1", port)
		deadline := time.Now().Add(60 * time.Second)
		for {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("%s exited: %v\n%s", filepath.Base(bin), err, logs.String())
				exited <- err // for stop
			default:
			}
			if lastErr != nil {
				break
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Cleanup(func() {
					stop()
					if t.Failed() {
						t.Logf("%s output:\n%s", filepath.Base(bin), logs.String())
					}
				})
				return &server{url: "http://" + addr, logs: logs}
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s did not listen on %s within 60s\n%s", filepath.Base(bin), addr, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		stop()
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// client reaches loopback servers directly, never through a proxy.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil},
	Timeout:   60 * time.Second,
}

// call sends a request and returns the status, headers and body.
func call(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
