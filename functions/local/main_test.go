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

// TestLocalServer pins what `make run` starts: functions-framework on 127.0.0.1:$PORT serving the
// gateway at every path (emulator backend, offline), and a bad setting stopping it with one line.
func TestLocalServer(t *testing.T) {
	bin := build(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS=test-key-123456"}

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
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if resp, err = http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Errorf("GET /healthz = %d %s", resp.StatusCode, b)
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
