package lambda

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestRefreshEvent pins the EventBridge Scheduler input {"gateway_task":"refresh_batches"}: it is
// its own kind (an HTTP, SQS or S3 event with the field stays what it is), it calls Refresh and
// returns how many batches ended, a failed refresh or an unknown task is logged and not an
// error (the next tick retries), and without Refresh (no store) it does nothing.
func TestRefreshEvent(t *testing.T) {
	marker := []byte(`{"gateway_task":"refresh_batches"}`)
	if got := kindOf(marker); got != taskEvent {
		t.Fatalf("kindOf(marker) = %v, want taskEvent", got)
	}
	if got := kindOf([]byte(`{"gateway_task":"x","Records":[{"eventSource":"aws:sqs"}]}`)); got != sqsEvent {
		t.Errorf("an SQS batch with gateway_task: kind %v", got)
	}
	calls := 0
	var fail error
	h := NewHandler(Config{Handler: http.NotFoundHandler(), Logger: quietLogger(),
		Refresh: func(context.Context) (int, error) { calls++; return 2, fail }})
	out, err := h(t.Context(), marker)
	if err != nil || calls != 1 || out != (refreshResult{Ended: 2}) {
		t.Fatalf("refresh: %v, %v, %d calls", out, err, calls)
	}
	fail = errors.New("store down")
	if _, err := h(t.Context(), marker); err != nil || calls != 2 {
		t.Errorf("failing refresh: %v, %d calls; want logged, no error", err, calls)
	}
	if _, err := h(t.Context(), []byte(`{"gateway_task":"other"}`)); err != nil || calls != 2 {
		t.Errorf("unknown task: %v, %d calls", err, calls)
	}
	none := NewHandler(Config{Handler: http.NotFoundHandler(), Logger: quietLogger()})
	if out, err := none(t.Context(), marker); err != nil || out != (refreshResult{}) {
		t.Errorf("without Refresh: %v, %v", out, err)
	}
}
