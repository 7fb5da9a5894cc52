package translate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

func BenchmarkRequestToGemini(b *testing.B) {
	req, err := openai.DecodeRequest([]byte(`{"model":"gemini-3.1-pro","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi."},{"role":"user","content":"What is the capital of France?"}],"temperature":0.2,"max_tokens":100,"reasoning_effort":"low"}`))
	if err != nil {
		b.Fatal(err)
	}
	models, _ := NewModels("")
	b.ReportAllocs()
	for b.Loop() {
		tr, err := RequestToGemini(context.Background(), req, models, RequestOptions{Backend: gemini.Vertex, IncludeThoughts: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(tr.Request); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseFromGemini(b *testing.B) {
	raw, err := os.ReadFile("testdata/wire/10-generateContent-nonstream.vertex.response.derived.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var r gemini.Response
		if err := json.Unmarshal(raw, &r); err != nil {
			b.Fatal(err)
		}
		resp, err := ResponseFromGemini(&r, testMeta())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamFromGemini(b *testing.B) {
	raw, err := os.ReadFile("testdata/wire/02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		er := gemini.NewEventReader(bytesReader(raw))
		s := NewStream(testMeta())
		for {
			data, _, err := er.Next()
			if err != nil {
				break
			}
			var ev gemini.Response
			if err := json.Unmarshal(data, &ev); err != nil {
				b.Fatal(err)
			}
			chunks, err := s.Event(&ev)
			if err != nil {
				b.Fatal(err)
			}
			for i := range chunks {
				if _, err := json.Marshal(&chunks[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := s.End(true); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStream: the stream translator never panics on any decodable event sequence.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"02-streamGenerateContent-sse-text-usage-every-chunk.mldev.derived.sse", "05-streamGenerateContent-partialArgs-thoughtSignature-gemini-3-pro.vertex.derived.sse"} {
		raw, err := os.ReadFile("testdata/wire/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		er := gemini.NewEventReader(bytesReader(b))
		s := NewStream(testMeta())
		for i := 0; i < 1000; i++ {
			data, _, err := er.Next()
			if err != nil {
				break
			}
			var ev gemini.Response
			if json.Unmarshal(data, &ev) != nil {
				continue
			}
			if _, err := s.Event(&ev); err != nil {
				return
			}
		}
		_, _ = s.End(true)
	})
}

// manyMessages is a request of n consecutive one-word user messages, the shape that made the
// merge of same-role turns quadratic (issue 12).
func manyMessages(n int) *openai.Request {
	req := &openai.Request{Model: "gemini-2.5-flash", Messages: make([]openai.Message, n)}
	for i := range req.Messages {
		req.Messages[i] = openai.Message{Role: "user", Content: openai.Content{Text: "word"}}
	}
	return req
}

// BenchmarkMergeManyMessages translates 10k, 80k and 320k consecutive user messages; ns/op grows
// linearly with n when the merge is linear.
func BenchmarkMergeManyMessages(b *testing.B) {
	models, _ := NewModels("")
	for _, n := range []int{10_000, 80_000, 320_000} {
		req := manyMessages(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr, err := RequestToGemini(context.Background(), req, models, RequestOptions{Backend: gemini.Developer})
				if err != nil {
					b.Fatal(err)
				}
				if len(tr.Request.Contents) != 1 || len(tr.Request.Contents[0].Parts) != n {
					b.Fatalf("got %d contents", len(tr.Request.Contents))
				}
			}
		})
	}
}
