package gateway_test

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

var memSize = flag.Int("memsize", 4<<20, "body size for TestRequestMemory; 32 MiB measures the default limit by hand")

// amplified builds a request body of about size bytes made of many copies of item inside the
// JSON text head…tail, the shapes that make decoding allocate much more than the body.
func amplified(size int, head, item, tail string) []byte {
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	for i := 0; b.Len()+len(item)+len(tail)+1 < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// memoryShapes are the worst amplification shapes within the body limit (issue 12, item 3).
func memoryShapes(size int) map[string][]byte {
	const model = `{"model":"gemini-2.5-flash",`
	return map[string][]byte{
		"text-parts":  amplified(size, model+`"messages":[{"role":"user","content":[`, `{"type":"text","text":"a"}`, `]}]}`),
		"image-parts": amplified(size, model+`"messages":[{"role":"user","content":[`, `{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}`, `]}]}`),
		// alternating roles: consecutive user turns would be merged into one
		"messages": amplified(size, model+`"messages":[`, `{"role":"user","content":"a"},{"role":"assistant","content":"a"}`, `]}`),
		"stop":     amplified(size, model+`"messages":[{"role":"user","content":"a"}],"stop":[`, `"a"`, `]}`),
		"tool-calls": amplified(size, model+`"messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[`,
			`{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}`, `]}]}`),
		"big-string": []byte(model + `"messages":[{"role":"user","content":"` + strings.Repeat("ab ", (size-100)/3) + `"}]}`),
		"big-image": []byte(model + `"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` +
			strings.Repeat("iVBO", (size-200)/4) + `"}}]}]}`),
	}
}

// limitShapes are the amplification shapes at the default limits: the largest requests of each
// shape that are accepted.
func limitShapes() map[string][]byte {
	const model = `{"model":"gemini-2.5-flash",`
	rep := func(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }
	return map[string][]byte{
		"limit-text-parts":  []byte(model + `"messages":[{"role":"user","content":[` + rep(`{"type":"text","text":"a"}`, 50000) + `]}]}`),
		"limit-image-parts": []byte(model + `"messages":[{"role":"user","content":[` + rep(`{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}`, 50000) + `]}]}`),
		"limit-messages":    []byte(model + `"messages":[` + rep(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"text","text":"c"},{"type":"text","text":"d"},{"type":"text","text":"e"}]}`, 10000) + `]}`),
		"limit-stop":        []byte(model + `"messages":[{"role":"user","content":"a"}],"stop":["a","b","c","d"]}`),
	}
}

// peakHeap samples the heap's live objects while fn runs and returns the highest value seen and
// the bytes allocated in all.
func peakHeap(fn func()) (peak, total uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	runtime.GC()
	metrics.Read(s)
	base, allocs := s[0].Value.Uint64(), s[1].Value.Uint64()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		one := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for ctx.Err() == nil {
			metrics.Read(one)
			mu.Lock()
			peak = max(peak, one[0].Value.Uint64())
			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
		}
	}()
	fn()
	cancel()
	wg.Wait()
	metrics.Read(s)
	mu.Lock()
	defer mu.Unlock()
	peak = max(peak, s[0].Value.Uint64())
	if peak > base {
		peak -= base
	} else {
		peak = 0
	}
	return peak, s[1].Value.Uint64() - allocs
}

// TestRequestMemory pins issue 12's memory bound: a request allocates at most 4x its body plus a
// fixed base, whatever its shape. It measures bytes allocated (a bound on the peak heap, and
// deterministic); run with -memsize=33554000 -v to see the numbers at the default body limit.
func TestRequestMemory(t *testing.T) {
	h := benchHandler(t, &http.Client{Transport: drainTransport{}}, "http://upstream.invalid")
	shapes := memoryShapes(*memSize)
	maps.Copy(shapes, limitShapes())
	for name, body := range shapes {
		t.Run(name, func(t *testing.T) {
			var code int
			var msg string
			peak, total := peakHeap(func() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+testKey)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				code, msg = w.Code, w.Body.String()
			})
			if len(msg) > 200 {
				msg = msg[:200]
			}
			t.Logf("%s: body %.1f MiB, status %d, peak heap %.0f MiB (%.1fx), allocated %.0f MiB (%.1fx) %s", name,
				float64(len(body))/(1<<20), code, float64(peak)/(1<<20), float64(peak)/float64(len(body)),
				float64(total)/(1<<20), float64(total)/float64(len(body)), msg)
			if bound := 4*uint64(len(body)) + memBase; total > bound {
				t.Errorf("%s allocated %d bytes for a body of %d, over 4x body + %d", name, total, len(body), memBase)
			}
		})
	}
}

// memBase is the fixed part of the memory bound: what a request costs whatever its size, plus
// the per-item cost of the most messages and parts the default limits let through.
const memBase = 64 << 20
