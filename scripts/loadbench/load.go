package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one target's share of a load run.
type result struct {
	lat      []time.Duration
	errs     int
	elapsed  time.Duration
	hwm      int64 // KiB
	firstErr error
	total    int           // requests answered, warm-up included
	cpu      time.Duration // the server process's CPU time over all of them
}

// cpuPerReq is the server's CPU time per answered request, in µs: on a shared machine a steadier
// measure of cost than requests/s.
func (r *result) cpuPerReq() float64 {
	return float64(r.cpu.Microseconds()) / float64(max(r.total, 1))
}

func (r *result) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1))]
}

// loadHeader prints the heading of the closed-loop load table.
func loadHeader(o options) {
	fmt.Printf("\nclosed-loop load, %v per target per level (in 4 alternating slices), %v warm-up (load average %s)\n", o.duration, o.warmup, loadAvg())
	fmt.Printf("  %-7s %5s %-8s %10s %9s %9s %7s %11s %12s\n", "mode", "conns", "target", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS", "CPU µs/req")
}

// runLoad runs the closed-loop load of one mode at n connections against a fresh proxy and a
// fresh gateway, and returns their results. The proxy and the gateway run in alternating slices
// of a quarter of -duration each, so a change in the machine's load hits both alike.
func runLoad(fk *fake, o options, mode string, n int) [2]*result {
	proxy, err := startChild("proxy", fk.url())
	if err != nil {
		log.Fatal(err)
	}
	defer proxy.stop()
	gw, err := startChild("gateway", fk.url())
	if err != nil {
		log.Fatal(err)
	}
	defer gw.stop()
	pt, gt := targets(proxy, gw, mode)
	res := map[string]*result{"proxy": {}, "gateway": {}}
	clients := map[string]*http.Client{"proxy": loadClient(n), "gateway": loadClient(n)}
	slice := max(o.duration/4, time.Second)
	for i := 0; i < 4; i++ {
		for _, t := range []target{pt, gt} {
			if i == 0 {
				closedLoop(clients[t.name], t, n, o.warmup, o.maxRequests, res[t.name], false)
			}
			closedLoop(clients[t.name], t, n, slice, o.maxRequests, res[t.name], true)
		}
	}
	res["proxy"].hwm, _ = proxy.mem()
	res["gateway"].hwm, _ = gw.mem()
	res["proxy"].cpu, res["gateway"].cpu = proxy.cpu(), gw.cpu()
	for _, name := range []string{"proxy", "gateway"} {
		clients[name].CloseIdleConnections()
		r := res[name]
		slices.Sort(r.lat)
		fmt.Printf("  %-7s %5d %-8s %10.0f %9.2f %9.2f %7d %11s %12.0f\n", mode, n, name, r.rps(),
			ms(r.pct(0.50)), ms(r.pct(0.99)), r.errs, mib(r.hwm), r.cpuPerReq())
		if r.firstErr != nil {
			fmt.Printf("          first error: %v\n", r.firstErr)
		}
	}
	p, g := res["proxy"], res["gateway"]
	rr, mr := g.rps()/p.rps(), float64(g.hwm)/float64(p.hwm)
	fmt.Printf("  %-7s %5d gateway/proxy: %.2fx req/s (target >= 0.9: %s), %.2fx peak RSS (target <= 1.25: %s), %.2fx CPU per request\n",
		mode, n, rr, verdict(rr >= 0.9), mr, verdict(mr <= 1.25), g.cpuPerReq()/p.cpuPerReq())
	return [2]*result{p, g}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func loadClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}}
}

// closedLoop runs n workers, each sending its next request as soon as the last one is answered,
// for d or until max requests, and adds what it saw to r (only the count when not measured).
func closedLoop(hc *http.Client, t target, n int, d time.Duration, maxReq int, r *result, measured bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second) // bounds a stuck request
	defer cancel()
	deadline := time.Now().Add(d)
	var sent atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			var first error
			for time.Now().Before(deadline) && sent.Add(1) <= int64(maxReq) {
				t0 := time.Now()
				if err := do(ctx, hc, t); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			r.total += len(lat)
			if measured {
				r.lat = append(r.lat, lat...)
				r.errs += errs
				if r.firstErr == nil {
					r.firstErr = first
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if measured {
		r.elapsed += time.Since(start)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// imageBody returns a chat request carrying one PNG-typed image whose base64 text is mb MiB.
func imageBody(mb int) []byte {
	raw := make([]byte, mb<<20/4*3)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(raw)
	copy(raw, "\x89PNG\r\n\x1a\n")
	var b bytes.Buffer
	b.WriteString(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	_, _ = enc.Write(raw)
	_ = enc.Close()
	b.WriteString(`"}}]}]}`)
	return b.Bytes()
}

// runImage times a large-image request through the gateway against the same body posted to the
// fake directly, interleaved, sequentially.
func runImage(fk *fake, o options) {
	body := imageBody(o.imageMiB)
	gw, err := startChild("gateway", fk.url())
	if err != nil {
		log.Fatal(err)
	}
	defer gw.stop()
	idle, _ := gw.mem()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	direct := target{"direct", fk.url() + "/v1beta/models/gemini-2.5-flash:generateContent", body, false}
	through := target{"gateway", gw.url + "/v1/chat/completions", body, true}
	var dl, gl []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := -2; i < o.imageN; i++ { // two warm-ups
		for _, t := range []target{direct, through} {
			t0 := time.Now()
			if err := do(ctx, hc, t); err != nil {
				log.Fatalf("image request: %v", err)
			}
			if i >= 0 {
				if t.name == "direct" {
					dl = append(dl, time.Since(t0))
				} else {
					gl = append(gl, time.Since(t0))
				}
			}
		}
	}
	slices.Sort(dl)
	slices.Sort(gl)
	hwm, _ := gw.mem()
	med := func(s []time.Duration) time.Duration { return s[len(s)/2] }
	fmt.Printf("\n%d MiB base64 image (%.1f MiB body), %d sequential requests each, interleaved\n", o.imageMiB, float64(len(body))/(1<<20), o.imageN)
	fmt.Printf("  %-22s %9s %9s %9s\n", "", "min ms", "p50 ms", "max ms")
	fmt.Printf("  %-22s %9.2f %9.2f %9.2f\n", "direct to the fake", ms(dl[0]), ms(med(dl)), ms(dl[len(dl)-1]))
	fmt.Printf("  %-22s %9.2f %9.2f %9.2f\n", "through the gateway", ms(gl[0]), ms(med(gl)), ms(gl[len(gl)-1]))
	added := med(gl) - med(dl)
	fmt.Printf("  added by the gateway (p50): %.2f ms (target < 25 ms: %s)\n", ms(added), verdict(added < 25*time.Millisecond))
	fmt.Printf("  gateway peak RSS: %s (idle %s)\n", mib(hwm), mib(idle))
}

// runStreams holds -streams slow streams open through a fresh proxy and a fresh gateway and
// reports the memory each open stream costs.
func runStreams(fk *fake, o options) {
	fmt.Printf("\n%d concurrent slow streams (the fake sends a chunk every %v)\n", o.streams, o.streamInterval)
	fmt.Printf("  %-8s %6s %10s %10s %9s %11s %12s %11s %11s\n", "target", "open", "idle RSS", "open RSS", "KiB/str", "goroutines", "gor./stream", "heap/str", "peak RSS")
	for _, role := range []string{"proxy", "gateway"} {
		c, err := startChild(role, fk.url())
		if err != nil {
			log.Fatal(err)
		}
		t := target{"proxy", c.url + "/v1beta/models/gemini-slow:streamGenerateContent?alt=sse", []byte(geminiBody), false}
		short := target{"proxy", c.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", []byte(geminiBody), false}
		if role == "gateway" {
			t = target{"gateway", c.url + "/v1/chat/completions", []byte(strings.Replace(streamBody, "gemini-2.5-flash", "gemini-2.5-flash-slow", 1)), true}
			short = target{"gateway", c.url + "/v1/chat/completions", []byte(streamBody), true}
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.streams + 10, DisableCompression: true}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		for range 20 { // warm the process up with short streams
			if err := do(ctx, hc, short); err != nil {
				log.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		_, idleRSS := c.mem()
		idleStats, _ := c.stats(hc)
		opened, failed := holdStreams(ctx, hc, t, o.streams, 2*time.Minute)
		time.Sleep(2 * o.streamInterval) // every stream has moved a few chunks
		_, openRSS := c.mem()
		openStats, err := c.stats(hc)
		if err != nil {
			log.Printf("stats: %v", err)
		}
		cancel() // ends every stream
		hwm, _ := c.mem()
		hc.CloseIdleConnections()
		c.stop()
		per := func(a, b float64) float64 { return (b - a) / float64(max(opened, 1)) }
		fmt.Printf("  %-8s %6d %10s %10s %9.1f %11d %12.1f %9.1fKiB %11s\n", role, opened, mib(idleRSS), mib(openRSS),
			per(float64(idleRSS), float64(openRSS)), openStats.Goroutines,
			per(float64(idleStats.Goroutines), float64(openStats.Goroutines)),
			per(float64(idleStats.HeapInuse), float64(openStats.HeapInuse))/1024, mib(hwm))
		if failed > 0 {
			fmt.Printf("           %d streams failed to open\n", failed)
		}
	}
}

// holdStreams opens n streams, waits until each has delivered its first data event, and returns;
// the streams keep reading in the background until ctx ends.
func holdStreams(ctx context.Context, hc *http.Client, t target, n int, bound time.Duration) (opened, failed int) {
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			first := false
			defer func() {
				if !first {
					bad.Add(1)
					wg.Done()
				}
			}()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
			req.Header.Set("Content-Type", "application/json")
			if t.auth {
				req.Header.Set("Authorization", "Bearer "+benchKey)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				return
			}
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if !first && strings.HasPrefix(line, "data: ") {
					first = true
					ok.Add(1)
					wg.Done()
					// keep reading until the stream ends or ctx is cancelled
					_, _ = io.Copy(io.Discard, br)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
	}
	return int(ok.Load()), int(bad.Load())
}
