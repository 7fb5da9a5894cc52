package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// fuzzItems builds one output item of each kind the gateway produces (message with
// output_text, reasoning with a summary, function_call, web_search_call, image_generation_call)
// and an input-style message with other parts, from fuzzed strings and numbers.
func fuzzItems(s string, n int, bit func(uint) bool) []Item {
	str := func(v string) *string { return &v }
	annots := []ResponseAnnotation{{Type: "url_citation", URL: s, Title: s + "t", StartIndex: n, EndIndex: n + 1}}
	text := ItemPart{Type: "output_text", Text: s}
	if bit(0) {
		text.Annotations = &annots
	} else if bit(1) {
		text.Annotations = new([]ResponseAnnotation)
	}
	msg := Item{Type: ItemMessage, ID: "msg_" + s, Status: StatusCompleted, Role: "assistant",
		Content: &ItemContent{IsParts: true, Parts: []ItemPart{text}}}
	if bit(2) {
		msg.Content = &ItemContent{Text: s}
	}
	summary := []SummaryPart{{Type: "summary_text", Text: s}}
	rs := Item{Type: ItemReasoning, ID: "rs_" + s, Summary: &summary}
	if bit(3) {
		rs.EncryptedContent = str(s)
	}
	if bit(4) {
		rs.Summary = new([]SummaryPart)
	}
	call := Item{Type: ItemFunctionCall, ID: "fc_" + s, Status: StatusInProgress, CallID: s, Name: s + "n", Arguments: str(s)}
	ws := Item{Type: ItemWebSearchCall, ID: s, Status: StatusCompleted, Action: &WebSearchAction{Type: "search", Query: s}}
	if bit(5) {
		ws.Action.Sources = []WebSearchSource{{Type: "url", URL: s}, {Type: "url", URL: s + "2"}}
	}
	img := Item{Type: ItemImageGeneration, ID: s, Result: str(s), OutputFormat: "png"}
	in := Item{Role: "user", Content: &ItemContent{IsParts: true, Parts: []ItemPart{
		{Type: "input_text", Text: s}, {Type: "input_image", ImageURL: s, Detail: "auto", FileID: s},
		{Type: "input_file", FileData: s, FileURL: s, Filename: s}, {Type: "refusal", Refusal: s},
	}}}
	if bit(6) {
		in.Content.Parts[3].Annotations = &annots
	}
	out := Item{Type: ItemFunctionCallOutput, CallID: s, Output: &ItemOutput{Text: s}}
	if bit(7) {
		out.Output = &ItemOutput{IsParts: true}
	}
	return []Item{msg, rs, call, ws, img, in, out}
}

// fuzzResponseObject builds a response object with every field set from fuzzed values: flags
// pick which optional ones are present.
func fuzzResponseObject(s, raw string, n int, f float64, flags uint32) *ResponseObject {
	bit := func(i uint) bool { return flags&(1<<i) != 0 }
	str := func(v string) *string { return &v }
	num := func(v int) *int { return &v }
	t := true
	o := &ResponseObject{ID: "resp_" + s, Object: "response", CreatedAt: int64(n), Status: s, Model: s,
		ParallelToolCalls: bit(8), Store: bit(9), Truncation: s, ToolChoice: json.RawMessage(`"auto"`)}
	if bit(10) {
		o.Output = fuzzItems(s, n, bit)
	} else if bit(11) {
		o.Output = []Item{}
	}
	if bit(12) {
		o.Error = &ResponseError{Code: s, Message: s + "m"}
		o.IncompleteDetails = &IncompleteDetails{Reason: s}
	}
	if bit(13) {
		o.Instructions, o.PreviousResponseID, o.User = str(s), str(s+"p"), str(s+"u")
		o.MaxOutputTokens, o.MaxToolCalls = num(n), num(-n)
	}
	if bit(14) {
		o.Temperature = &f
		g := f * 1e-9
		o.TopP = &g
	}
	if bit(15) {
		o.Reasoning = ReasoningConfig{Effort: s, Summary: s, GenerateSummary: s}
	} else if bit(16) {
		o.Reasoning.Summary = s
	}
	if bit(17) {
		o.Text = TextConfig{Format: &TextFormat{Type: "json_schema", Name: s, Description: s, Schema: json.RawMessage(raw), Strict: &t}, Verbosity: s}
	} else if bit(18) {
		o.Text.Verbosity = s
	} else {
		o.Text.Format = &TextFormat{Type: "text"}
	}
	if bit(19) {
		o.ToolChoice = json.RawMessage(raw)
	} else if bit(20) {
		o.ToolChoice = nil
	}
	if bit(21) {
		o.Tools = []ResponsesTool{{Type: "function", Name: s, Description: s, Parameters: json.RawMessage(raw), Strict: &t},
			{Type: "web_search", SearchContextSize: s, UserLocation: json.RawMessage(raw), Filters: json.RawMessage(`{"a": [1, "b c"]}`)}}
	} else if bit(22) {
		o.Tools = []ResponsesTool{}
	}
	if bit(23) {
		o.Usage = &ResponseUsage{InputTokens: n, InputTokensDetails: InputTokensDetails{CachedTokens: n + 1},
			OutputTokens: n + 2, OutputTokensDetails: OutputTokensDetails{ReasoningTokens: n + 3}, TotalTokens: n + 4}
	}
	if bit(24) {
		o.Metadata = map[string]string{s: s, "b": s + "1", "a": "z", "é" + s: "<&>"}
	} else if bit(25) {
		o.Metadata = map[string]string{}
	}
	return o
}

// fuzzObjectEvent builds an event carrying a response, an item or a part.
func fuzzObjectEvent(s, raw string, n int, f float64, flags uint32) *ResponseEvent {
	bit := func(i uint) bool { return flags&(1<<i) != 0 }
	ev := &ResponseEvent{Type: s, SequenceNumber: n}
	switch flags >> 28 {
	case 0, 1, 2, 3:
		ev.Response = fuzzResponseObject(s, raw, n, f, flags)
	case 4, 5, 6, 7:
		items := fuzzItems(s, n, bit)
		ev.OutputIndex, ev.Item = &n, &items[int(flags>>28)%len(items)+int(flags>>26&3)%3]
	case 8, 9:
		ev.OutputIndex, ev.ItemID, ev.ContentIndex = &n, s, &n
		ev.Part = &fuzzItems(s, n, bit)[0].Content.Parts[0]
		if bit(2) {
			ev.Part = &ItemPart{Type: "input_text", Text: s}
		}
	case 10, 11:
		ev.OutputIndex, ev.ItemID, ev.SummaryIndex = &n, s, &n
		ev.Part = &SummaryPart{Type: "summary_text", Text: s}
	default:
		ev.OutputIndex, ev.ItemID, ev.ContentIndex, ev.AnnotationIndex = &n, s, &n, &n
		ev.Annotation = &ResponseAnnotation{Type: "url_citation", URL: s, Title: s, StartIndex: n, EndIndex: -n}
	}
	return ev
}

// FuzzAppendResponseEventObjects proves AppendResponseEvent byte-identical to encoding/json for
// the events that carry a response object, an item, a part or an annotation, with any strings
// (HTML characters, which content parts escape and the rest do not; control bytes; invalid
// UTF-8), raw JSON values and numbers. It refuses only what encoding/json cannot encode.
func FuzzAppendResponseEventObjects(f *testing.F) {
	f.Add("Paris <b>&</b>", `{"type": "object",  "properties": {"a b": {"type":"string"}}}`, 7, 0.7, uint32(0xffffffff>>4))
	f.Add("a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff\"\\<>&", "\"none\"", -3, 1e-7, uint32(0x0fffffff))
	f.Add("", "", 0, 0.0, uint32(0))
	f.Add("x", "[1, 2 ,\n3]", 1, 1e21, uint32(0x4ffffff))
	f.Add("x", "{", 1, 2.5, uint32(0x0ffffff))
	f.Add("x<", "null", 2, math.Copysign(0, -1), uint32(0x8000005))
	f.Add("y&", "1", 3, 123456789.125, uint32(0xa000000))
	f.Add("z>", "1", 3, 1.0, uint32(0xc000000))
	f.Add("w", "1", 3, 1.0, uint32(0x5000007))
	f.Add("v", "1", 3, 1.0, uint32(0x6000000))
	f.Fuzz(func(t *testing.T, s, raw string, n int, fl float64, flags uint32) {
		ev := fuzzObjectEvent(s, raw, n, fl, flags)
		got, ok := AppendResponseEvent([]byte("prefix"), ev)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		err := enc.Encode(ev)
		if !ok {
			if string(got) != "prefix" {
				t.Fatalf("AppendResponseEvent refused but changed the buffer: %q", got)
			}
			if err == nil {
				t.Fatalf("AppendResponseEvent refused an event encoding/json encodes: %s", buf.Bytes())
			}
			return
		}
		if err != nil {
			t.Fatalf("AppendResponseEvent encoded an event encoding/json refuses (%v): %s", err, got)
		}
		if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("AppendResponseEvent differs from encoding/json:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	})
}

// Every field of the response object, its output items, their parts and the types they hold,
// set on its own, is encoded as encoding/json encodes it, or makes AppendResponseEvent refuse:
// a field added to these types later cannot be dropped silently by the hand-written encoders.
// The base shapes themselves must be accepted, so the check is not vacuous.
func TestAppendResponseObjectFields(t *testing.T) {
	check := func(name string, ev *ResponseEvent) bool {
		t.Helper()
		got, ok := AppendResponseEvent(nil, ev)
		if ok && !bytes.Equal(got, encodeEventStd(t, ev)) {
			t.Errorf("%s: AppendResponseEvent differs from encoding/json:\n got %s\nwant %s", name, got, encodeEventStd(t, ev))
		}
		return ok
	}
	baseItem := func() Item {
		return Item{Content: &ItemContent{IsParts: true, Parts: []ItemPart{{Type: "output_text", Annotations: &[]ResponseAnnotation{{}}}}},
			Output:  &ItemOutput{IsParts: true, Parts: []ItemPart{{Type: "input_text", Annotations: &[]ResponseAnnotation{{}}}}},
			Summary: &[]SummaryPart{{}}, Action: &WebSearchAction{Sources: []WebSearchSource{{}}}}
	}
	baseResponse := func() *ResponseEvent {
		return &ResponseEvent{Type: EventCompleted, Response: &ResponseObject{Error: &ResponseError{}, IncompleteDetails: &IncompleteDetails{},
			Output: []Item{baseItem()}, Text: TextConfig{Format: &TextFormat{}}, ToolChoice: json.RawMessage(`"auto"`),
			Tools: []ResponsesTool{{}}, Usage: &ResponseUsage{}}}
	}
	if !check("base response", baseResponse()) {
		t.Fatal("the base response event is refused")
	}
	eachField(t, baseResponse, map[string]func(*ResponseEvent) reflect.Value{
		"ResponseObject":    func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response).Elem() },
		"ResponseError":     func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.Error).Elem() },
		"IncompleteDetails": func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.IncompleteDetails).Elem() },
		"ReasoningConfig":   func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(&ev.Response.Reasoning).Elem() },
		"TextConfig":        func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(&ev.Response.Text).Elem() },
		"TextFormat":        func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.Text.Format).Elem() },
		"ResponsesTool":     func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(&ev.Response.Tools[0]).Elem() },
		"ResponseUsage":     func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.Usage).Elem() },
		"InputTokensDetails": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&ev.Response.Usage.InputTokensDetails).Elem()
		},
		"OutputTokensDetails": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&ev.Response.Usage.OutputTokensDetails).Elem()
		},
		"Item":        func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(&ev.Response.Output[0]).Elem() },
		"ItemContent": func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.Output[0].Content).Elem() },
		"ItemPart output_text": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&ev.Response.Output[0].Content.Parts[0]).Elem()
		},
		"ItemPart input_text": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&ev.Response.Output[0].Output.Parts[0]).Elem()
		},
		"ResponseAnnotation": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&(*ev.Response.Output[0].Content.Parts[0].Annotations)[0]).Elem()
		},
		"SummaryPart": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&(*ev.Response.Output[0].Summary)[0]).Elem()
		},
		"WebSearchAction": func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Response.Output[0].Action).Elem() },
		"WebSearchSource": func(ev *ResponseEvent) reflect.Value {
			return reflect.ValueOf(&ev.Response.Output[0].Action.Sources[0]).Elem()
		},
	}, func(name string, ev *ResponseEvent) { check(name, ev) })

	// The item and part events: the same types reached through ev.Item and ev.Part.
	baseParts := func() *ResponseEvent {
		it := baseItem()
		return &ResponseEvent{Type: EventItemDone, Item: &it, Part: &ItemPart{Type: "output_text"}, Annotation: &ResponseAnnotation{}}
	}
	if !check("base item", baseParts()) {
		t.Fatal("the base item event is refused")
	}
	eachField(t, baseParts, map[string]func(*ResponseEvent) reflect.Value{
		"Item":       func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Item).Elem() },
		"Part":       func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Part).Elem() },
		"Annotation": func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev.Annotation).Elem() },
	}, func(name string, ev *ResponseEvent) { check(name, ev) })
	if !check("summary part", &ResponseEvent{Part: &SummaryPart{Type: "summary_text", Text: "x"}}) {
		t.Error("a summary part event is refused")
	}

	// What encoding/json cannot encode, and the shapes left to it, are refused.
	nan, lp := math.NaN(), []ResponseLogprob{{}}
	for name, ev := range map[string]*ResponseEvent{
		"NaN temperature":  {Response: &ResponseObject{Temperature: &nan, ToolChoice: json.RawMessage(`"auto"`)}},
		"invalid raw":      {Response: &ResponseObject{ToolChoice: json.RawMessage(`{`)}},
		"empty raw":        {Response: &ResponseObject{ToolChoice: json.RawMessage{}}},
		"part logprobs":    {Part: &ItemPart{Type: "output_text", Logprobs: lp}},
		"input audio":      {Item: &Item{Content: &ItemContent{IsParts: true, Parts: []ItemPart{{Type: "input_audio", InputAudio: &InputAudio{}}}}}},
		"part of a value":  {Part: ItemPart{Type: "output_text"}},
		"nil part pointer": {Part: (*ItemPart)(nil)},
		"event logprobs":   {Logprobs: &lp},
	} {
		if b, ok := AppendResponseEvent([]byte("x"), ev); ok || string(b) != "x" {
			t.Errorf("%s: ok=%v, buffer %q", name, ok, b)
		}
	}
}

// FuzzAppendString proves AppendString byte-identical to encoding/json's string encoding without
// HTML escaping, and appendStringHTML to json.Marshal's with it, at every alignment of the
// eight-byte runs they skip (the prefix shifts where the runs fall).
func FuzzAppendString(f *testing.F) {
	f.Add("a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff\xfe<>&\"\\", uint8(0))
	f.Add("token 1 of the answer, token 2 of the answer <b>", uint8(3))
	f.Add("\xe2\x80\xa8abcdefgh\xe2\x80", uint8(7))
	// Each byte that needs an escape inside an eight-byte run, not in the tail.
	f.Add("abc\\defghijk<mnopqrs>uvwxyz&0123456\"abcdefg\x01abcdefg\x7fabcdefg\u2028abcdefg\xffabcdefgé abcdefghijklmnop", uint8(0))
	f.Fuzz(func(t *testing.T, s string, shift uint8) {
		s = strings.Repeat("x", int(shift%8)) + s
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got, want := AppendString([]byte("p"), s)[1:], bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		want, _ := json.Marshal(s)
		if got := appendStringHTML([]byte("p"), s)[1:]; !bytes.Equal(got, want) {
			t.Fatalf("appendStringHTML(%q) = %s, want %s", s, got, want)
		}
	})
}

// The HTML escaping of content parts is what json.Marshal writes, and the same text elsewhere
// in the event is left plain, as encoding/json writes it.
func TestAppendStringHTML(t *testing.T) {
	for _, s := range []string{"", "a", "<", "a<b>&c", "&&&", "\"<\\>\"", "\u2028<\xff>", "é<"} {
		want, _ := json.Marshal(s)
		if got := appendStringHTML([]byte("p"), s); string(got[1:]) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}

// BenchmarkAppendString measures the string encoders on what a Responses stream writes: short
// ids and event types per event, and the whole answer (plain, and HTML-escaped in content parts)
// in the closing events.
func BenchmarkAppendString(b *testing.B) {
	var long bytes.Buffer
	for i := range 64 {
		long.WriteString("token " + string(rune('0'+i%10)) + " of the answer, ")
	}
	for _, tc := range []struct {
		name string
		s    string
		f    func([]byte, string) []byte
	}{
		{"type", EventTextDelta, AppendString},
		{"answer", long.String(), AppendString},
		{"answer-html", long.String(), appendStringHTML},
		{"answer-html-code", long.String() + "if a < b && c > d {}", appendStringHTML},
		{"answer-accented", "réponse à la question, " + long.String(), AppendString},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(tc.s)))
			for b.Loop() {
				buf = tc.f(buf[:0], tc.s)
			}
		})
	}
}
