package gateway_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/translate"
)

// largeImageBody returns a chat request carrying one image as a data URI whose base64 text is
// 8 MiB (6 MiB of image bytes), the size of a phone photo sent by an OpenAI client.
func largeImageBody(tb testing.TB) []byte {
	tb.Helper()
	raw := make([]byte, 6<<20)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(raw)
	copy(raw, "\x89PNG\r\n\x1a\n") // so sniffing agrees with the declared type
	var b bytes.Buffer
	b.WriteString(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	_, _ = enc.Write(raw)
	_ = enc.Close()
	b.WriteString(`"}}]}]}`)
	return b.Bytes()
}

// drainTransport is an in-process upstream: it reads the request body to the end and answers
// thoughtfulAnswer, so a benchmark through it counts the gateway's allocations and nothing of a
// network stack or a fake server.
type drainTransport struct{}

func (drainTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(thoughtfulAnswer)), ContentLength: int64(len(thoughtfulAnswer)), Request: r}, nil
}

func benchHandler(tb testing.TB, hc *http.Client, baseURL string) http.Handler {
	tb.Helper()
	return benchHandlerFor(tb, gemini.Options{Backend: gemini.Developer, BaseURL: baseURL, APIKey: "gemini-key", HTTPClient: hc})
}

// benchHandlerFor is the benchmarks' gateway on a Gemini client made from o.
func benchHandlerFor(tb testing.TB, o gemini.Options) http.Handler {
	tb.Helper()
	client, err := gemini.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, err := keys.ParseList("tester:" + testKey)
	if err != nil {
		tb.Fatal(err)
	}
	// The request log line is written as deployed (JSON), to nowhere.
	return gateway.New(gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), IncludeThoughts: true,
		Logger: gateway.NewLogger(io.Discard, slog.LevelInfo)})
}

// BenchmarkLargeImageRequest measures a request carrying an 8 MiB base64 image. "handler" runs
// the gateway in-process against an upstream that drains the body, and reports the bytes
// allocated per request as a multiple of the body size (x-body); "direct" posts the same body
// to a fake Gemini over loopback and "gateway" posts it through the gateway to that fake, so
// their difference is the time the gateway adds.
func BenchmarkLargeImageRequest(b *testing.B) {
	body := largeImageBody(b)

	b.Run("handler", func(b *testing.B) {
		h := benchHandler(b, &http.Client{Transport: drainTransport{}}, "http://upstream.invalid")
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testKey)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(body)), "x-body")
	})

	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, thoughtfulAnswer)
	}))
	defer fake.Close()
	gwTransport := gemini.DefaultTransport()
	defer gwTransport.CloseIdleConnections()
	gw := httptest.NewServer(benchHandler(b, &http.Client{Transport: gwTransport}, fake.URL))
	defer gw.Close()
	ct := &http.Transport{MaxIdleConnsPerHost: 4}
	defer ct.CloseIdleConnections()
	hc := &http.Client{Transport: ct}
	post := func(b *testing.B, url string) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			post(b, fake.URL+"/v1beta/models/gemini-2.5-flash:generateContent")
		}
	})
	b.Run("gateway", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			post(b, gw.URL+"/v1/chat/completions")
		}
	})
}

// sseTransport is an in-process upstream answering every call with a short two-event stream.
type sseTransport struct{}

const shortStream = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Paris\"}]}}]}\r\n\r\n" +
	"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" is the capital.\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":7,\"totalTokenCount\":19}}\r\n\r\n"

func (sseTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(shortStream)), ContentLength: -1, Request: r}, nil
}

// BenchmarkSmallRequests measures the gateway's own work per small request, unary and
// streamed, with the upstream in-process: what it adds on top of any proxy hop.
func BenchmarkSmallRequests(b *testing.B) {
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
		body string
	}{
		{"unary", drainTransport{}, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`},
		{"stream", sseTransport{}, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := benchHandler(b, &http.Client{Transport: tc.rt}, "http://upstream.invalid")
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
