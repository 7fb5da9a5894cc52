package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitHealthy polls /healthz on port until it answers or 20 s pass.
func waitHealthy(t *testing.T, port string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok"`) {
				t.Errorf("GET /healthz = %d %s", resp.StatusCode, b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
	}
}

// listening reports whether something accepts connections on 127.0.0.1:port.
func listening(port string) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestLocalServer pins what `make run` starts: the gateway on 127.0.0.1:$PORT at every path
// (emulator backend, offline), the startup lines in plain words, a graceful exit on SIGTERM
// that leaves nothing listening, and a bad setting stopping it with one line.
func TestLocalServer(t *testing.T) {
	bin := build(t)
	env := []string{"HOME=" + t.TempDir()}

	port := freePort(t)
	var out syncBuffer
	cmd := exec.Command(bin)
	cmd.Env = append(env, "PORT="+port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	waitHealthy(t, port)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"gateway: backend: offline Gemini emulator (canned answers, no cloud account; set GEMINI_API_KEY or GOOGLE_CLOUD_PROJECT for real Gemini)",
		"gateway: listening on http://127.0.0.1:" + port + " (OpenAI base URL http://127.0.0.1:" + port + "/v1)",
		"gateway: no client keys configured; API key for this run: gk-local-",
		"gateway: press Ctrl-C to stop",
	}
	if len(lines) < len(want) { // then one log line per request
		t.Fatalf("startup lines:\n%s\nwant %d lines first", out.String(), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want[i])
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0", err)
	}
	if listening(port) {
		t.Errorf("port %s still listening after SIGTERM", port)
	}
	// The shutdown line is the last plain line; only a request's JSON log line may follow it
	// (the line of the health check is written after its response, so it can come later).
	all := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := len(all) - 1
	for last >= 0 && strings.HasPrefix(all[last], "{") {
		last--
	}
	if last < 0 || all[last] != "gateway: shutting down" {
		t.Errorf("output does not end with the shutdown line (then log lines only):\n%s", out.String())
	}

	bad := exec.Command(bin)
	bad.Env = append(env, "PORT="+freePort(t), "GATEWAY_BACKEND=nonsense")
	msg, err := bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("bad setting: err = %v, want exit status 1", err)
	}
	if lines := strings.Split(strings.TrimSpace(string(msg)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "GATEWAY_BACKEND") {
		t.Errorf("bad setting: output %q, want one line naming GATEWAY_BACKEND", msg)
	}
}

// TestMakeRunStopsWithItsPID pins the Makefile's run target: it builds the binary and execs it,
// so stopping `make run` by make's PID (SIGTERM, which make passes to its child) stops the
// server and leaves nothing listening; `go run` used to leave the server orphaned.
func TestMakeRunStopsWithItsPID(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary through make")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make on this machine")
	}
	port := freePort(t)
	var out syncBuffer
	cmd := exec.Command(makeBin, "-C", "../..", "run", "PORT="+port, "BIN="+t.TempDir())
	cmd.Env = append(os.Environ(), "GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS=", "GATEWAY_KEYS_FILE=", "GATEWAY_KEYS_SECRET=")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	waitHealthy(t, port)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // make reports the signal; the server's own exit is what matters
	for deadline := time.Now().Add(15 * time.Second); listening(port); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("port %s still listening after make got SIGTERM", port)
		}
	}
	if !strings.Contains(out.String(), "gateway: shutting down") {
		t.Errorf("the server did not shut down gracefully:\n%s", out.String())
	}
}
