package openai

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSDKBodiesDecode pins that the bodies real clients send (recorded in testdata/sdk, see its
// SOURCES.md), echoed history included, decode without error, and that the thought signatures
// they echo are kept on the typed message and tool call.
func TestSDKBodiesDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/sdk/*.json")
	if len(files) < 4 {
		t.Fatalf("want 4 SDK recordings, found %d", len(files))
	}
	signatures := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []json.RawMessage
		if err := json.Unmarshal(raw, &bodies); err != nil {
			t.Fatal(err)
		}
		for i, b := range bodies {
			r, err := DecodeRequest(b)
			if err != nil {
				t.Errorf("%s body %d: %v", filepath.Base(f), i, err)
				continue
			}
			// The same body with one unknown key in its last message is refused, naming it.
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			msgs := m["messages"].([]any)
			msgs[len(msgs)-1].(map[string]any)["bogus_field"] = 1
			bad, _ := json.Marshal(m)
			want := "messages[" + strconv.Itoa(len(msgs)-1) + "].bogus_field"
			var e *Error
			if _, err := DecodeRequest(bad); !errors.As(err, &e) || e.Param != want {
				t.Errorf("%s body %d with %s: err = %v", filepath.Base(f), i, want, err)
			}
			for _, m := range r.Messages {
				if m.ExtraContent != nil && m.ExtraContent.Google != nil && m.ExtraContent.Google.ThoughtSignature == "c2ln" {
					signatures++
				}
				for _, tc := range m.ToolCalls {
					if tc.ExtraContent != nil && tc.ExtraContent.Google.ThoughtSignature == "c2ln" {
						signatures++
					}
				}
			}
		}
	}
	if signatures == 0 {
		t.Error("no echoed thought signature was kept")
	}
}

// TestUnknownFields pins issue 11: an unknown key in a message, a part or the google namespace is
// a 400 whose param is its path; the fields clients echo back are accepted.
func TestUnknownFields(t *testing.T) {
	const user = `{"role":"user","content":"q"}`
	const call = `{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}%s}]}`
	wrap := func(msgs string) string { return `{"model":"m","messages":[` + msgs + `]}` }
	for _, c := range []struct{ body, param string }{
		{wrap(`{"role":"user","content":"q","contnet":"x"}`), "messages[0].contnet"},
		{wrap(`{"role":"user","content":[{"type":"text","text":"a","txt":"b"}]}`), "messages[0].content[0].txt"},
		{wrap(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"gs://b/a.png","detial":"low"}}]}`), "messages[0].content[0].image_url.detial"},
		{wrap(`{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklG","format":"wav","rate":1}}]}`), "messages[0].content[0].input_audio.rate"},
		{wrap(`{"role":"user","content":[{"type":"file","file":{"file_id":"gs://b/a.pdf","name":"a"}}]}`), "messages[0].content[0].file.name"},
		{wrap(user + `,` + strings.Replace(call, "%s", `,"x":1`, 1)), "messages[1].tool_calls[0].x"},
		{wrap(user + `,` + strings.Replace(strings.Replace(call, "%s", "", 1), `"arguments":"{}"`, `"arguments":"{}","args":{}`, 1)), "messages[1].tool_calls[0].function.args"},
		{wrap(`{"role":"user","content":"q","extra_content":{"gogle":{}}}`), "messages[0].extra_content.gogle"},
		{wrap(`{"role":"user","content":"q","extra_content":{"google":{"thought_sig":"x"}}}`), "messages[0].extra_content.google.thought_sig"},
		{wrap(`{"role":"user","content":[{"type":"text","text":"a","extra_content":{"google":{"x":1}}}]}`), "messages[0].content[0].extra_content.google.x"},
		{`{"model":"m","messages":[` + user + `],"google":{"thinking_confg":{}}}`, "google.thinking_confg"},
		{`{"model":"m","messages":[` + user + `],"google":{"thinking_config":{"budget":1}}}`, "google.thinking_config.budget"},
		{`{"model":"m","messages":[` + user + `],"extra_body":{"google":{"labelz":{}}}}`, "extra_body.google.labelz"},
		{`{"model":"m","messages":[` + user + `],"extra_body":{"openai":{}}}`, "extra_body.openai"},
		{`{"model":"m","messages":[` + user + `],"google":{"thinking_confg":{}},"google":{}}`, "google"},
		{`{"model":"m","messages":[` + user + `],"google":{"thought_tag_marker":"a"},"extra_body":{"google":{"thought_tag_marker":"b"}}}`, "google.thought_tag_marker"},
		{`{"model":"m","messages":[` + user + `],"google":{"thinking_config":{}},"extra_body":{"google":{"thinking_config":{"include_thoughts":false}}}}`, "google.thinking_config"},
	} {
		_, err := DecodeRequest([]byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != c.param || !strings.Contains(e.Message, c.param) {
			t.Errorf("%s:\n err = %v, want a 400 naming %s", c.body, err, c.param)
		}
	}
	// Accepted and ignored (README): what clients echo back from earlier responses.
	for _, body := range []string{
		wrap(user + `,{"role":"assistant","content":"a","refusal":null,"annotations":[{"type":"url_citation"}],"audio":{"id":"x","data":"AA=="},"reasoning_content":"r","name":"bot","extra_content":{"google":{"thought_signature":"c2ln"}}}`),
		wrap(`{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}`),
		wrap(`{"role":"user","content":[{"type":"video_url","video_url":{"url":"x"}}]}`), // refused by type in translate
	} {
		if _, err := DecodeRequest([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestGoogleFolding pins that google and extra_body.google setting different keys are merged.
func TestGoogleFolding(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","messages":[],"google":{"thought_tag_marker":"t"},"extra_body":{"google":{"cached_content":"c","thinking_config":{"thinking_budget":5}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.ExtraBody != nil || r.Google.ThoughtTagMarker != "t" || r.Google.CachedContent != "c" || *r.Google.ThinkingConfig.ThinkingBudget != 5 {
		t.Errorf("google = %+v, extra_body = %+v", r.Google, r.ExtraBody)
	}
}

// TestLimits pins issue 12 item 3: each limit is refused with a 400 naming it, before decoding.
func TestLimits(t *testing.T) {
	rep := func(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }
	l := Limits{Messages: 3, Parts: 4}
	for _, c := range []struct{ body, param, says string }{
		{`{"model":"m","messages":[` + rep(`{"role":"user","content":"q"}`, 4) + `]}`, "messages", "GATEWAY_MAX_MESSAGES"},
		{`{"model":"m","messages":[{"role":"user","content":[` + rep(`{"type":"text","text":"a"}`, 5) + `]}]}`, "messages[0].content", "GATEWAY_MAX_PARTS"},
		{`{"model":"m","messages":[{"role":"user","content":[` + rep(`{"type":"text","text":"a"}`, 3) + `]},{"role":"assistant","tool_calls":[` + rep(`{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}`, 2) + `]}]}`, "messages[1].tool_calls", "GATEWAY_MAX_PARTS"},
		{`{"model":"m","messages":[],"stop":[` + rep(`"a"`, 5) + `]}`, "stop", "at most 4"},
		{`{"model":"m","messages":[],"tools":[` + rep(`{"type":"function","function":{"name":"f"}}`, 129) + `]}`, "tools", "at most 128"},
		{`{"model":"m","messages":[],"metadata":{` + strings.TrimSuffix(strings.Repeat(`"k":"v",`, 17), ",") + `}}`, "metadata", "at most 16"},
		{`{"model":"m","messages":[],"google":{"labels":{` + strings.TrimSuffix(strings.Repeat(`"k":"v",`, 65), ",") + `}}}`, "google.labels", "at most 64"},
	} {
		_, err := l.Decode(context.Background(), []byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != c.param || !strings.Contains(e.Message, c.says) {
			t.Errorf("%.80s…: err = %v, want a 400 on %s saying %q", c.body, err, c.param, c.says)
		}
	}
	if _, err := l.Decode(context.Background(), []byte(`{"model":"m","messages":[`+rep(`{"role":"user","content":"q"}`, 3)+`],"stop":["a","b","c","d"]}`)); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

// TestRanges pins issue 12 item 6: out-of-range values are a 400 naming the field.
func TestRanges(t *testing.T) {
	for field, v := range map[string]string{
		"temperature": `2.5`, "top_p": `-0.1`, "top_k": `0`, "n": `0`, "max_tokens": `0`, "max_completion_tokens": `-1`,
		"top_logprobs": `21`, "seed": `2147483648`,
	} {
		body := `{"model":"m","messages":[],"` + field + `":` + v + `}`
		_, err := DecodeRequest([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != field {
			t.Errorf("%s: err = %v", body, err)
		}
	}
	for name, param := range map[string]string{
		"a b": "tools[1].function.name", "": "tools[1].function.name", "nul\u0000": "tools[1].function.name",
		strings.Repeat("x", 65): "tools[1].function.name",
	} {
		b, _ := json.Marshal(name)
		body := `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"ok-1_A"}},{"type":"function","function":{"name":` + string(b) + `}}]}`
		_, err := DecodeRequest([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Param != param {
			t.Errorf("tool name %q: err = %v", name, err)
		}
	}
	for _, c := range []struct{ part, param string }{
		{`{"type":"input_audio","input_audio":{"data":"file:///etc/passwd","format":"wav"}}`, "messages[0].content[0].input_audio.data"},
		{`{"type":"input_audio","input_audio":{"data":"gopher://x/","format":"wav"}}`, "messages[0].content[0].input_audio.data"},
		{`{"type":"input_audio","input_audio":{"data":"UklGR","format":"wav"}}`, "messages[0].content[0].input_audio.data"},
		{`{"type":"file","file":{"file_data":"gs://b/a.pdf","filename":"a.pdf"}}`, "messages[0].content[0].file.file_data"},
		{`{"type":"file","file":{"file_data":"JVBE===","filename":"a.pdf"}}`, "messages[0].content[0].file.file_data"},
	} {
		body := `{"model":"m","messages":[{"role":"user","content":[` + c.part + `]}]}`
		_, err := DecodeRequest([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Param != c.param {
			t.Errorf("%s: err = %v", c.part, err)
		}
	}
	for _, part := range []string{
		`{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}`,
		`{"type":"input_audio","input_audio":{"data":"https://example.com/a.wav","format":"wav"}}`,
		`{"type":"input_audio","input_audio":{"data":"UklGRg-_","format":"wav"}}`,
		`{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}}`,
	} {
		if _, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":[` + part + `]}]}`)); err != nil {
			t.Errorf("%s: %v", part, err)
		}
	}
}

// TestDecodeStopsWhenCanceled pins that decoding many messages gives up once the request's
// context is done, instead of finishing the walk.
func TestDecodeStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := `{"model":"m","messages":[` + strings.TrimSuffix(strings.Repeat(`{"role":"user","content":"q"},`, 2*checkEvery), ",") + `]}`
	if _, err := DefaultLimits.Decode(ctx, []byte(body)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
