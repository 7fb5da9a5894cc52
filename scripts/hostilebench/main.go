// Command hostilebench sends the hostile requests of issue 12 to the gateway, each to a fresh
// gateway process, and prints per case the status, the wall time, the gateway's peak memory
// (VmHWM from /proc/PID/status), the CPU time it spent after the client gave up, how many calls
// reached the Gemini fake, and whether a secret from a media URL's query string reached its log.
//
// The gateway is functions/local (functions-framework's server, as `make run` starts it), built
// from -tree, so the same program measures any commit: `-tree /tmp/main-before` for the
// "before" column, the working tree for "after". Gemini is an in-process fake on loopback
// (GATEWAY_BACKEND=gemini, GATEWAY_UPSTREAM_URL), media come from an in-process server on
// loopback (GATEWAY_ALLOW_PRIVATE_FETCH=true). Every case is bounded: the client gives up after
// its own deadline, CPU is watched for at most -settle after that, and the process is killed.
package main

import (
	"bytes"
	"context"
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
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	benchKey = "bench-key-0123456789"
	// secret is put in every media URL's query string; it must never reach the gateway's log.
	secret = "SECRETSIG0123"
)

// hostileCase is one hostile request.
type hostileCase struct {
	name string
	desc string
	env  map[string]string // settings on top of the common ones
	// body builds the request; media is the media server's base URL.
	body func(media string) []byte
	// giveUp is when the client stops waiting and closes its connection.
	giveUp time.Duration
}

func main() {
	tree := flag.String("tree", ".", "source tree to build the gateway (./functions/local) from")
	label := flag.String("label", "", "label for the table (default: the tree's git commit)")
	only := flag.String("cases", "", "comma-separated case names to run (default: all)")
	giveUp := flag.Duration("give-up", 10*time.Second, "how long the client waits in cases that set no deadline of their own")
	settle := flag.Duration("settle", 8*time.Second, "how long to watch the gateway's CPU after the client left")
	flag.Parse()

	dir, err := os.MkdirTemp("", "hostilebench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "./functions/local")
	build.Dir = *tree
	if out, err := build.CombinedOutput(); err != nil {
		log.Fatalf("building the gateway in %s: %v\n%s", *tree, err, out)
	}
	if *label == "" {
		out, _ := exec.Command("git", "-C", *tree, "log", "-1", "--format=%h %s").Output()
		*label = strings.TrimSpace(string(out))
	}

	up := newFakeGemini()
	defer up.srv.Close()
	ms := newMediaServer()
	defer ms.srv.Close()

	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	fmt.Printf("hostilebench: gateway built from %s (%s)\n", *tree, *label)
	fmt.Printf("%-10s %-6s %9s %10s %12s %9s %6s  %s\n", "case", "status", "wall", "VmHWM", "CPU after", "upstream", "leak", "what")
	for _, c := range cases() {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		if c.giveUp == 0 {
			c.giveUp = *giveUp
		}
		r, err := run(bin, dir, c, up, ms, *settle)
		if err != nil {
			fmt.Printf("%-10s error: %v\n", c.name, err)
			continue
		}
		fmt.Printf("%-10s %-6s %9s %8d MB %12s %9d %6s  %s\n", c.name, r.status, r.wall.Round(time.Millisecond),
			r.hwmKiB/1024, r.cpuAfter, r.upstream, r.leak, c.desc)
	}
}

// result is what one case measured.
type result struct {
	status   string // HTTP status, or "gave up" when the client left first
	wall     time.Duration
	hwmKiB   int64
	cpuAfter string // CPU the gateway used after the client left ("-" if it did not leave)
	upstream int64
	leak     string // "yes" when the media URL's secret appeared in the log, "-" for no media case
}

// run starts a fresh gateway, sends the case's request, and measures.
func run(bin, dir string, c hostileCase, up *fakeGemini, ms *mediaServer, settle time.Duration) (result, error) {
	var r result
	body := c.body(ms.srv.URL)
	port, err := freePort()
	if err != nil {
		return r, err
	}
	logPath := filepath.Join(dir, c.name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT="+port,
		"GATEWAY_BACKEND=gemini",
		"GATEWAY_UPSTREAM_URL="+up.srv.URL,
		"GEMINI_API_KEY=fake-gemini-key",
		"GATEWAY_API_KEYS=bench:"+benchKey,
		"GATEWAY_ALLOW_PRIVATE_FETCH=true",
		"GATEWAY_LOG_LEVEL=debug",
	)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	base := "http://127.0.0.1:" + port
	if err := waitReady(base, 30*time.Second); err != nil {
		return r, err
	}
	upBefore := up.calls.Load()

	ctx, cancel := context.WithTimeout(context.Background(), c.giveUp)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchKey)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := hc.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.wall = time.Since(start)
	r.cpuAfter = "-"
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		r.status = "gaveup"
		left := cpuTime(cmd.Process.Pid)
		spent := waitIdle(cmd.Process.Pid, settle) - left
		r.cpuAfter = spent.Round(10 * time.Millisecond).String()
		if spent >= settle-time.Second {
			r.cpuAfter = ">=" + r.cpuAfter
		}
	case err != nil:
		r.status = "err"
	default:
		r.status = strconv.Itoa(resp.StatusCode)
		waitIdle(cmd.Process.Pid, 2*time.Second) // let a late log line out
	}
	r.hwmKiB = vmHWM(cmd.Process.Pid)
	r.upstream = up.calls.Load() - upBefore
	r.leak = "-"
	if bytes.Contains(body, []byte(secret)) {
		logged, _ := os.ReadFile(logPath)
		r.leak = "no"
		if bytes.Contains(logged, []byte(secret)) {
			r.leak = "yes"
		}
	}
	return r, nil
}

// cases are the hostile requests of issue 12.
func cases() []hostileCase {
	return []hostileCase{
		{name: "media10", desc: "10 image_url parts, each served 20 MiB",
			body: func(m string) []byte { return mediaRequest(m, "/big", 10) }},
		{name: "media3", desc: "3 image_url parts, each served 20 MiB",
			body: func(m string) []byte { return mediaRequest(m, "/big", 3) }},
		{name: "slowmedia", desc: "image_url slower than GATEWAY_MEDIA_TIMEOUT=2s",
			env:  map[string]string{"GATEWAY_MEDIA_TIMEOUT": "2s"},
			body: func(m string) []byte { return mediaRequest(m, "/slow", 1) }},
		{name: "words320k", desc: "320k one-word messages (10.9 MB); client gives up at 5s",
			giveUp: 5 * time.Second,
			body: func(string) []byte {
				return messagesRequest(320_000, `{"role":"user","content":"word"}`)
			}},
		{name: "text1m", desc: "1M tiny text parts in one message (just under 32 MiB)",
			body: func(string) []byte {
				return partsRequest(1_000_000, `{"type":"text","text":"abcdef"}`)
			}},
		{name: "datauri1m", desc: "1M tiny data-URI images (71 MB; GATEWAY_MAX_BODY_BYTES=96MiB)",
			env: map[string]string{"GATEWAY_MAX_BODY_BYTES": strconv.Itoa(96 << 20)},
			body: func(string) []byte {
				return partsRequest(1_000_000, `{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}`)
			}},
		{name: "msgs1.1m", desc: "1.1M messages (33 MB)",
			body: func(string) []byte {
				return messagesRequest(1_100_000, `{"role":"user","content":"a"}`)
			}},
		{name: "stop5m", desc: "5M stop strings (20 MB)",
			body: func(string) []byte {
				var b bytes.Buffer
				b.WriteString(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"stop":[`)
				for i := range 5_000_000 {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(`"a"`)
				}
				b.WriteString(`]}`)
				return b.Bytes()
			}},
	}
}

func mediaRequest(media, path string, n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"compare"}`)
	for i := range n {
		fmt.Fprintf(&b, `,{"type":"image_url","image_url":{"url":"%s%s%d.png?X-Amz-Signature=%s&token=t%d"}}`, media, path, i, secret, i)
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

func messagesRequest(n int, msg string) []byte {
	var b bytes.Buffer
	b.Grow(n*(len(msg)+1) + 64)
	b.WriteString(`{"model":"gemini-2.5-flash","messages":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(msg)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func partsRequest(n int, part string) []byte {
	var b bytes.Buffer
	b.Grow(n*(len(part)+1) + 64)
	b.WriteString(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(part)
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

// fakeGemini answers every generateContent call at once, after reading the body.
type fakeGemini struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newFakeGemini() *fakeGemini {
	f := &fakeGemini{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`)
	}))
	return f
}

// mediaServer serves /big… as 20 MiB of PNG-looking bytes and holds /slow… until the request
// ends (or 60s).
type mediaServer struct {
	srv *httptest.Server
}

func newMediaServer() *mediaServer {
	big := bytes.Repeat([]byte{0xA5}, 20<<20)
	copy(big, "\x89PNG\r\n\x1a\n")
	return &mediaServer{srv: httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			select {
			case <-r.Context().Done():
			case <-time.After(60 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		_, _ = w.Write(big)
	}))}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

func waitReady(base string, limit time.Duration) error {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("gateway not ready after %s", limit)
}

// waitIdle waits until the process's CPU time stops growing for 500ms, or limit passes, and
// returns its CPU time then.
func waitIdle(pid int, limit time.Duration) time.Duration {
	last := cpuTime(pid)
	quiet := 0
	for end := time.Now().Add(limit); time.Now().Before(end) && quiet < 5; {
		time.Sleep(100 * time.Millisecond)
		now := cpuTime(pid)
		if now-last <= 10*time.Millisecond { // one tick of noise (GC, timers)
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
	return last
}

// vmHWM returns the process's peak resident set size in KiB, from /proc/PID/status.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// cpuTime returns the CPU time (user and system, all threads) the process has used, from
// /proc/PID/stat, in clock ticks of 10ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3; utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
