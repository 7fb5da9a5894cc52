package gcf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// withMessage returns the recorded Pub/Sub event with its message's attributes and data replaced.
func withMessage(t *testing.T, attrs map[string]string, data string) cloudevents.Event {
	t.Helper()
	e := pubsubEvent(t)
	var d map[string]any
	if err := e.DataAs(&d); err != nil {
		t.Fatal(err)
	}
	msg := d["message"].(map[string]any)
	msg["attributes"] = attrs
	msg["data"] = base64.StdEncoding.EncodeToString([]byte(data))
	raw, _ := json.Marshal(d)
	if err := e.SetData(cloudevents.ApplicationJSON, raw); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRefreshMarker pins which Pub/Sub messages are the scheduled refresh: the attribute or the
// data marker; a job line, a nested gateway_task, another task or another event type is not.
func TestRefreshMarker(t *testing.T) {
	storage := pubsubEvent(t)
	storage.SetType(StorageType)
	for _, tc := range []struct {
		name string
		e    cloudevents.Event
		want bool
	}{
		{"recorded sample", pubsubEvent(t), false},
		{"attribute", withMessage(t, map[string]string{"gateway_task": "refresh_batches"}, "x"), true},
		{"data", withMessage(t, nil, ` {"gateway_task":"refresh_batches"}`), true},
		{"another task", withMessage(t, map[string]string{"gateway_task": "other"}, `{"gateway_task":"other"}`), false},
		{"job line", withMessage(t, nil, `{"custom_id":"a","body":{"gateway_task":"refresh_batches"}}`), false},
		{"storage type", storage, false},
	} {
		if got := isRefresh(tc.e); got != tc.want {
			t.Errorf("%s: isRefresh = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRefreshBypassesJobs pins that PubSubJob hands the marker to Deps.Refresh, not to the job
// runner, acknowledges it even when the refresh fails (the next tick retries), and still hands
// other messages to the runner.
func TestRefreshBypassesJobs(t *testing.T) {
	jobs := &fakeJobs{}
	calls := 0
	var fail error
	f := New(func(context.Context) (*Deps, error) {
		return &Deps{Handler: http.NotFoundHandler(), Jobs: jobs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Refresh: func(context.Context) (int, error) { calls++; return 1, fail }}, nil
	})
	marker := withMessage(t, map[string]string{"gateway_task": "refresh_batches"}, "")
	if err := f.PubSubJob(t.Context(), marker); err != nil || calls != 1 {
		t.Fatalf("marker: err %v, %d refresh calls", err, calls)
	}
	fail = io.ErrUnexpectedEOF
	if err := f.PubSubJob(t.Context(), marker); err != nil || calls != 2 {
		t.Fatalf("failing refresh: err %v, %d refresh calls; want acknowledged", err, calls)
	}
	if err := f.PubSubJob(t.Context(), pubsubEvent(t)); err != nil {
		t.Fatal(err)
	}
	jobs.mu.Lock()
	defer jobs.mu.Unlock()
	if calls != 2 || len(jobs.ran) != 1 || jobs.ran[0] != "test message 3" {
		t.Errorf("refresh calls %d, jobs ran %q; want the job message only in the runner", calls, jobs.ran)
	}
}
