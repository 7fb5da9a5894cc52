package openai

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// topLevelCases are bodies whose top level the fast path must decode as encoding/json does,
// taken or declined as marked.
var topLevelCases = []struct {
	body string
	fast bool
}{
	{`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"max_tokens":100}`, true},
	{`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[],"temperature":0.2,"top_p":1,"seed":-7,"n":1}`, true},
	{`{"model":"m\u00e9\"","user":"u","store":false,"logprobs":null,"max_tokens":null,"stream":null,"stream_options":{},"messages":null}`, true},
	{`{"model":"m","temperature":1e400}`, false},
	{`{"model":"m","max_tokens":1.5}`, false},
	{`{"model":"m","max_tokens":1e2}`, false},
	{`{"model":"m","max_tokens":"1"}`, false},
	{`{"model":"m","max_tokens":99999999999999999999}`, false},
	{`{"model":5}`, false},
	{`{"model":"a","model":"b"}`, false},
	{`{"model":"m","stream":"yes"}`, false},
	{`{"model":"m","stream_options":{"include_usage":true,"include_usage":false}}`, false},
	{`{"model":"m","stream_options":{"x":1}}`, false},
	{`{"model":"m","stream_options":null}`, false},
	{`{"model":"m","stop":["a"]}`, true},
	{`{"model":"m","stop":"a\u00e9"}`, true},
	{`{"model":"m","stop":[]}`, true},
	{`{"model":"m","stop":null}`, true},
	{`{"model":"m","stop":["a",null]}`, false},
	{`{"model":"m","stop":["a",1]}`, false},
	{`{"model":"m","stop":5}`, false},
	{`{"model":"m","stop":{}}`, false},
	{`{"model":"m","stop":["a","b","c","d"]}`, true},
	{`{"model":"m","stop":["a","b","c","d","e"]}`, false}, // past the limit: not decoded, refused by maxLen
	{`{"model":"m","tools":[]}`, true},
	{`{"model":"m","tools":null}`, true},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}}]}`, true},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g","parameters":{}}}]}`, true},
	{`{"model":"m","tools":[{"type":"function"}]}`, true},
	{`{"model":"m","tools":[{}]}`, true},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"bad name"}}]}`, true}, // taken, refused by validate
	{`{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":null}}]}`, false},
	{`{"model":"m","tools":[{"type":"function","function":null}]}`, false},
	{`{"model":"m","tools":[{"type":"function","Function":{"name":"f"}}]}`, false},
	{`{"model":"m","tools":[{"type":"function","type":"x"}]}`, false},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"f","name":"g"}}]}`, false},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"f","x":1}}]}`, false},
	{`{"model":"m","tools":[{"type":"function","function":{"name":"f","strict":"yes"}}]}`, false},
	{`{"model":"m","tools":[{"type":"function","function":{"name":1}}]}`, false},
	{`{"model":"m","tools":[1]}`, false},
	{`{"model":"m","tools":[` + strings.Repeat(`{"type":"function","function":{"name":"f"}},`, maxTools) + `{}]}`, false}, // past the limit
	{`{"model":"m","tools":{}}`, false},
	{`{"model":"m","tool_choice":"auto"}`, true},
	{`{"model":"m","tool_choice":null}`, true},
	{`{"model":"m","tool_choice":{"type":"function","function":{"name":"f"}}}`, false},
	{`{"model":"m","tool_choice":1}`, false},
	{`{"model":"m","response_format":{"type":"json_object"}}`, true},
	{`{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"n","description":"d","schema":{"type":"object","required":["a"]},"strict":false}}}`, true},
	{`{"model":"m","response_format":{}}`, true},
	{`{"model":"m","response_format":{"type":"json_schema","json_schema":{}}}`, true},
	{`{"model":"m","response_format":null}`, true},
	{`{"model":"m","response_format":{"type":"json_schema","json_schema":{"schema":null}}}`, false},
	{`{"model":"m","response_format":{"type":"text","extra":1}}`, false},
	{`{"model":"m","response_format":{"Type":"text"}}`, false},
	{`{"model":"m","response_format":{"type":"text","type":"json_object"}}`, false},
	{`{"model":"m","response_format":"text"}`, false},
	// tool calls and extra_content, decoded by hand below the top level
	{`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}","thought_signature":"s"},"extra_content":{"google":{"thought_signature":"c2ln"}}}],"extra_content":{"google":{"thought_signature":"t","mime_type":"image/png","parts":[{"text":"x"}]}}}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"},"x":1}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","Arguments":"{}"}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","id":"d","function":{"name":"f","arguments":"{}"}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f"},"function":{"arguments":"{}"}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":1.5,"function":{"name":"f","arguments":"{}"}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":null,"function":null}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":1}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"extra_content":{"google":{"thought_signature":"a"}}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"user","extra_content":{"google":{"thought_signature":"a"}},"extra_content":{"google":{"mime_type":"b"}}}]}`, true},
	{`{"model":"m","messages":[{"role":"user","extra_content":{"google":null}}]}`, true},
	{`{"model":"m","messages":[{"role":"user","extra_content":{"google":{"parts":null}}}]}`, true},
	{`{"model":"m","messages":[{"role":"user","extra_content":{"google":{"x":1}}}]}`, true},
	{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","extra_content":{"google":{"thought_signature":"s"}}}]}]}`, true},
	{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","extra_content":{"Google":{}}}]}]}`, true},
	{`{"model":"m","temperature":01}`, true}, // taken at the top level, refused by json.Valid
	{`{"model":"m","messages":[{"role":"user","content":"hi"},]}`, true},
}

// fastTopLevel reports whether setTopLevel takes every top-level member of body.
func fastTopLevel(body []byte) bool {
	var r Request
	var seen uint64
	ok := true
	err := jsonscan.Object(body, func(k, v []byte) error {
		ok = ok && r.setTopLevel(k, v, &seen, nil, 0)
		return nil
	})
	return err == nil && ok
}

// sameDecode fails when decoding body with the fast top level differs in any way from decoding
// it with encoding/json: the request, or the error's status and message.
func sameDecode(t *testing.T, body []byte) {
	t.Helper()
	got, gerr := DefaultLimits.decode(context.Background(), body, true)
	want, werr := DefaultLimits.decode(context.Background(), body, false)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%s:\nfast error %v\njson error %v", body, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\nfast %+v\njson %+v", body, got, want)
	}
}

// The common top-level members are decoded by hand, with encoding/json's result; the rest is
// left to encoding/json. A fast path that never ran would pass the comparison, so the common
// shapes (and every recorded SDK body) must take it.
func TestDecodeTopLevel(t *testing.T) {
	for _, c := range topLevelCases {
		sameDecode(t, []byte(c.body))
		if got := fastTopLevel([]byte(c.body)); got != c.fast {
			t.Errorf("%s: fast path took it: %v, want %v", c.body, got, c.fast)
		}
	}
	for _, b := range recordedBodies(t) {
		sameDecode(t, b)
		// the google extensions are left to encoding/json; everything else the SDKs send is taken
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			t.Fatal(err)
		}
		if _, google := top["google"]; !google && !fastTopLevel(b) {
			t.Errorf("the fast path declined a recorded SDK body: %s", b)
		}
	}
	for _, c := range benchBodies {
		sameDecode(t, []byte(c.body))
		if !fastTopLevel([]byte(c.body)) {
			t.Errorf("%s: the fast path declined it", c.name)
		}
	}
}

// recordedBodies are the Chat Completions bodies the official SDKs were recorded sending.
func recordedBodies(t testing.TB) []json.RawMessage {
	var out []json.RawMessage
	for _, file := range sdkRecordings {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []json.RawMessage
		if err := json.Unmarshal(raw, &bodies); err != nil {
			t.Fatal(err)
		}
		out = append(out, bodies...)
	}
	return out
}

// FuzzDecodeTopLevel holds the hand-decoded top level to encoding/json's: the same request or
// the same error for every body.
func FuzzDecodeTopLevel(f *testing.F) {
	for _, c := range topLevelCases {
		f.Add([]byte(c.body))
	}
	for _, b := range recordedBodies(f) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameDecode(t, b)
	})
}

// TestKnownFieldsAreRequestTags holds knownField's switch to Request's JSON tags: every tag is
// known, and no other key is — tried with the tags of every type a request holds (keys that are
// valid one level down), the keys setTopLevel numbers, and near misses of each tag.
func TestKnownFieldsAreRequestTags(t *testing.T) {
	tags := fieldsOf(reflect.TypeFor[Request]()).keys
	candidates := []string{"", "x", "Model", "MODEL", "model ", "extra_body.google"}
	for _, typ := range []reflect.Type{reflect.TypeFor[Request](), reflect.TypeFor[Message](), reflect.TypeFor[Part](),
		reflect.TypeFor[Google](), reflect.TypeFor[ToolCall](), reflect.TypeFor[Tool](), reflect.TypeFor[FunctionDecl](),
		reflect.TypeFor[ResponseFormat](), reflect.TypeFor[JSONSchema](), reflect.TypeFor[ThinkingConfig](),
		reflect.TypeFor[StreamOptions](), reflect.TypeFor[ExtraContent](), reflect.TypeFor[GoogleExtra]()} {
		for k := range fieldsOf(typ).keys {
			candidates = append(candidates, k, k+"s", k[:len(k)-1], strings.ToUpper(k))
		}
	}
	for _, k := range candidates {
		_, want := tags[k]
		if got := knownField([]byte(k)); got != want {
			t.Errorf("knownField(%q) = %v, Request's tags say %v", k, got, want)
		}
		if i := topLevelIndex([]byte(k)); i >= 0 && !want {
			t.Errorf("topLevelIndex(%q) = %d for a key Request does not have", k, i)
		}
	}
}

// TestToolCallsByHand: the tool calls and extra_content the SDKs were recorded echoing back are
// all decoded by hand (a path that never ran would pass sameDecode), with decodeStrict's result.
func TestToolCallsByHand(t *testing.T) {
	calls := 0
	for _, b := range recordedBodies(t) {
		var body struct {
			Messages []struct {
				ToolCalls    []json.RawMessage `json:"tool_calls"`
				ExtraContent json.RawMessage   `json:"extra_content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		for _, m := range body.Messages {
			for _, raw := range m.ToolCalls {
				calls++
				var got, want ToolCall
				if !setToolCall(&got, raw) {
					t.Errorf("setToolCall declined %s", raw)
				}
				if err := decodeStrict(raw, &want, "tool_call"); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: by hand %+v, decodeStrict %+v (%v)", raw, got, want, err)
				}
			}
			if m.ExtraContent != nil {
				var got, want *ExtraContent
				if !setExtraContent(&got, m.ExtraContent) {
					t.Errorf("setExtraContent declined %s", m.ExtraContent)
				}
				if err := decodeStrict(m.ExtraContent, &want, "extra_content"); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: by hand %+v, decodeStrict %+v (%v)", m.ExtraContent, got, want, err)
				}
			}
		}
	}
	if calls == 0 {
		t.Fatal("no tool calls in the recorded bodies")
	}
}
