// Command loopbench measures the latency the gateway adds on loopback: N sequential requests
// sent directly to an in-process Gemini fake, through a bare httputil.ReverseProxy (the floor:
// a Go pass-through proxy doing the same hop), and through the gateway, interleaved so machine
// noise hits all three alike. It prints p50/p90/p99 in microseconds and the overhead of each hop.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/translate"
)

const answer = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is the capital of France."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19},"modelVersion":"gemini-2.5-flash"}`

const streamAnswer = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Paris\"}]}}]}\r\n\r\n" +
	"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" is the capital.\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":7,\"totalTokenCount\":19}}\r\n\r\n"

func main() {
	n := flag.Int("n", 2000, "requests per target")
	flag.Parse()

	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("alt") == "sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, streamAnswer)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer fake.Close()
	fakeURL, _ := url.Parse(fake.URL)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(fakeURL))
	defer proxy.Close()

	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: fake.URL, APIKey: "k"})
	if err != nil {
		log.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, _ := keys.ParseList("bench:bench-key-0123456789")
	gw := httptest.NewServer(gateway.New(gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set)}))
	defer gw.Close()

	geminiBody := []byte(`{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"maxOutputTokens":100}}`)
	chatBody := []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`)
	streamBody := []byte(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	type target struct {
		name string
		url  string
		body []byte
		auth bool
	}
	run := func(title string, first bool, ts []target) {
		lat := make([][]time.Duration, len(ts))
		for i := 0; i < *n+50; i++ {
			for j, t := range ts {
				d := timed(hc, t.url, t.body, t.auth, first)
				if i >= 50 { // warm-up
					lat[j] = append(lat[j], d)
				}
			}
		}
		fmt.Printf("%s (%d sequential requests each, interleaved)\n", title, *n)
		fmt.Printf("  %-26s %8s %8s %8s\n", "", "p50 µs", "p90 µs", "p99 µs")
		base := pct(lat[0])
		for j, t := range ts {
			p := pct(lat[j])
			fmt.Printf("  %-26s %8.0f %8.0f %8.0f\n", t.name, p[0], p[1], p[2])
			if j > 0 {
				fmt.Printf("  %-26s %8.0f %8.0f %8.0f\n", "  added by "+t.name, p[0]-base[0], p[1]-base[1], p[2]-base[2])
			}
		}
	}
	run("non-streaming, full response", false, []target{
		{"direct to Gemini fake", fake.URL + "/v1beta/models/gemini-2.5-flash:generateContent", geminiBody, false},
		{"bare ReverseProxy", proxy.URL + "/v1beta/models/gemini-2.5-flash:generateContent", geminiBody, false},
		{"gateway", gw.URL + "/v1/chat/completions", chatBody, true},
	})
	streams := []target{
		{"direct to Gemini fake", fake.URL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", geminiBody, false},
		{"bare ReverseProxy", proxy.URL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", geminiBody, false},
		{"gateway", gw.URL + "/v1/chat/completions", streamBody, true},
	}
	run("streaming, time to first byte of the body", true, streams)
	run("streaming, time to last byte", false, streams)
}

// timed sends one request and returns the time until the first byte of the body (first) or
// the whole body was read.
func timed(hc *http.Client, u string, body []byte, auth, first bool) time.Duration {
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer bench-key-0123456789")
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var d time.Duration
	if first {
		var one [1]byte
		_, _ = io.ReadFull(resp.Body, one[:])
		d = time.Since(start)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !first {
		d = time.Since(start)
	}
	if resp.StatusCode != 200 {
		fmt.Fprintln(os.Stderr, "status", resp.StatusCode, u)
		os.Exit(1)
	}
	return d
}

func pct(d []time.Duration) [3]float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) float64 { return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1000 }
	return [3]float64{at(0.50), at(0.90), at(0.99)}
}
