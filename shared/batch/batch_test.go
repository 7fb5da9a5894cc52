package batch_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/store/storetest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var testConfig = batch.Config{Concurrency: 4, InputPrefix: "input/", OutputPrefix: "output/"}

// runFile runs RunFile on data as input/name.jsonl and returns the two result files.
func runFile(t *testing.T, c batch.Completer, cfg batch.Config, name string, data []byte) (output, errs []byte, s *batchtest.MemStore) {
	t.Helper()
	s = batchtest.NewMemStore()
	in := cfg.InputPrefix + name + ".jsonl"
	s.Put(in, data)
	r := batch.NewRunner(c, s.Bucket, cfg, batchtest.Logger(t))
	if err := r.RunFile(t.Context(), s, in); err != nil {
		t.Fatalf("RunFile: %v", err)
	}
	outName, errName, _ := r.OutputNames(in)
	output, ok1 := s.Object(outName)
	errs, ok2 := s.Object(errName)
	if !ok1 || !ok2 {
		t.Fatalf("result files missing: %v", s.Names(""))
	}
	return output, errs, s
}

// TestLineFormat pins the exact bytes of both result files for a file with one line of each
// kind (success, 400, every malformed kind, duplicate, stream refused, HTML characters in ids
// and bodies): the OpenAI batch output format that clients parse. -update rewrites them.
func TestLineFormat(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lines.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	output, errs, _ := runFile(t, &batchtest.Completer{}, testConfig, "lines", data)
	for _, f := range []struct {
		name string
		got  []byte
	}{{"lines.output.jsonl", output}, {"lines.errors.jsonl", errs}} {
		golden := filepath.Join("testdata", f.name)
		if *update {
			if err := os.WriteFile(golden, f.got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(f.got)); diff != "" {
			t.Errorf("%s (-want +got)\n%s", f.name, diff)
		}
	}
}

// TestMalformedLines checks each malformed kind's message, and that the rest of the file runs.
func TestMalformedLines(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{`not json`, "line 2: the line is not a JSON object"},
		{`[1,2]`, "line 2: the line is not a JSON object"},
		{`{"method":"POST","url":"/v1/chat/completions","body":{}}`, "line 2: custom_id is missing"},
		{`{"custom_id":null,"method":"POST","url":"/v1/chat/completions","body":{}}`, "line 2: custom_id is missing"},
		{`{"custom_id":1,"method":"POST","url":"/v1/chat/completions","body":{}}`, "line 2: custom_id must be a string"},
		{`{"custom_id":"","method":"POST","url":"/v1/chat/completions","body":{}}`, "line 2: custom_id is empty"},
		{`{"custom_id":"` + strings.Repeat("x", 513) + `","method":"POST","url":"/v1/chat/completions","body":{}}`, "longer than 512"},
		{`{"custom_id":"a\nb","method":"POST","url":"/v1/chat/completions","body":{}}`, "control character"},
		{`{"custom_id":"a","method":"PUT","url":"/v1/chat/completions","body":{}}`, `method must be "POST", not "PUT"`},
		{`{"custom_id":"a","method":"POST","url":"/v1/completions","body":{}}`, `url must be "/v1/chat/completions" or "/v1/embeddings", not "/v1/completions"`},
		{`{"custom_id":"a","method":"POST","url":["x"],"body":{}}`, "url must be a string, not a JSON array"},
		{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions"}`, "body must be a JSON object"},
		{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":"{}"}`, "body must be a JSON object"},
		{`{"custom_id":"first","method":"POST","url":"/v1/chat/completions","body":{}}`, `line 2: custom_id "first" is a duplicate of line 1's`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := &batchtest.Completer{}
			data := `{"custom_id":"first","method":"POST","url":"/v1/chat/completions","body":{"user":"first"}}` + "\n" +
				tt.line + "\n" +
				`{"custom_id":"third","method":"POST","url":"/v1/chat/completions","body":{"user":"third"}}`
			output, errs, _ := runFile(t, c, testConfig, "m", []byte(data))
			outs, errLines := batchtest.ParseOutput(t, output), batchtest.ParseOutput(t, errs)
			if len(outs) != 2 || *outs[0].CustomID != "first" || *outs[1].CustomID != "third" {
				t.Errorf("output = %s, want lines 1 and 3", output)
			}
			if len(errLines) != 1 {
				t.Fatalf("errors = %s, want one line", errs)
			}
			e := errLines[0]
			if e.Response != nil || e.Error.Code != "invalid_request" || e.Error.Line != 2 || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("error line = %s, want invalid_request, line 2, %q", errs, tt.want)
			}
			if c.Total() != 2 {
				t.Errorf("%d calls, want 2", c.Total())
			}
		})
	}
}

// TestByteOrderMark checks that a file saved with a UTF-8 BOM runs its first line.
func TestByteOrderMark(t *testing.T) {
	data := "\ufeff" + `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"user":"a"}}` + "\r\n"
	out, errs, _ := runFile(t, &batchtest.Completer{}, testConfig, "bom", []byte(data))
	if len(batchtest.ParseOutput(t, out)) != 1 || len(errs) != 0 {
		t.Errorf("output %q errors %q, want the line to run", out, errs)
	}
}

// shuffler answers after a delay that varies by request, so lines finish out of order.
type shuffler struct {
	batchtest.Completer
	n atomic.Int64
}

func (s *shuffler) Complete(ctx context.Context, body []byte) batch.Completion {
	time.Sleep(time.Duration((s.n.Add(1)*7919)%5) * time.Millisecond)
	return s.Completer.Complete(ctx, body)
}

// TestOrderAndConcurrency checks that results keep the input order whatever order the lines
// finish in, and that no more than Concurrency calls run at once.
func TestOrderAndConcurrency(t *testing.T) {
	data, lines := batchtest.File(200)
	c := &shuffler{}
	cfg := testConfig
	cfg.Concurrency = 3
	output, errs, _ := runFile(t, c, cfg, "order", data)
	batchtest.CheckResults(t, lines, output, errs)
	if m := c.MaxInFlight(); m > 3 {
		t.Errorf("%d calls ran at once, want at most 3", m)
	}
}

// TestOutageRedelivery is the redelivery scenario with the in-memory store.
func TestOutageRedelivery(t *testing.T) {
	batchtest.TestOutageRedelivery(t, batchtest.NewMemStore())
}

// TestMemStore checks the fake against the store.Store contract that the adapters meet.
func TestMemStore(t *testing.T) {
	storetest.Run(t, batchtest.NewMemStore())
}

// TestConcurrentDeliveries is the duplicate-delivery scenario with the in-memory store.
func TestConcurrentDeliveries(t *testing.T) {
	files, messages := batchtest.TestConcurrentDeliveries(t, batchtest.NewMemStore())
	t.Logf("model calls: 200-line file delivered twice at once: %d; 50 messages delivered twice at once: %d", files, messages)
}

// TestPersistentOutageStopsEarly pins the breaker: when every call fails, the run stops
// dispatching after a run of failures instead of sending all 1,000 lines through the
// gateway's retries, and returns a transient error.
func TestPersistentOutageStopsEarly(t *testing.T) {
	data, _ := batchtest.File(1000)
	s := batchtest.NewMemStore()
	s.Put("input/down.jsonl", data)
	c := &batchtest.Completer{Outage: func(int) bool { return true }}
	r := batch.NewRunner(c, s.Bucket, batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/"}, batchtest.Logger(t))
	err := r.RunFile(t.Context(), s, "input/down.jsonl")
	if !batch.Transient(err) {
		t.Fatalf("RunFile = %v, want a transient error", err)
	}
	if !strings.Contains(err.Error(), "gateway status 503 (upstream_error)") {
		t.Errorf("err = %v, want it to name the status and code", err)
	}
	if n := c.Total(); n > 64 {
		t.Errorf("%d calls during a total outage, want the run to stop after a few dozen", n)
	}
	for _, n := range s.Names("output/") {
		if !strings.HasPrefix(n, "output/.work/") {
			t.Errorf("wrote %s during a total outage", n)
		}
	}
}

// TestChangedInput checks that new content under the same name is a new job: every line runs
// again and the result files are replaced.
func TestChangedInput(t *testing.T) {
	s := batchtest.NewMemStore()
	c := &batchtest.Completer{}
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	ctx := t.Context()
	line := func(id string) string {
		return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"user":%q}}`+"\n", id, id)
	}
	s.Put("input/a.jsonl", []byte(line("a")+line("b")))
	if err := r.RunFile(ctx, s, "input/a.jsonl"); err != nil {
		t.Fatal(err)
	}
	s.Put("input/a.jsonl", []byte(line("a")+line("c")))
	if err := r.RunFile(ctx, s, "input/a.jsonl"); err != nil {
		t.Fatal(err)
	}
	if c.Calls("a") != 2 || c.Calls("b") != 1 || c.Calls("c") != 1 {
		t.Errorf("calls a=%d b=%d c=%d, want 2 1 1", c.Calls("a"), c.Calls("b"), c.Calls("c"))
	}
	out, _ := s.Object("output/a.output.jsonl")
	got := batchtest.ParseOutput(t, out)
	if len(got) != 2 || *got[1].CustomID != "c" {
		t.Errorf("output = %s, want a and c", out)
	}
}

// TestDeterministicOutput checks that two runs of the same input in two buckets write the
// same bytes: ids come from the input, nothing from the clock.
func TestDeterministicOutput(t *testing.T) {
	data, _ := batchtest.File(50)
	out1, errs1, _ := runFile(t, &batchtest.Completer{}, testConfig, "same", data)
	out2, errs2, _ := runFile(t, &batchtest.Completer{}, testConfig, "same", data)
	if !bytes.Equal(out1, out2) || !bytes.Equal(errs1, errs2) {
		t.Error("two runs of the same input differ")
	}
	out3, _, _ := runFile(t, &batchtest.Completer{}, testConfig, "other", data)
	if bytes.Equal(out1, out3) {
		t.Error("the same lines under another name got the same ids")
	}
}

// TestIgnoredNames checks that objects that are not inputs are not even read: other prefixes,
// other extensions, and our own results (which would otherwise loop when output shares the
// input's prefix).
func TestIgnoredNames(t *testing.T) {
	s := batchtest.NewMemStore()
	cfg := batch.Config{Concurrency: 2, InputPrefix: "jobs/", OutputPrefix: "jobs/out/"}
	r := batch.NewRunner(&batchtest.Completer{}, s.Bucket, cfg, batchtest.Logger(t))
	for _, name := range []string{"other/a.jsonl", "jobs/a.json", "jobs/a.jsonl.tmp", "jobs/out/a.output.jsonl", "jobs/out/.work/a/1.json", "jobs/.work/x.jsonl", "jobs/a/.hidden.jsonl"} {
		if err := r.RunFile(t.Context(), s, name); err != nil {
			t.Errorf("RunFile(%q) = %v", name, err)
		}
	}
	if opens, writes := s.Counts(); opens+writes != 0 {
		t.Errorf("ignored names caused %d opens and %d writes", opens, writes)
	}
	if _, _, ok := r.OutputNames("jobs/sub/x.jsonl"); !ok {
		t.Error("OutputNames refused an input")
	}
	if o, e, _ := r.OutputNames("jobs/sub/x.jsonl"); o != "jobs/out/sub/x.output.jsonl" || e != "jobs/out/sub/x.errors.jsonl" {
		t.Errorf("OutputNames = %q, %q", o, e)
	}
}

// TestInputGone checks that an event for a deleted object is done, not retried.
func TestInputGone(t *testing.T) {
	r := batch.NewRunner(&batchtest.Completer{}, batchtest.NewMemStore().Bucket, testConfig, batchtest.Logger(t))
	if err := r.RunFile(t.Context(), batchtest.NewMemStore(), "input/gone.jsonl"); err != nil {
		t.Errorf("RunFile = %v, want nil", err)
	}
}

var errStorage = errors.New("storage is down")

// TestStorageFailures checks that store failures are transient, that a line whose claim
// cannot be made is not run (another delivery may hold it), and that a redelivery after a
// failed final write makes no call.
func TestStorageFailures(t *testing.T) {
	data, _ := batchtest.File(20)
	t.Run("input", func(t *testing.T) {
		in := batchtest.NewMemStore()
		in.Put("input/a.jsonl", data)
		in.FailOpen = func(string) error { return errStorage }
		r := batch.NewRunner(&batchtest.Completer{}, batchtest.NewMemStore().Bucket, testConfig, batchtest.Logger(t))
		if err := r.RunFile(t.Context(), in, "input/a.jsonl"); !batch.Transient(err) || !errors.Is(err, errStorage) {
			t.Errorf("RunFile = %v, want a transient error wrapping the store's", err)
		}
	})
	t.Run("claims", func(t *testing.T) {
		s := batchtest.NewMemStore()
		s.Put("input/a.jsonl", data)
		s.FailWrite = func(name string) error {
			if strings.HasSuffix(name, "/3.claim") {
				return errStorage
			}
			return nil
		}
		c := &batchtest.Completer{}
		r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); !batch.Transient(err) {
			t.Errorf("RunFile = %v, want a transient error", err)
		}
		if c.Calls("req-3") != 0 {
			t.Error("line 3 ran although it could not be claimed")
		}
		s.FailWrite = nil
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); err != nil {
			t.Errorf("redelivery: %v", err)
		}
		if c.Calls("req-3") != 1 || c.Calls("req-4") != 1 {
			t.Errorf("calls: line 3 %d, line 4 %d; want 1 each", c.Calls("req-3"), c.Calls("req-4"))
		}
	})
	t.Run("final files", func(t *testing.T) {
		s := batchtest.NewMemStore()
		s.Put("input/a.jsonl", data)
		s.FailWrite = func(name string) error {
			if strings.HasSuffix(name, ".output.jsonl") {
				return errStorage
			}
			return nil
		}
		c := &batchtest.Completer{}
		r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); !batch.Transient(err) {
			t.Errorf("RunFile = %v, want a transient error", err)
		}
		s.FailWrite = nil
		calls := c.Total()
		errsV := s.Version("output/a.errors.jsonl")
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); err != nil {
			t.Errorf("redelivery: %v", err)
		}
		if c.Total() != calls {
			t.Errorf("the redelivery made %d calls, want 0", c.Total()-calls)
		}
		if s.Version("output/a.errors.jsonl") != errsV {
			t.Error("the redelivery rewrote the errors file it had written")
		}
	})
	t.Run("persisting a line", func(t *testing.T) {
		s := batchtest.NewMemStore()
		s.Put("input/a.jsonl", data)
		s.FailWrite = func(name string) error {
			if strings.HasSuffix(name, "/2.json") {
				return errStorage
			}
			return nil
		}
		c := &batchtest.Completer{}
		r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); !batch.Transient(err) {
			t.Errorf("RunFile = %v, want a transient error: line 2's result is not kept", err)
		}
		s.FailWrite = nil
		// The claim of the billed line holds until its lease runs out: no second call before.
		// The run waits for it as for another delivery's, until its context ends.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := r.RunFile(ctx, s, "input/a.jsonl"); !batch.Transient(err) {
			t.Errorf("redelivery within the lease: %v, want a transient error", err)
		}
		if c.Calls("req-2") != 1 {
			t.Errorf("line 2 called %d times within its claim's lease, want 1", c.Calls("req-2"))
		}
		for _, n := range s.Names("output/.work/") {
			s.Age(n, batch.DefaultClaimLease)
		}
		if err := r.RunFile(t.Context(), s, "input/a.jsonl"); err != nil {
			t.Errorf("redelivery after the lease: %v", err)
		}
		if c.Calls("req-2") != 2 {
			t.Errorf("line 2 called %d times, want 2: its stale claim is taken over", c.Calls("req-2"))
		}
	})
}

// TestUnreadableResultRunsAgain checks that a persisted result that is not a result line is
// not trusted: it is dropped, the line runs again and the files stay whole.
func TestUnreadableResultRunsAgain(t *testing.T) {
	data, lines := batchtest.File(10)
	s := batchtest.NewMemStore()
	s.Put("input/a.jsonl", data)
	c := &batchtest.Completer{Outage: func(n int) bool { return n == 9 }} // line 10 fails once
	r := batch.NewRunner(c, s.Bucket, batch.Config{Concurrency: 1, InputPrefix: "input/", OutputPrefix: "output/"}, batchtest.Logger(t))
	if err := r.RunFile(t.Context(), s, "input/a.jsonl"); !batch.Transient(err) {
		t.Fatalf("RunFile = %v, want a transient error", err)
	}
	var first string
	for _, n := range s.Names("output/.work/") {
		if strings.HasSuffix(n, "/1.json") {
			first = n
		}
	}
	if first == "" {
		t.Fatalf("no result for line 1 in %v", s.Names("output/"))
	}
	s.Put(first, []byte("{}"))
	if err := r.RunFile(t.Context(), s, "input/a.jsonl"); !batch.Transient(err) {
		t.Fatalf("redelivery = %v, want a transient error for the unreadable result", err)
	}
	if err := r.RunFile(t.Context(), s, "input/a.jsonl"); err != nil {
		t.Fatal(err)
	}
	if c.Calls("req-1") != 2 || c.Calls("req-2") != 1 {
		t.Errorf("calls: line 1 %d, line 2 %d; want 2 and 1", c.Calls("req-1"), c.Calls("req-2"))
	}
	out, _ := s.Object("output/a.output.jsonl")
	errs, _ := s.Object("output/a.errors.jsonl")
	batchtest.CheckResults(t, lines, out, errs)
}

// TestCancelledRun checks that a run whose context ends mid-way (the function's deadline, a
// shutdown) returns a transient error, keeps what finished, and that the redelivery sends no
// finished line again.
func TestCancelledRun(t *testing.T) {
	data, lines := batchtest.File(100)
	s := batchtest.NewMemStore()
	s.Put("input/a.jsonl", data)
	fake := &batchtest.Completer{Delay: time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int64
	c := completerFunc(func(ctx context.Context, body []byte) batch.Completion {
		if calls.Add(1) == 30 {
			cancel()
		}
		return fake.Complete(ctx, body)
	})
	r := batch.NewRunner(c, s.Bucket, testConfig, batchtest.Logger(t))
	err := r.RunFile(ctx, s, "input/a.jsonl")
	if !batch.Transient(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("RunFile = %v, want a transient cancellation error", err)
	}
	if n := calls.Load(); n > 30+int64(testConfig.Concurrency) {
		t.Errorf("%d calls after the context ended at call 30", n)
	}
	if err := r.RunFile(t.Context(), s, "input/a.jsonl"); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if resent := fake.Resent(); len(resent) > 0 {
		t.Errorf("sent again after a 200: %v", resent)
	}
	out, _ := s.Object("output/a.output.jsonl")
	errs, _ := s.Object("output/a.errors.jsonl")
	batchtest.CheckResults(t, lines, out, errs)
}

// TestOddBodies checks that a body that is not JSON (a gateway bug) becomes an api_error line
// and never corrupts the JSONL file, that an error status without an error takes its code from
// the status, and that JSON of another shape is kept as it is.
func TestOddBodies(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		wantCode string // "" for a line in the output file
	}{
		{200, "<html>oops", "api_error"},
		{400, "", "api_error"},
		{404, `{"detail":"no"}`, "not_found"},
		{200, `{"id":5,"choices":[]}`, ""},
		{200, "{\n  \"id\": \"x\"\n}", ""}, // pretty-printed: compacted onto one line
	}
	for _, tt := range tests {
		c := completerFunc(func(context.Context, []byte) batch.Completion {
			return batch.Completion{Status: tt.status, Body: []byte(tt.body)}
		})
		out, errs, _ := runFile(t, c, testConfig, "x", []byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}`))
		file := out
		if tt.wantCode != "" {
			file = errs
		}
		got := batchtest.ParseOutput(t, file)
		if len(got) != 1 || bytes.Count(file, []byte("\n")) != 1 {
			t.Errorf("%d %q: file = %q, want one line", tt.status, tt.body, file)
			continue
		}
		if tt.wantCode != "" && got[0].Error.Code != tt.wantCode {
			t.Errorf("%d %q: error = %+v, want code %s", tt.status, tt.body, got[0].Error, tt.wantCode)
		}
	}
}

type completerFunc func(context.Context, []byte) batch.Completion

func (f completerFunc) Complete(ctx context.Context, body []byte) batch.Completion {
	return f(ctx, body)
}

// TestNoContentInLogs checks that the log lines carry counts and ids but no prompt or answer.
func TestNoContentInLogs(t *testing.T) {
	var logs bytes.Buffer
	s := batchtest.NewMemStore()
	data, _ := batchtest.File(60)
	s.Put("input/a.jsonl", data)
	c := &batchtest.Completer{Outage: func(n int) bool { return n == 5 }}
	r := batch.NewRunner(c, s.Bucket, testConfig, slog.New(slog.NewJSONHandler(&logs, nil)))
	r.RunFile(t.Context(), s, "input/a.jsonl")
	r.RunFile(t.Context(), s, "input/a.jsonl")
	r.RunMessage(t.Context(), "msg-1", []byte(`{"custom_id":"m","method":"POST","url":"/v1/chat/completions","body":{"user":"m","messages":[{"role":"user","content":"say secret"}]}}`))
	for _, secret := range []string{"say ", "echo", "<b>"} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("logs contain %q:\n%s", secret, logs.Bytes())
		}
	}
	if n := bytes.Count(logs.Bytes(), []byte("\n")); n != 3 {
		t.Errorf("%d log lines, want one per file run and one per message:\n%s", n, logs.Bytes())
	}
}

// TestTransient pins the classification the adapters use to ask for a redelivery.
func TestTransient(t *testing.T) {
	if batch.Transient(nil) || batch.Transient(errors.New("x")) || batch.Transient(store.ErrNotExist) {
		t.Error("Transient is true for nil or a plain error")
	}
	if !batch.Transient(fmt.Errorf("x: %w", context.DeadlineExceeded)) || !batch.Transient(context.Canceled) {
		t.Error("Transient is false for an ended context")
	}
}

// TestMaxLines checks the line cap: a file over it runs nothing and records one clear error
// line (with an empty output file, so the job reads as complete); at the cap it runs.
func TestMaxLines(t *testing.T) {
	data, _ := batchtest.File(30) // 30 valid request lines
	c := &batchtest.Completer{}
	cfg := testConfig
	cfg.MaxLines = 29
	out, errs, s := runFile(t, c, cfg, "big", data)
	if c.Total() != 0 {
		t.Errorf("%d calls for a refused file", c.Total())
	}
	if len(out) != 0 {
		t.Errorf("output = %q, want empty", out)
	}
	got := batchtest.ParseOutput(t, errs)
	if len(got) != 1 || got[0].Error == nil || got[0].Error.Code != "invalid_request" ||
		!strings.Contains(got[0].Error.Message, "more than 29 request lines") || !strings.Contains(got[0].Error.Message, "GATEWAY_BATCH_MAX_LINES") {
		t.Errorf("errors file = %s", errs)
	}
	// A redelivery finds the refusal and writes nothing.
	_, writes := s.Counts()
	r := batch.NewRunner(c, s.Bucket, cfg, batchtest.Logger(t))
	if err := r.RunFile(t.Context(), s, "input/big.jsonl"); err != nil {
		t.Fatal(err)
	}
	if _, w := s.Counts(); w != writes {
		t.Errorf("the redelivery of a refused file wrote %d objects", w-writes)
	}
	cfg.MaxLines = 30
	if _, _, _ = runFile(t, c, cfg, "big", data); c.Total() != 30 {
		t.Errorf("at the cap: %d calls, want 30", c.Total())
	}
}
