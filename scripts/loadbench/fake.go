package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

const answer = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is the capital of France."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19},"modelVersion":"gemini-2.5-flash"}`

const streamAnswer = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Paris\"}]}}]}\r\n\r\n" +
	"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" is the capital.\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":7,\"totalTokenCount\":19}}\r\n\r\n"

const slowChunk = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"tick \"}]}}]}\r\n\r\n"

// shapedChunks is the length of the bursty and spaced streams: the bursty one writes them all at
// once, the spaced one shapedGap apart.
const (
	shapedChunks = 8
	shapedGap    = 2 * time.Millisecond
)

// shapedChunk is chunk i of a bursty or spaced stream; the last one finishes with usage.
func shapedChunk(i int) string {
	if i == shapedChunks-1 {
		return "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" the end.\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":16,\"totalTokenCount\":28},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n"
	}
	return fmt.Sprintf("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"word %d \"}]}}],\"usageMetadata\":{\"promptTokenCount\":12,\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n", i)
}

// slowChunks bounds a slow stream: it ends (with a finish reason) after this many chunks, or
// earlier when the request is cancelled.
const slowChunks = 240

// fake is the in-process Gemini: a fixed answer for generateContent, a two-event stream for
// streamGenerateContent, and a stream that trickles a chunk every interval for models whose
// name contains "slow"; models named "burst" and "spaced" get shapedChunks events at once or
// shapedGap apart.
type fake struct {
	srv *httptest.Server
}

func newFake(interval time.Duration) *fake {
	embed := embedAnswer(embedInputs, embedDim)
	return &fake{srv: httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.Contains(r.URL.Path, ":batchEmbedContents") {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(embed)))
			if !strings.Contains(r.URL.Path, "paced") {
				_, _ = w.Write(embed)
				return
			}
			writePaced(w, embed)
			return
		}
		if !strings.Contains(r.URL.Path, ":streamGenerateContent") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		switch {
		case strings.Contains(r.URL.Path, "burst"): // every chunk in one write
			var b strings.Builder
			for i := range shapedChunks {
				b.WriteString(shapedChunk(i))
			}
			_, _ = io.WriteString(w, b.String())
			return
		case strings.Contains(r.URL.Path, "spaced"): // a chunk every shapedGap
			for i := range shapedChunks {
				if i > 0 {
					time.Sleep(shapedGap)
				}
				if _, err := io.WriteString(w, shapedChunk(i)); err != nil {
					return
				}
				_ = rc.Flush()
			}
			return
		case !strings.Contains(r.URL.Path, "slow"):
			_, _ = io.WriteString(w, streamAnswer)
			return
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for range slowChunks {
			if _, err := io.WriteString(w, slowChunk); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"done\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n")
	}))}
}

// The embeddings answer: embedInputs vectors of embedDim values, compact (the gateway asks for
// prettyPrint=false), about a megabyte. Models named "paced" get it as it comes through a
// network: at embedRate, in embedPiece-byte writes, the size of a TLS record (what a TLS
// reader hands on at a time); others in one write.
const (
	embedInputs = 100
	embedDim    = 768
	embedRate   = 200 << 20 // bytes per second
	embedPiece  = 16 << 10
)

// embedAnswer is a batchEmbedContents answer of n vectors of dim float32 values, written as
// encoding/json writes float32s (Gemini's own values have as many digits).
func embedAnswer(n, dim int) []byte {
	b := []byte(`{"embeddings":[`)
	x := uint32(1)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"values":[`...)
		for j := range dim {
			if j > 0 {
				b = append(b, ',')
			}
			x = x*1664525 + 1013904223 // a fixed sequence: the same answer every run
			v := (float32(x>>8)/(1<<24) - 0.5) / 8
			b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
		}
		b = append(b, `]}`...)
	}
	return append(b, `]}`...)
}

// writePaced writes body in embedPiece pieces, each flushed when it is due at embedRate.
func writePaced(w http.ResponseWriter, body []byte) {
	rc := http.NewResponseController(w)
	start := time.Now()
	for sent := 0; sent < len(body); {
		if due := start.Add(time.Duration(float64(sent) / embedRate * float64(time.Second))); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		n := min(embedPiece, len(body)-sent)
		if _, err := w.Write(body[sent : sent+n]); err != nil {
			return
		}
		_ = rc.Flush()
		sent += n
	}
}

func (f *fake) url() string { return f.srv.URL }

func (f *fake) close() { f.srv.Close() }
