// Command loadbench measures the gateway under load on loopback against the floor, a bare
// httputil.ReverseProxy, both in front of the same in-process Gemini fake:
//
//   - closed-loop load at each -conns level for -duration: requests/s, p50/p99 latency and the
//     peak RSS (VmHWM) of the server process, and the gateway/proxy ratios;
//   - a request carrying an -image-mib MiB base64 image: the time the gateway adds over posting
//     the same body to the fake directly;
//   - -streams concurrent slow streams held open: memory per open stream and total RSS.
//
// The proxy and the gateway each run as a separate process (this binary re-executed with -role),
// started fresh for every measurement so each VmHWM is that measurement's peak. The gateway is
// assembled by shared/app from the environment exactly as a deployment is (GATEWAY_BACKEND=gemini
// pointed at the fake), request logging included (to /dev/null).
//
// LOADBENCH_CPUPROFILE=/path/prefix makes each server process write a CPU profile to
// prefix.ROLE.PID when it ends; LOADBENCH_MEMPROFILE=/path/prefix likewise writes its allocation
// profile (allocs: every allocation since the start, sampled at the default rate).
//
//   - sequential latency against the fake directly, the proxy and the gateway, unary and streamed
//     (a bursty upstream writing all its chunks at once and a spaced one): the p50 time to the
//     first byte of the body and to its end, and what each hop adds over the fake; and
//     embeddings of 100 inputs of 768 dimensions, base64 and float, with the megabyte answer
//     written at once or paced as a network delivers it (200 MiB/s, 16 KiB writes);
//
// With -runs N the latency and load sections repeat N times and a summary prints, for each of
// issue 16's goals, the medians of the gateway/proxy ratios measured side by side in each run,
// and issue 13's: the time an embeddings request adds, against its bound in µs.
//
// Everything runs on 127.0.0.1, bounded in time and in count. The load generator, the fake and
// the server under test share the machine: on a small or busy machine the absolute numbers mean
// little; the ratios are what to compare.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type options struct {
	duration       time.Duration
	warmup         time.Duration
	conns          []int
	modes          []string
	maxRequests    int
	imageMiB       int
	imageN         int
	streams        int
	streamInterval time.Duration
	latencyN       int
	kinds          string
	runs           int
	sections       map[string]bool
}

func main() {
	role := flag.String("role", "", "internal: run as the proxy or gateway process")
	upstream := flag.String("upstream", "", "internal: the fake's URL, for -role")
	var o options
	conns := flag.String("conns", "32,256", "closed-loop connection counts")
	modes := flag.String("modes", "unary,stream", "request kinds for the load test: unary, stream")
	sections := flag.String("run", "latency,load,image,streams", "sections to run: latency, load, image, streams")
	flag.IntVar(&o.latencyN, "latency-n", 400, "sequential requests per target and kind in the latency section (a quarter for the spaced stream)")
	flag.StringVar(&o.kinds, "kinds", "", "only the latency kinds whose name contains this (\"embed\", \"stream\"…)")
	flag.IntVar(&o.runs, "runs", 1, "repetitions of the latency and load sections; the summary reports medians")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each load run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each load run")
	flag.IntVar(&o.maxRequests, "max-requests", 5_000_000, "bound on the requests of one load run")
	flag.IntVar(&o.imageMiB, "image-mib", 8, "size of the base64 image text in MiB")
	flag.IntVar(&o.imageN, "image-n", 20, "requests per target for the image test")
	flag.IntVar(&o.streams, "streams", 1000, "concurrent slow streams")
	flag.DurationVar(&o.streamInterval, "stream-interval", 250*time.Millisecond, "gap between the fake's chunks in slow streams")
	flag.Parse()

	if *role != "" {
		runRole(*role, *upstream)
		return
	}
	for _, s := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			log.Fatalf("bad -conns %q", *conns)
		}
		o.conns = append(o.conns, n)
	}
	o.modes = strings.Split(*modes, ",")
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		o.sections[strings.TrimSpace(s)] = true
	}

	fk := newFake(o.streamInterval)
	defer fk.close()
	fmt.Printf("loadbench: %s/%s, %d CPUs (GOMAXPROCS %d), load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), loadAvg())
	fmt.Println("  the load generator, the Gemini fake and the server under test share these CPUs")
	goals := []*goal{
		{name: "unary, added latency p50", bound: 1.1, unit: "µs"},
		{name: "bursty stream, TTFB added p50", bound: 1.25, unit: "µs"},
		{name: "spaced stream, TTFB added p50", bound: 1.25, unit: "µs"},
		{name: "bursty stream, end of stream added p50", bound: 1.5, unit: "µs"},
		{name: "spaced stream, end of stream added p50", bound: 1.5, unit: "µs"},
	}
	var loads []string
	for run := 0; run < o.runs; run++ {
		loads = append(loads, loadAvg())
		if o.runs > 1 {
			fmt.Printf("\n=== run %d of %d\n", run+1, o.runs)
		}
		if o.sections["latency"] {
			lr := runLatency(fk, o)
			// add adds to g what the proxy and the gateway add over the fake, p50 of TTFB (i 0)
			// or of the end (1), for kind, when it was measured (-kinds may leave it out).
			add := func(g *goal, kind string, i int) {
				if r, ok := lr[kind]; ok {
					d := r["direct"][i]
					g.add(r["proxy"][i]-d, r["gateway"][i]-d)
				}
			}
			add(goals[0], "unary", 1)
			add(goals[1], "bursty stream", 0)
			add(goals[2], "spaced stream", 0)
			add(goals[3], "bursty stream", 1)
			add(goals[4], "spaced stream", 1)
			// Issue 13: what the gateway adds to the end of an embeddings answer of 100 vectors
			// (translation, base64 encoding, the response) over the fake's own time, against a
			// bound in µs; the proxy's is beside it.
			for _, k := range []string{"embed base64", "embed float", "embed b64 paced", "embed flt paced"} {
				g := goalFor(&goals, fmt.Sprintf("%s 100x%d, end added p50", k, embedDim), 1000, false, "µs")
				g.absolute = true
				add(g, k, 1)
			}
		}
		if o.sections["load"] {
			loadHeader(o)
			for _, mode := range o.modes {
				for _, n := range o.conns {
					r := runLoad(fk, o, mode, n)
					goalFor(&goals, fmt.Sprintf("%s, req/s at %d connections", mode, n), 0.9, true, "").add(r[0].rps(), r[1].rps())
					if n == slices.Max(o.conns) {
						goalFor(&goals, fmt.Sprintf("%s, peak RSS at %d connections", mode, n), 1.25, false, "Mi").add(float64(r[0].hwm)/1024, float64(r[1].hwm)/1024)
					}
				}
			}
		}
	}
	if o.sections["latency"] || o.sections["load"] {
		summary(goals, o.runs, loads)
	}
	if o.sections["image"] {
		runImage(fk, o)
	}
	if o.sections["streams"] {
		runStreams(fk, o)
	}
}

// loadAvg returns the 1-minute load average, which says how shared the machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// target is a server to send requests to.
type target struct {
	name string
	url  string // full URL of the endpoint
	body []byte
	auth bool
}

const benchKey = "bench-key-0123456789"

const (
	geminiBody = `{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"maxOutputTokens":100}}`
	chatBody   = `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`
	streamBody = `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`
)

// targets returns the proxy and gateway endpoints for a request kind.
func targets(proxy, gw *child, mode string) (p, g target) {
	switch mode {
	case "stream":
		return target{"proxy", proxy.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", []byte(geminiBody), false},
			target{"gateway", gw.url + "/v1/chat/completions", []byte(streamBody), true}
	default:
		return target{"proxy", proxy.url + "/v1beta/models/gemini-2.5-flash:generateContent", []byte(geminiBody), false},
			target{"gateway", gw.url + "/v1/chat/completions", []byte(chatBody), true}
	}
}

// do sends one request and reads the whole answer; it returns an error for a non-200.
func do(ctx context.Context, hc *http.Client, t target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.auth {
		req.Header.Set("Authorization", "Bearer "+benchKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", t.name, resp.StatusCode)
	}
	return nil
}

func mib(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }
