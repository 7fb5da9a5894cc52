package translate

import (
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
)

// TestFinishReasons pins the mapping and that failure reasons with no output are errors, never
// an empty success, while the same reasons after some output keep the output.
func TestFinishReasons(t *testing.T) {
	for _, tc := range []struct {
		native string
		calls  bool
		want   string
		ok     bool
	}{
		{"STOP", false, "stop", true}, {"STOP", true, "tool_calls", true}, {"MAX_TOKENS", false, "length", true},
		{"SAFETY", false, "content_filter", true}, {"RECITATION", false, "content_filter", true},
		{"PROHIBITED_CONTENT", false, "content_filter", true}, {"SPII", false, "content_filter", true}, {"BLOCKLIST", false, "content_filter", true},
		{"IMAGE_SAFETY", false, "content_filter", true}, {"IMAGE_PROHIBITED_CONTENT", false, "content_filter", true},
		{"MALFORMED_FUNCTION_CALL", false, "stop", false}, {"UNEXPECTED_TOOL_CALL", true, "tool_calls", false},
		{"NO_IMAGE", false, "stop", false}, {"OTHER", false, "stop", false}, {"TOO_MANY_TOOL_CALLS", false, "stop", false},
	} {
		got, ok := finishReason(tc.native, tc.calls)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s calls=%v: got %q %v, want %q %v", tc.native, tc.calls, got, ok, tc.want, tc.ok)
		}
	}
	for _, reason := range []string{"NO_IMAGE", "UNEXPECTED_TOOL_CALL", "IMAGE_OTHER"} {
		r := &gemini.Response{Candidates: []gemini.Candidate{{FinishReason: reason, Content: &gemini.Content{}}}}
		if _, err := ResponseFromGemini(r, testMeta()); err == nil {
			t.Errorf("%s with no output was not an error", reason)
		}
		s := NewStream(testMeta())
		if _, err := s.Event(r); err == nil {
			t.Errorf("%s with no output was not a stream error", reason)
		}
	}
	r := &gemini.Response{Candidates: []gemini.Candidate{{FinishReason: "OTHER", Content: &gemini.Content{Parts: []gemini.Part{{Text: "partial"}}}}}}
	resp, err := ResponseFromGemini(r, testMeta())
	if err != nil || *resp.Choices[0].Message.Content != "partial" || resp.Choices[0].NativeFinishReason != "OTHER" {
		t.Errorf("OTHER with output: %+v %v", resp, err)
	}
}
