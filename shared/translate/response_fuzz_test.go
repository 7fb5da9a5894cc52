package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// FuzzResponseMatchesReference holds ResponseFromGemini to the reference (the code before issue
// 16, in reference_test.go) on any decodable generateContent body, with and without a thought
// tag marker and a tool-call limit: the same response, field for field, or the same error.
// Seeded with the recorded responses and the representative answer.
func FuzzResponseMatchesReference(f *testing.F) {
	for _, name := range recordedResponses {
		raw, err := os.ReadFile("testdata/wire/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, byte(0))
		f.Add(raw, byte(3))
	}
	f.Add([]byte(repAnswer), byte(0))
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"a","thought":true},{"text":"b"},{"text":"c"}]},"finishReason":"MAX_TOKENS","index":0},`+
		`{"content":{"parts":[{"functionCall":{"name":"f","args":{"x":1}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"g"}}]},"finishReason":"STOP","index":1},`+
		`{"finishReason":"MALFORMED_FUNCTION_CALL","index":2}],"usageMetadata":{"promptTokenCount":1,"trafficType":"ON_DEMAND"}}`), byte(1))
	f.Fuzz(func(t *testing.T, body []byte, opts byte) {
		var a, b gemini.Response
		if json.Unmarshal(body, &a) != nil {
			return
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		meta := func() Meta {
			m := testMeta()
			if opts&1 != 0 {
				m.ThoughtTagMarker = "think"
			}
			if opts&2 != 0 {
				m.MaxToolCalls = 1
			}
			return m
		}
		got, gerr := ResponseFromGemini(&a, meta())
		want, werr := refResponseFromGemini(&b, meta())
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("error = %v, reference %v", gerr, werr)
		}
		var ge, we *openai.Error
		if errors.As(gerr, &ge) && errors.As(werr, &we) && *ge != *we {
			t.Fatalf("error = %+v, reference %+v", ge, we)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("response differs from the reference (-want +got):\n%s", cmp.Diff(want, got))
		}
	})
}

// FuzzJoined holds joined, which keeps a single string without copying it, to plain
// concatenation for any sequence of strings (the fuzz input split at '|').
func FuzzJoined(f *testing.F) {
	for _, s := range []string{"", "a", "a|b", "|", "||x", "<|think|>|thought|</|think|>|text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var j joined
		pieces := strings.Split(s, "|")
		for _, p := range pieces {
			j.WriteString(p)
		}
		if got, want := j.String(), strings.Join(pieces, ""); got != want {
			t.Fatalf("joined %q = %q, want %q", pieces, got, want)
		}
	})
}

// TestUnaryResponseAllocations pins the representative answer's translation at one allocation:
// the response, its usage, its choice and its strings together.
func TestUnaryResponseAllocations(t *testing.T) {
	var r gemini.Response
	if err := json.Unmarshal([]byte(repAnswer), &r); err != nil {
		t.Fatal(err)
	}
	m := Meta{ID: "chatcmpl-x", Created: 1, Model: "gemini-2.5-flash", NewCallID: func() string { return "call_x" }}
	var resp *openai.Response
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if resp, err = ResponseFromGemini(&r, m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("ResponseFromGemini allocates %v times, want 1", allocs)
	}
	if got := fmt.Sprint(*resp.Choices[0].Message.Content, " ", *resp.Choices[0].FinishReason, " ", resp.Usage.TotalTokens); got != "Paris is the capital of France. stop 19" {
		t.Errorf("got %s", got)
	}
}
