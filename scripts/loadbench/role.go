package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/gemini"
)

// statsPath is served by each child next to the server under test: goroutines and Go heap.
const statsPath = "/__loadbench/stats"

type stats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
}

// runRole is the child process: it serves the proxy or the gateway on a loopback port, writes the
// address to fd 3, and exits when its stdin closes (the parent is done, or gone).
func runRole(role, upstream string) {
	handshake := os.NewFile(3, "handshake")
	fail := func(err error) {
		fmt.Fprintf(handshake, "error %v\n", err)
		os.Exit(1)
	}
	var h http.Handler
	switch role {
	case "proxy":
		u, err := url.Parse(upstream)
		if err != nil {
			fail(err)
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.Transport = gemini.DefaultTransport() // the same pool settings as the gateway's client
		h = p
	case "gateway":
		env := map[string]string{
			"GATEWAY_BACKEND":        "gemini",
			"GATEWAY_UPSTREAM_URL":   upstream,
			"GEMINI_API_KEY":         "fake-gemini-key",
			"GATEWAY_API_KEYS":       "bench:" + benchKey,
			"GATEWAY_MAX_BODY_BYTES": strconv.Itoa(64 << 20),
		}
		cfg, err := config.Load(func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return os.Getenv(k) // GATEWAY_LOG_LEVEL and the like, from loadbench's caller
		})
		if err != nil {
			fail(err)
		}
		a, err := app.New(context.Background(), cfg)
		if err != nil {
			fail(err)
		}
		h = a.Handler
	default:
		fail(fmt.Errorf("unknown role %q", role))
	}
	mux := http.NewServeMux()
	mux.HandleFunc(statsPath, func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_ = json.NewEncoder(w).Encode(stats{Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse})
	})
	mux.Handle("/", h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if path := os.Getenv("LOADBENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, role, os.Getpid()))
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		pprof.StopCPUProfile() // a no-op without LOADBENCH_CPUPROFILE
		if path := os.Getenv("LOADBENCH_MEMPROFILE"); path != "" {
			if f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, role, os.Getpid())); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}
		os.Exit(0)
	}()
	fmt.Fprintf(handshake, "listening %s\n", ln.Addr())
	_ = handshake.Close()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// child is a running proxy or gateway process.
type child struct {
	name  string
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startChild re-executes this binary as role in front of upstream.
func startChild(role, upstream string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd := exec.Command(exe, "-role", role, "-upstream", upstream)
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Stdout, cmd.Stderr = nil, nil // request logs go to /dev/null
	if os.Getenv("LOADBENCH_DEBUG") != "" {
		cmd.Stderr = os.Stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		pw.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, err
	}
	pw.Close()
	c := &child{name: role, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(pr).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		c.stop()
		return nil, fmt.Errorf("%s did not start: %q %v", role, line, err)
	}
	c.url = "http://" + addr
	return c, nil
}

// stop closes the child's stdin, which ends it, and kills it if it has not exited in 5s.
func (c *child) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// mem returns the child's VmHWM (peak RSS) and VmRSS in KiB, from /proc/PID/status.
func (c *child) mem() (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss
}

// cpu returns the CPU time (user and system, all threads) the child has used so far, from
// /proc/PID/stat, in clock ticks of 10ms (USER_HZ is 100 on Linux).
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// stats asks the child for its goroutine count and Go heap.
func (c *child) stats(hc *http.Client) (stats, error) {
	var s stats
	resp, err := hc.Get(c.url + statsPath)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}
