package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/geminigateway/gateway/shared/openai"
)

// writeResponseObject sends what writeJSON sends, byte for byte and header for header, through
// the hand-written encoder and through its fallback: content with HTML characters (escaped
// inside content parts, as json.Marshal in ItemContent.MarshalJSON does), metadata, a tool with
// a schema laid out with spaces, and a NaN that only the fallback can report.
func TestWriteResponseObjectIsWriteJSON(t *testing.T) {
	temp, nan := 0.25, math.NaN()
	text := openai.ItemPart{Type: "output_text", Text: "if a < b && c > d {}", Annotations: &[]openai.ResponseAnnotation{}}
	obj := &openai.ResponseObject{ID: "resp_1", Object: "response", CreatedAt: 1764300000, Status: openai.StatusCompleted,
		Model: "gemini-2.5-flash", Output: []openai.Item{{Type: openai.ItemMessage, ID: "msg_1", Status: openai.StatusCompleted,
			Role: "assistant", Content: &openai.ItemContent{IsParts: true, Parts: []openai.ItemPart{text}}}},
		Temperature: &temp, Text: openai.TextConfig{Format: &openai.TextFormat{Type: "text"}}, ToolChoice: json.RawMessage(`"auto"`),
		Tools:    []openai.ResponsesTool{{Type: "function", Name: "f", Parameters: json.RawMessage(`{"type": "object", "description": "a <b>"}`)}},
		Usage:    &openai.ResponseUsage{InputTokens: 3, OutputTokens: 5, TotalTokens: 8},
		Metadata: map[string]string{"b": "2", "a": "<1>"}}
	if _, ok := openai.AppendResponseObject(nil, obj); !ok {
		t.Fatal("AppendResponseObject refuses the object: the test would compare writeJSON with itself")
	}
	for name, o := range map[string]*openai.ResponseObject{"hand-encoded": obj, "fallback": func() *openai.ResponseObject {
		c := *obj
		c.Temperature = &nan
		c.ToolChoice = json.RawMessage(`{`) // invalid: both paths must fail alike
		return &c
	}()} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		gerr, werr := writeResponseObject(got, o), writeJSON(want, 200, o)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%s: error %v, writeJSON's %v", name, gerr, werr)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Code != want.Code ||
			got.Header().Get("Content-Length") != want.Header().Get("Content-Length") ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%s: got %d %v %s\nwant %d %v %s", name, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
