package openai

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestDecodeRequestUnions pins the content, stop and tool_choice unions and unknown-field errors.
func TestDecodeRequestUnions(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":null}],"stop":"x","tool_choice":{"type":"function","function":{"name":"f"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages[0].Content.Text != "hi" || !r.Messages[1].Content.IsParts || !r.Messages[2].Content.IsNull {
		t.Errorf("content union: %+v", r.Messages)
	}
	if len(r.Stop) != 1 || r.Stop[0] != "x" || r.ToolChoice.Function != "f" {
		t.Errorf("stop %v tool_choice %+v", r.Stop, r.ToolChoice)
	}
	for body, param := range map[string]string{
		`{"model":"m","messages":[],"bogus":true}`:               "bogus",
		`{"model":"m","messages":[1 2],"bogus":true}`:            "bogus", // the walk skips what it cannot count
		`{"model":"m","messages":[5],"messages":{}}`:             "messages",
		`{"model":"m","messages":[],"b\u006fgus2":true}`:         "bogus2",
		`{"model":"m","messages":[{"role":"user","content":5}]}`: "messages[0].content",
		`{"model":"m","messages":[],"tool_choice":{"type":"x"}}`: "tool_choice",
		`{"model":"m","messages":[],"temperature":"hot"}`:        "temperature",
	} {
		_, err := DecodeRequest([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Param, param) {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}

// FuzzDecodeRequest: decoding never panics and always yields a request or a 400.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],"stop":["a"],"tool_choice":"auto"}`,
		`{"a":"\"}\\","b":[{"c":"]"}],"model":1}`, `[]`, `null`, `{`, `{"model":"m","messages":[],"extra_body":{"google":{}}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{}}]}],"google":{"thinking_confg":{}}}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"},"x":1}]}],"extra_body":{"google":{"labels":{"a":"b"}}}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"file:///x","format":"wav"}}]}],"stop":["a","b","c","d","e"],"seed":1e10}`,
	} {
		f.Add([]byte(s))
	}
	// and the bodies real clients send
	files := sdkRecordings
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		var bodies []json.RawMessage
		_ = json.Unmarshal(raw, &bodies)
		for _, b := range bodies {
			f.Add([]byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error is not a 400 *Error: %v", err)
			}
			return
		}
		if r == nil {
			t.Fatal("nil request without error")
		}
		// what decoded must agree with encoding/json on the body's validity
		if !json.Valid(b) {
			t.Fatalf("decoded a body encoding/json rejects: %q", b)
		}
	})
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France? Answer in one word."}],"temperature":0.2,"max_tokens":100,"stream":false}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestContentParts pins the part union: image_url as object or string, input_audio, file,
// extra_content, and type errors naming the part.
func TestContentParts(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":[
		{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}},
		{"type":"image_url","image_url":"gs://b/o.jpg"},
		{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}},
		{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}},
		{"type":"text","text":"hi","extra_content":{"google":{"thought_signature":"c2ln"}}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := r.Messages[0].Content.Parts
	if p[0].ImageURL.Detail != "low" || p[1].ImageURL.URL != "gs://b/o.jpg" || p[2].InputAudio.Format != "wav" ||
		p[3].File.Filename != "a.pdf" || p[4].ExtraContent.Google.ThoughtSignature != "c2ln" {
		t.Errorf("parts = %+v", p)
	}
	for body, param := range map[string]string{
		`{"model":"m","messages":[{"role":"user","content":[5]}]}`:                                          "messages[0].content[0]",
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}`:                   "messages[0].content[0].text",
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":1}}]}]}`: "messages[0].content[0].image_url.url",
		`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":"x"}]}]}`:   "messages[0].content[0].input_audio",
	} {
		_, err := DecodeRequest([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Param != param {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}

// benchBodies are the request shapes the decode benchmarks time: the representative small
// request (loadbench's and the gateway's BenchmarkSmallRequests/unary), and an agent's turn with a
// system prompt, a tool with a JSON schema, a tool call and its result, and sampling fields.
var benchBodies = []struct{ name, body string }{
	{"representative", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":100}`},
	{"agent", `{"model":"gemini-2.5-flash","messages":[` +
		`{"role":"system","content":"You are a helpful assistant. Use the tools when they help."},` +
		`{"role":"user","content":"What is the weather in Paris, in celsius?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"{\"temperature\":18,\"sky\":\"cloudy\"}"},` +
		`{"role":"assistant","content":"It is 18 °C and cloudy in Paris."},` +
		`{"role":"user","content":[{"type":"text","text":"And tomorrow?"}]}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}],` +
		`"tool_choice":"auto","temperature":0.7,"top_p":0.95,"stop":["\n\nUser:"],"response_format":{"type":"text"},"max_completion_tokens":512,"stream":false}`},
}

func BenchmarkDecodeBodies(b *testing.B) {
	for _, c := range benchBodies {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
