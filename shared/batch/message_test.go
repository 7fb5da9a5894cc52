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

// TestRunMessage checks one line per message: the result object keyed by message id and
// custom_id, no second call on redelivery, 4xx recorded once, 503 left for the retry with
// nothing written.
func TestRunMessage(t *testing.T) {
	ctx := t.Context()
	s := batchtest.NewMemStore()
	down := true
	c := &batchtest.Completer{Outage: func(int) bool { return down }}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))

	// An outage: transient, nothing written (the claim is released); then the redelivery
	// succeeds, and one more does nothing.
	err := r.RunMessage(ctx, "m1", message("job/1", "u1"))
	if !batch.Transient(err) {
		t.Fatalf("RunMessage during an outage = %v, want a transient error", err)
	}
	if names := s.Names("output/"); len(names) != 0 {
		t.Fatalf("wrote %v during an outage", names)
	}
	down = false
	for range 2 {
		if err := r.RunMessage(ctx, "m1", message("job/1", "u1")); err != nil {
			t.Fatalf("RunMessage = %v", err)
		}
	}
	if c.Calls("u1") != 2 || len(c.Resent()) != 0 {
		t.Errorf("u1: %d calls (want 2: the 503 and the 200), resent %v", c.Calls("u1"), c.Resent())
	}
	const name = "output/messages/job~2f1/m1.json"
	if got := r.MessageResultName("job/1", "m1"); got != name {
		t.Errorf("MessageResultName = %q, want %q", got, name)
	}
	b, ok := s.Object(name)
	if !ok {
		t.Fatalf("no result object; have %v", s.Names(""))
	}
	got := batchtest.ParseOutput(t, b)
	if len(got) != 1 || *got[0].CustomID != "job/1" || got[0].Response.StatusCode != 200 || got[0].Error != nil ||
		!strings.HasPrefix(got[0].ID, "batch_req_") {
		t.Errorf("result = %s", b)
	}
	if work := s.Names("output/.work/"); len(work) != 0 {
		t.Errorf("claims left: %v", work)
	}

	// A 400 is a result: written once, not retried.
	for range 2 {
		if err := r.RunMessage(ctx, "m2", message("bad", "reject-1")); err != nil {
			t.Fatalf("RunMessage(rejected) = %v, want nil", err)
		}
	}
	if c.Calls("reject-1") != 1 {
		t.Errorf("a rejected message ran %d times", c.Calls("reject-1"))
	}
	b, _ = s.Object("output/messages/bad/m2.json")
	if got := batchtest.ParseOutput(t, b); len(got) != 1 || got[0].Response.StatusCode != 400 || got[0].Error.Code != "invalid_request" {
		t.Errorf("rejected result = %s", b)
	}
}

// TestMessagesReusingACustomID checks that a second message with a custom_id already used
// runs and keeps its own result: results are keyed by the message, not the custom_id alone.
func TestMessagesReusingACustomID(t *testing.T) {
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	for _, m := range []struct{ id, user string }{{"1", "first"}, {"2", "second"}} {
		if err := r.RunMessage(t.Context(), m.id, message("same", m.user)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Calls("first") != 1 || c.Calls("second") != 1 {
		t.Errorf("calls first=%d second=%d, want 1 each", c.Calls("first"), c.Calls("second"))
	}
	for _, want := range []struct{ name, echo string }{{"output/messages/same/1.json", "first"}, {"output/messages/same/2.json", "second"}} {
		if b, _ := s.Object(want.name); !strings.Contains(string(b), "echo <"+want.echo+">") {
			t.Errorf("%s = %s", want.name, b)
		}
	}
}

// TestMessageNamesStayInTheirSegment checks that no custom_id or message id can address an
// object outside its own: slashes, "..", our work prefix, a leading dot are all escaped.
func TestMessageNamesStayInTheirSegment(t *testing.T) {
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	for i, m := range []struct{ customID, messageID string }{
		{"../../input/x", "1"}, {".work/files/abc/1", "2"}, {"..", ".."}, {"a", "../b"}, {"~2f", "3"}, {"/", "/"},
	} {
		if err := r.RunMessage(t.Context(), m.messageID, message(m.customID, "u")); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	names := s.Names("")
	if len(names) != 6 {
		t.Fatalf("objects = %v, want one per message", names)
	}
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, "output/messages/")
		segs := strings.Split(rest, "/")
		if !ok || len(segs) != 2 || strings.HasPrefix(segs[0], ".") || strings.HasPrefix(segs[1], ".") {
			t.Errorf("result %q is outside output/messages/<custom_id>/<message id>.json", n)
		}
	}
}

// TestRunMessageMalformed checks that a malformed message never asks for a retry and is
// recorded: with its custom_id when it has one, under "~" when not.
func TestRunMessageMalformed(t *testing.T) {
	ctx := t.Context()
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	for i, msg := range []string{
		``,
		`not json`,
		`{"method":"POST","url":"/v1/chat/completions","body":{}}`,
		`{"custom_id":"wrong-url","method":"POST","url":"/v1/completions","body":{}}`,
		`{"custom_id":"streaming","method":"POST","url":"/v1/chat/completions","body":{"stream":true}}`,
	} {
		if err := r.RunMessage(ctx, "m"+string(rune('0'+i)), []byte(msg)); err != nil {
			t.Errorf("RunMessage(%s) = %v, want nil", msg, err)
		}
	}
	if c.Total() != 0 {
		t.Errorf("%d calls for malformed messages", c.Total())
	}
	want := "output/messages/streaming/m4.json output/messages/wrong-url/m3.json output/messages/~/m0.json output/messages/~/m1.json output/messages/~/m2.json"
	if names := s.Names(""); strings.Join(names, " ") != want {
		t.Errorf("objects = %v\nwant %s", names, want)
	}
	b, _ := s.Object("output/messages/wrong-url/m3.json")
	got := batchtest.ParseOutput(t, b)
	if len(got) != 1 || got[0].Error.Code != "invalid_request" || got[0].Error.Line != 0 ||
		got[0].Error.Message != `url must be "/v1/chat/completions" or "/v1/embeddings", not "/v1/completions"` {
		t.Errorf("wrong-url result = %s", b)
	}
	b, _ = s.Object("output/messages/~/m1.json")
	got = batchtest.ParseOutput(t, b)
	if len(got) != 1 || got[0].CustomID != nil || got[0].Error.Code != "invalid_request" || !strings.Contains(got[0].Error.Message, "not a JSON object") {
		t.Errorf("not-json result = %s", b)
	}
}

// TestRunMessageStorageFailure checks that a store failure is transient and calls nothing:
// the result may exist already.
func TestRunMessageStorageFailure(t *testing.T) {
	s := batchtest.NewMemStore()
	s.FailOpen = func(string) error { return errStorage }
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	if err := r.RunMessage(t.Context(), "1", message("a", "a")); !batch.Transient(err) || !errors.Is(err, errStorage) {
		t.Errorf("RunMessage = %v, want a transient error wrapping the store's", err)
	}
	if c.Total() != 0 {
		t.Error("ran a message whose result could not be checked")
	}
	s.FailOpen = nil
	s.FailWrite = func(string) error { return errStorage }
	if err := r.RunMessage(t.Context(), "1", message("a", "a")); !batch.Transient(err) {
		t.Errorf("RunMessage with failing writes = %v, want a transient error", err)
	}
	if c.Total() != 0 {
		t.Error("ran a message that could not be claimed")
	}
}

// TestLongCustomID checks that a custom_id at the length limit, escaped to more than a name
// segment may hold, still gets a result object of its own (not a storage error retried forever).
func TestLongCustomID(t *testing.T) {
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	long1, long2 := strings.Repeat("/", 512), strings.Repeat("/", 511)+"x"
	for i, id := range []string{long1, long2} {
		if err := r.RunMessage(t.Context(), "m", message(id, "u")); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if names := s.Names("output/messages/"); len(names) != 2 || names[0] == names[1] || !strings.HasPrefix(names[0], "output/messages/~h") {
		t.Errorf("objects = %v, want two hashed names", names)
	}
}

// TestEmbeddingLineWithoutEmbedder pins that an embeddings line given to a Completer that
// does not embed gets a 404 result naming url, not a chat call.
func TestEmbeddingLineWithoutEmbedder(t *testing.T) {
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	if err := r.RunMessage(t.Context(), "m1", []byte(`{"custom_id":"e","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Object("output/messages/e/m1.json")
	got := batchtest.ParseOutput(t, b)
	if c.Total() != 0 || len(got) != 1 || got[0].Response == nil || got[0].Response.StatusCode != 404 || got[0].Error.Code != "not_found" {
		t.Errorf("result = %s, %d calls", b, c.Total())
	}
}
