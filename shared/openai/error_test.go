package openai

import (
	"net/http"
	"testing"
)

// TestStreamErrorIsTheErrorBody pins that the final event of a failed stream carries the same
// body as every other error (seed 000: success, error{message,type,code,param}, trace_id).
func TestStreamErrorIsTheErrorBody(t *testing.T) {
	e := Errorf(http.StatusBadGateway, CodeUpstreamError, "", "the Gemini stream ended before the response was complete")
	want := `{"success":false,"error":{"message":"the Gemini stream ended before the response was complete","type":"api_error","code":"upstream_error","param":null},"trace_id":"abc123"}`
	if got := string(e.MarshalStreamError("abc123")); got != want {
		t.Errorf("stream error event\n got %s\nwant %s", got, want)
	}
	if got, body := string(e.MarshalStreamError("abc123")), string(e.MarshalBody("abc123")); got != body {
		t.Errorf("stream error %s differs from the error body %s", got, body)
	}
}
