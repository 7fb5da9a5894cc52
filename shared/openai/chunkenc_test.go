package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/internal/fieldtest"
)

// encodeStd is what sseWriter wrote before AppendChunk: an Encoder without HTML escaping, its
// trailing newline cut.
func encodeStd(t *testing.T, c *Chunk) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fuzzChunk builds a chunk of the shape AppendChunk encodes from fuzzed values: the flags pick
// which optional fields are set, the strings fill every string field.
func fuzzChunk(id, model, role, content, reasoning, finish, native string, created int64, index int, flags uint16, prompt int) *Chunk {
	c := &Chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model}
	if flags&1 != 0 {
		c.Choices = []ChunkChoice{}
	}
	for i := range int(flags>>1) & 3 {
		ch := ChunkChoice{Index: index + i, NativeFinishReason: native}
		ch.Delta.Role = role
		if flags&(1<<3) != 0 {
			ch.Delta.Content = &content
		}
		if flags&(1<<4) != 0 {
			ch.Delta.ReasoningContent = &reasoning
		}
		if flags&(1<<5) != 0 {
			ch.FinishReason = &finish
		}
		c.Choices = append(c.Choices, ch)
	}
	switch (flags >> 6) & 3 {
	case 1:
		c.Usage.Null = true
	case 2, 3:
		c.Usage.Totals = &Usage{PromptTokens: prompt, CompletionTokens: index, TotalTokens: prompt + index}
		c.Usage.Totals.CompletionTokensDetails.ImageTokens = int(flags >> 8)
		if flags&(1<<8) != 0 {
			c.Usage.Totals.ExtraProperties = &UsageExtra{Google: &UsageGoogle{TrafficType: native}}
		}
	}
	return c
}

// FuzzAppendChunk proves AppendChunk byte-identical to encoding/json for every chunk of the
// shape it takes, with any strings (control bytes, quotes, invalid UTF-8, U+2028, HTML
// characters) and numbers.
func FuzzAppendChunk(f *testing.F) {
	f.Add("chatcmpl-1", "gemini-2.5-flash", "assistant", "Paris", "", "stop", "", int64(1764300000), 0, uint16(0b1111_1010), 12)
	f.Add("id\"\\", "m<>&", "", "a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff\xfe", "think\xe2\x80", "length", "MAX_TOKENS", int64(-1), -3, uint16(0xffff), -5)
	f.Add("", "", "", "", "", "", "SAFETY", int64(0), 0, uint16(0), 0)
	f.Add("x", "y", "assistant", "", "", "", "", int64(1), 1, uint16(0b0100_0001), 1)
	f.Fuzz(func(t *testing.T, id, model, role, content, reasoning, finish, native string, created int64, index int, flags uint16, prompt int) {
		c := fuzzChunk(id, model, role, content, reasoning, finish, native, created, index, flags, prompt)
		got, ok := AppendChunk([]byte("prefix"), c)
		if u := c.Usage.Totals; !ok && u != nil && u.ExtraProperties != nil && strings.ContainsAny(u.ExtraProperties.Google.TrafficType, "<>&") {
			return // json.Marshal's HTML escapes, inside ChunkUsage.MarshalJSON: left to encoding/json
		}
		if !ok {
			t.Fatalf("AppendChunk refused a chunk of its shape: %+v", c)
		}
		if want := encodeStd(t, c); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("AppendChunk differs from encoding/json:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	})
}

// Chunks of any other shape are left to encoding/json, with the buffer untouched.
func TestAppendChunkRefusesOtherShapes(t *testing.T) {
	fp := "fp"
	for name, c := range map[string]*Chunk{
		"system_fingerprint": {SystemFingerprint: &fp},
		"logprobs":           {Choices: []ChunkChoice{{Logprobs: &Logprobs{}}}},
		"tool_calls":         {Choices: []ChunkChoice{{Delta: Delta{ToolCalls: []ToolCall{{}}}}}},
		"audio":              {Choices: []ChunkChoice{{Delta: Delta{Audio: &Audio{}}}}},
		"images":             {Choices: []ChunkChoice{{Delta: Delta{Images: []Image{}}}}},
		"annotations":        {Choices: []ChunkChoice{{Delta: Delta{Annotations: []Annotation{{}}}}}},
		"extra_content":      {Choices: []ChunkChoice{{Delta: Delta{ExtraContent: &ExtraContent{}}}}},
	} {
		if b, ok := AppendChunk([]byte("x"), c); ok || string(b) != "x" {
			t.Errorf("%s: ok=%v, buffer %q", name, ok, b)
		}
	}
}

func BenchmarkChunkEncoding(b *testing.B) {
	content, stop := " is the capital of France.", "stop"
	c := &Chunk{ID: "chatcmpl-0123456789abcdef", Object: "chat.completion.chunk", Created: 1764300000, Model: "gemini-2.5-flash",
		Choices: []ChunkChoice{{Delta: Delta{Content: &content}, FinishReason: &stop}}, Usage: ChunkUsage{Null: true}}
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			_ = enc.Encode(c)
		}
	})
	b.Run("AppendChunk", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendChunk(buf[:0], c)
		}
	})
}

// fuzzResponse builds a response of the shape AppendResponse encodes from fuzzed values: flags
// pick the optional fields, the strings fill every string field, n fills every count.
func fuzzResponse(id, model, content, reasoning, finish, native, traffic string, created int64, n int, flags uint16) *Response {
	r := &Response{ID: id, Object: "chat.completion", Created: created, Model: model}
	if flags&1 != 0 {
		r.SystemFingerprint = &native
	}
	if flags&2 != 0 {
		r.Choices = []Choice{}
	}
	for i := range int(flags>>2) & 3 {
		ch := Choice{Index: n + i, NativeFinishReason: native, Message: OutMessage{Role: "assistant"}}
		if flags&(1<<4) != 0 {
			ch.Message.Content = &content
		}
		if flags&(1<<5) != 0 {
			ch.Message.ReasoningContent = &reasoning
		}
		if flags&(1<<6) != 0 {
			ch.FinishReason = &finish
		}
		r.Choices = append(r.Choices, ch)
	}
	if flags&(1<<7) != 0 {
		u := &Usage{PromptTokens: n, CompletionTokens: n + 1, TotalTokens: -n}
		u.PromptTokensDetails = PromptTokensDetails{CachedTokens: n * 3, TextTokens: n * 5, AudioTokens: n * 7, ImageTokens: n * 11}
		u.CompletionTokensDetails = CompletionTokensDetails{TextTokens: n >> 1, AudioTokens: n >> 2, ReasoningTokens: n >> 3}
		if flags&(1<<8) != 0 {
			u.CompletionTokensDetails.ImageTokens = n
		}
		switch (flags >> 9) & 3 {
		case 1:
			u.ExtraProperties = &UsageExtra{}
		case 2:
			u.ExtraProperties = &UsageExtra{Google: &UsageGoogle{}}
		case 3:
			u.ExtraProperties = &UsageExtra{Google: &UsageGoogle{TrafficType: traffic}}
		}
		r.Usage = u
	}
	return r
}

// FuzzAppendResponse proves AppendResponse byte-identical to encoding/json (an Encoder without
// HTML escaping, as writeJSON uses) for every response of the shape it takes.
func FuzzAppendResponse(f *testing.F) {
	f.Add("chatcmpl-1", "gemini-2.5-flash", "Paris", "", "stop", "STOP", "ON_DEMAND", int64(1764300000), 12, uint16(0xffff))
	f.Add("id\"\\", "m<>&", "a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff\xfe", "think\xe2\x80", "length", "", "", int64(-1), -3, uint16(0b1_1011_0110))
	f.Add("", "", "", "", "", "", "", int64(0), 0, uint16(0))
	f.Fuzz(func(t *testing.T, id, model, content, reasoning, finish, native, traffic string, created int64, n int, flags uint16) {
		r := fuzzResponse(id, model, content, reasoning, finish, native, traffic, created, n, flags)
		got, ok := AppendResponse([]byte("prefix"), r)
		if !ok {
			t.Fatalf("AppendResponse refused a response of its shape: %+v", r)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("AppendResponse differs from encoding/json:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	})
}

// Responses of any other shape are left to encoding/json, with the buffer untouched.
func TestAppendResponseRefusesOtherShapes(t *testing.T) {
	for name, m := range map[string]OutMessage{
		"tool_calls":    {ToolCalls: []ToolCall{{}}},
		"audio":         {Audio: &Audio{}},
		"images":        {Images: []Image{}},
		"annotations":   {Annotations: []Annotation{{}}},
		"extra_content": {ExtraContent: &ExtraContent{}},
	} {
		if b, ok := AppendResponse([]byte("x"), &Response{Choices: []Choice{{Message: m}}}); ok || string(b) != "x" {
			t.Errorf("%s: ok=%v, buffer %q", name, ok, b)
		}
	}
	if b, ok := AppendResponse([]byte("x"), &Response{Choices: []Choice{{Logprobs: &Logprobs{}}}}); ok || string(b) != "x" {
		t.Errorf("logprobs: ok=%v, buffer %q", ok, b)
	}
}

// eachField calls try once per field of every struct targets reach, with a fresh value whose
// field alone is filled.
func eachField[T any](t *testing.T, base func() *T, targets map[string]func(*T) reflect.Value, try func(name string, v *T)) {
	t.Helper()
	for name, target := range targets {
		for i := range target(base()).NumField() {
			v := base()
			fieldtest.Fill(target(v).Field(i), 2)
			try(name+"."+target(v).Type().Field(i).Name, v)
		}
	}
}

// Every field of the completion and chunk types, set on its own, is encoded as encoding/json
// encodes it, or makes AppendResponse or AppendChunk refuse: a field added to these types cannot
// be dropped silently by the hand-written encoders.
func TestAppendKnowsEveryField(t *testing.T) {
	std := func(v any) []byte {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	usage := func() *Usage { return &Usage{ExtraProperties: &UsageExtra{Google: &UsageGoogle{}}} }
	eachField(t, func() *Response {
		return &Response{Choices: []Choice{{}}, Usage: usage()}
	}, map[string]func(*Response) reflect.Value{
		"Response":                func(r *Response) reflect.Value { return reflect.ValueOf(r).Elem() },
		"Choice":                  func(r *Response) reflect.Value { return reflect.ValueOf(&r.Choices[0]).Elem() },
		"OutMessage":              func(r *Response) reflect.Value { return reflect.ValueOf(&r.Choices[0].Message).Elem() },
		"Usage":                   func(r *Response) reflect.Value { return reflect.ValueOf(r.Usage).Elem() },
		"PromptTokensDetails":     func(r *Response) reflect.Value { return reflect.ValueOf(&r.Usage.PromptTokensDetails).Elem() },
		"CompletionTokensDetails": func(r *Response) reflect.Value { return reflect.ValueOf(&r.Usage.CompletionTokensDetails).Elem() },
		"UsageGoogle":             func(r *Response) reflect.Value { return reflect.ValueOf(r.Usage.ExtraProperties.Google).Elem() },
	}, func(name string, r *Response) {
		if got, ok := AppendResponse(nil, r); ok && !bytes.Equal(got, std(r)) {
			t.Errorf("%s: AppendResponse differs from encoding/json:\n got %s\nwant %s", name, got, std(r))
		}
	})
	eachField(t, func() *Chunk {
		return &Chunk{Choices: []ChunkChoice{{}}, Usage: ChunkUsage{Totals: usage()}}
	}, map[string]func(*Chunk) reflect.Value{
		"Chunk":       func(c *Chunk) reflect.Value { return reflect.ValueOf(c).Elem() },
		"ChunkChoice": func(c *Chunk) reflect.Value { return reflect.ValueOf(&c.Choices[0]).Elem() },
		"Delta":       func(c *Chunk) reflect.Value { return reflect.ValueOf(&c.Choices[0].Delta).Elem() },
		"Usage":       func(c *Chunk) reflect.Value { return reflect.ValueOf(c.Usage.Totals).Elem() },
	}, func(name string, c *Chunk) {
		if got, ok := AppendChunk(nil, c); ok && !bytes.Equal(got, std(c)) {
			t.Errorf("%s: AppendChunk differs from encoding/json:\n got %s\nwant %s", name, got, std(c))
		}
	})
}
