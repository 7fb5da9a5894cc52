package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/geminigateway/gateway/shared/gateway"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestTraceJoinsCaller pins that the caller's trace is joined: the id from a valid traceparent
// or X-Cloud-Trace-Context is the log line's trace_id, its logging.googleapis.com/trace, the
// X-Request-Id header and the error body's trace_id; an invalid header starts a new trace.
func TestTraceJoinsCaller(t *testing.T) {
	const (
		w3c   = "4bf92f3577b34da6a3ce929d0e0e4736"
		cloud = "105445aa7843bc8bf206b12000100000"
	)
	tests := []struct {
		name    string
		headers map[string]string
		want    string // "" means a new id
	}{
		{"traceparent", map[string]string{"traceparent": "00-" + w3c + "-00f067aa0ba902b7-01"}, w3c},
		{"X-Cloud-Trace-Context", map[string]string{"X-Cloud-Trace-Context": cloud + "/1;o=1"}, cloud},
		{"both: Google's front end header wins", map[string]string{"traceparent": "00-" + w3c + "-00f067aa0ba902b7-01", "X-Cloud-Trace-Context": cloud + "/1;o=1"}, cloud},
		{"all-zero traceparent", map[string]string{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"version ff traceparent", map[string]string{"traceparent": "ff-" + w3c + "-00f067aa0ba902b7-01"}, ""},
		{"invalid cloud header, valid traceparent", map[string]string{"X-Cloud-Trace-Context": "00000000000000000000000000000000/1", "traceparent": "00-" + w3c + "-00f067aa0ba902b7-01"}, w3c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newRequestLog()
			g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), withLog(logs, ""))
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.srv.URL+"/v1/no-such-route", nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body struct {
				TraceID string `json:"trace_id"`
			}
			if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d body %s: %v", resp.StatusCode, b, err)
			}
			line, raw := logs.request(t)
			id := body.TraceID
			if tt.want != "" && id != tt.want {
				t.Errorf("trace_id = %q, want %q", id, tt.want)
			}
			if tt.want == "" && (!hex32.MatchString(id) || id == "00000000000000000000000000000000" || id == w3c) {
				t.Errorf("trace_id = %q, want a new random id", id)
			}
			if got := resp.Header.Get("X-Request-Id"); got != id {
				t.Errorf("X-Request-Id = %q, body trace_id = %q", got, id)
			}
			if line["trace_id"] != id || line["logging.googleapis.com/trace"] != "projects/test-project/traces/"+id {
				t.Errorf("log line does not carry trace %s:\n%s", id, raw)
			}
		})
	}
}

// TestWriteErrorJoinsCaller pins the same for errors written outside the Handler (an adapter
// whose start failed): the body's trace_id is the caller's trace id.
func TestWriteErrorJoinsCaller(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	gateway.WriteError(rec, req, errors.New("start failed"))
	var body struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("body %s: %v", rec.Body.Bytes(), err)
	}
	if rec.Header().Get("X-Request-Id") != body.TraceID {
		t.Errorf("X-Request-Id = %q", rec.Header().Get("X-Request-Id"))
	}
}
