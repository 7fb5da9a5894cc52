package batch_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
)

// line is a queue message holding one batch line for user (the fake Completer answers by it).
func line(customID, user string) []byte {
	return []byte(`{"custom_id":"` + customID + `","method":"POST","url":"/v1/chat/completions","body":{"user":"` + user + `","messages":[{"role":"user","content":"hi"}]}}`)
}

// panicky panics on every call: a bug below the runner.
type panicky struct{}

func (panicky) Complete(context.Context, []byte) batch.Completion { panic("boom") }

// TestHandleOutcomes pins the one retry policy every adapter applies: a transient failure,
// a panic, an ended context and a function without an output bucket are Redeliver, with
// nothing final written; a line Gemini rejects for good, a malformed line and a success are
// Ack, with the result recorded.
func TestHandleOutcomes(t *testing.T) {
	cfg := batch.Config{Concurrency: 2, InputPrefix: "input/", OutputPrefix: "output/", OutputBucket: "out"}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name      string
		c         batch.Completer
		cfg       batch.Config
		ctx       context.Context
		job       batch.Job
		want      batch.Outcome
		recorded  string // the object that must hold a result line, "" for none
		errorLine bool   // whether that result is an error line
		logged    string // a log message the outcome must leave, "" for none
	}{
		{name: "success", c: &batchtest.Completer{}, job: batch.Job{ID: "1", Message: line("ok", "ok")},
			want: batch.Ack, recorded: "output/messages/ok/1.json"},
		{name: "permanent: rejected line is acked and recorded", c: &batchtest.Completer{}, job: batch.Job{ID: "2", Message: line("rej", "reject-1")},
			want: batch.Ack, recorded: "output/messages/rej/2.json", errorLine: true},
		{name: "permanent: malformed line is acked and recorded", c: &batchtest.Completer{}, job: batch.Job{ID: "3", Message: []byte(`{"custom_id":"bad","method":"GET"}`)},
			want: batch.Ack, recorded: "output/messages/bad/3.json", errorLine: true},
		{name: "transient: upstream 503 is redelivered", c: &batchtest.Completer{Outage: func(int) bool { return true }}, job: batch.Job{ID: "4", Message: line("down", "down")},
			want: batch.Redeliver, logged: "job failed; it will be redelivered"},
		{name: "transient file: partly done file is redelivered", c: &batchtest.Completer{Outage: func(n int) bool { return n == 1 }},
			job: batch.Job{ID: "5", Bucket: "in", Name: "input/f.jsonl"}, want: batch.Redeliver, logged: "job failed; it will be redelivered"},
		{name: "file done", c: &batchtest.Completer{}, job: batch.Job{ID: "6", Bucket: "in", Name: "input/f.jsonl"},
			want: batch.Ack, recorded: "output/f.output.jsonl"},
		{name: "panic is redelivered", c: panicky{}, job: batch.Job{ID: "7", Message: line("p", "p")},
			want: batch.Redeliver, logged: "job panicked; it will be redelivered"},
		{name: "ended context is redelivered unstarted", c: panicky{}, ctx: cancelled, job: batch.Job{ID: "8", Message: line("late", "late")},
			want: batch.Redeliver, logged: "job not started; it will be redelivered"},
		{name: "no output bucket is redelivered", c: panicky{}, cfg: batch.Config{Concurrency: 1, InputPrefix: "input/", OutputPrefix: "output/"},
			job: batch.Job{ID: "9", Message: line("x", "x")}, want: batch.Redeliver, logged: "GATEWAY_OUTPUT_BUCKET is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := batchtest.NewMemStore()
			data := append(append(line("a", "a"), '\n'), line("b", "b")...)
			s.Put("input/f.jsonl", data)
			var logs bytes.Buffer
			c := cfg
			if tc.cfg.OutputPrefix != "" {
				c = tc.cfg
			}
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			r := batch.NewRunner(tc.c, s.Bucket, c, slog.New(slog.NewTextHandler(&logs, nil)))
			if got := r.Handle(ctx, tc.job); got != tc.want {
				t.Errorf("Handle = %v, want %v\nlogs:\n%s", got, tc.want, logs.String())
			}
			if tc.logged != "" && !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("logs do not say %q:\n%s", tc.logged, logs.String())
			}
			if strings.Contains(logs.String(), "\"hi\"") {
				t.Errorf("logs carry the prompt:\n%s", logs.String())
			}
			finals := 0
			for _, n := range s.Names("output/") {
				if !strings.HasPrefix(n, "output/.work/") {
					finals++
				}
			}
			if tc.recorded == "" {
				if finals != 0 {
					t.Errorf("final objects %v written for a job to redeliver", s.Names("output/"))
				}
				return
			}
			b, ok := s.Object(tc.recorded)
			if !ok {
				t.Fatalf("%s not written; objects %v", tc.recorded, s.Names(""))
			}
			if tc.errorLine != bytes.Contains(b, []byte(`"error":{`)) {
				t.Errorf("%s = %s, want error line %v", tc.recorded, b, tc.errorLine)
			}
		})
	}
}
