package batch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
)

func message(id, user string) []byte {
	return []byte(`{"custom_id":"` + id + `","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","user":"` + user + `","messages":[]}}` + "\n")
}

// TestRunMessage checks one line per message: the result object, no second call on
// redelivery, 4xx recorded once, 503 left for the retry with nothing written.
func TestRunMessage(t *testing.T) {
	ctx := t.Context()
	s := batchtest.NewMemStore()
	down := true
	c := &batchtest.Completer{Outage: func(int) bool { return down }}
	r := batch.NewRunner(c, s.Open, testConfig, batchtest.Logger(t))

	// An outage: transient, nothing written; then the redelivery succeeds, and one more does nothing.
	err := r.RunMessage(ctx, message("job/1", "u1"))
	if !batch.Transient(err) {
		t.Fatalf("RunMessage during an outage = %v, want a transient error", err)
	}
	if names := s.Names("output/"); len(names) != 0 {
		t.Fatalf("wrote %v during an outage", names)
	}
	down = false
	for range 2 {
		if err := r.RunMessage(ctx, message("job/1", "u1")); err != nil {
			t.Fatalf("RunMessage = %v", err)
		}
	}
	if c.Calls("u1") != 2 || len(c.Resent()) != 0 {
		t.Errorf("u1: %d calls (want 2: the 503 and the 200), resent %v", c.Calls("u1"), c.Resent())
	}
	b, ok := s.Object("output/job/1.json")
	if !ok {
		t.Fatalf("no result object; have %v", s.Names(""))
	}
	got := batchtest.ParseOutput(t, b)
	if len(got) != 1 || *got[0].CustomID != "job/1" || got[0].Response.StatusCode != 200 || got[0].Error != nil ||
		!strings.HasPrefix(got[0].ID, "batch_req_") {
		t.Errorf("result = %s", b)
	}

	// A 400 is a result: written once, not retried.
	for range 2 {
		if err := r.RunMessage(ctx, message("bad", "reject-1")); err != nil {
			t.Fatalf("RunMessage(rejected) = %v, want nil", err)
		}
	}
	if c.Calls("reject-1") != 1 {
		t.Errorf("a rejected message ran %d times", c.Calls("reject-1"))
	}
	b, _ = s.Object("output/bad.json")
	if got := batchtest.ParseOutput(t, b); len(got) != 1 || got[0].Response.StatusCode != 400 || got[0].Error.Code != "invalid_request" {
		t.Errorf("rejected result = %s", b)
	}
}

// TestRunMessageMalformed checks that a malformed message never asks for a retry: with a
// custom_id it gets an error result, without one it is dropped (logged).
func TestRunMessageMalformed(t *testing.T) {
	ctx := t.Context()
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Open, testConfig, batchtest.Logger(t))
	for _, msg := range []string{
		``,
		" \n",
		`not json`,
		`{"method":"POST","url":"/v1/chat/completions","body":{}}`,
		`{"custom_id":"wrong-url","method":"POST","url":"/v1/embeddings","body":{}}`,
		`{"custom_id":"streaming","method":"POST","url":"/v1/chat/completions","body":{"stream":true}}`,
	} {
		if err := r.RunMessage(ctx, []byte(msg)); err != nil {
			t.Errorf("RunMessage(%s) = %v, want nil", msg, err)
		}
	}
	if c.Total() != 0 {
		t.Errorf("%d calls for malformed messages", c.Total())
	}
	if names := s.Names(""); strings.Join(names, " ") != "output/streaming.json output/wrong-url.json" {
		t.Errorf("objects = %v", names)
	}
	b, _ := s.Object("output/wrong-url.json")
	got := batchtest.ParseOutput(t, b)
	if len(got) != 1 || got[0].Error.Code != "invalid_request" || got[0].Error.Line != 0 ||
		got[0].Error.Message != `url must be "/v1/chat/completions", not "/v1/embeddings"` {
		t.Errorf("wrong-url result = %s", b)
	}
}

// TestRunMessageStorageFailure checks that a store failure is transient and calls nothing:
// the result may exist already.
func TestRunMessageStorageFailure(t *testing.T) {
	s := batchtest.NewMemStore()
	s.FailGet = func(string) error { return errStorage }
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Open, testConfig, batchtest.Logger(t))
	if err := r.RunMessage(t.Context(), message("a", "a")); !batch.Transient(err) || !errors.Is(err, errStorage) {
		t.Errorf("RunMessage = %v, want a transient error wrapping the store's", err)
	}
	if c.Total() != 0 {
		t.Error("ran a message whose result could not be checked")
	}
	s.FailGet = nil
	s.FailPut = func(string) error { return errStorage }
	if err := r.RunMessage(t.Context(), message("a", "a")); !batch.Transient(err) {
		t.Errorf("RunMessage with a failing Put = %v, want a transient error", err)
	}
}
