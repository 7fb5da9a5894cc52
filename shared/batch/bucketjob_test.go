package batch_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
)

// fileEngine is a fake batch.FileEngine: it records each job and its lines, and answers err.
type fileEngine struct {
	err   error
	mu    sync.Mutex
	jobs  []*batch.FileJob
	lines [][]batch.FileLine
}

func (e *fileEngine) SubmitFile(ctx context.Context, f *batch.FileJob) error {
	var lines []batch.FileLine
	if err := f.Lines(ctx, func(l batch.FileLine) error { lines = append(lines, l); return nil }); err != nil {
		return err
	}
	e.mu.Lock()
	e.jobs, e.lines = append(e.jobs, f), append(e.lines, lines)
	e.mu.Unlock()
	return e.err
}

// TestFileEngineRouting pins which files go to the FileEngine: with auto, a file above
// OnlineMaxLines does and one at it does not; online and batch force either way; a file over
// MaxLines is refused online whatever the setting.
func TestFileEngineRouting(t *testing.T) {
	data, _ := batchtest.File(30) // 30 request lines
	for _, tc := range []struct {
		name      string
		mode      string
		threshold int
		maxLines  int
		engine    bool
	}{
		{"auto above the threshold", batch.BucketAuto, 29, 0, true},
		{"auto at the threshold", batch.BucketAuto, 30, 0, false},
		{"unset is auto", "", 10, 0, true},
		{"online", batch.BucketOnline, 1, 0, false},
		{"batch", batch.BucketBatch, 1000, 0, true},
		{"over the line cap", batch.BucketBatch, 1, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := batchtest.NewMemStore()
			s.Put("input/f.jsonl", data)
			cfg := batchtest.Config
			cfg.BucketEngine, cfg.OnlineMaxLines, cfg.MaxLines = tc.mode, tc.threshold, tc.maxLines
			c := &batchtest.Completer{}
			e := &fileEngine{}
			r := batch.NewRunner(c, s.Bucket, cfg, batchtest.Logger(t)).WithFileEngine(e)
			if o := r.Handle(t.Context(), batch.Job{ID: "ev", Bucket: "in", Name: "input/f.jsonl"}); o != batch.Ack {
				t.Fatalf("Handle = %v", o)
			}
			_, online := s.Object("output/f.output.jsonl")
			if len(e.jobs) == 1 != tc.engine || online == tc.engine {
				t.Errorf("%d engine jobs, online results %v; want engine %v", len(e.jobs), online, tc.engine)
			}
			if tc.engine && c.Total() != 0 {
				t.Errorf("%d calls made for a file on the engine", c.Total())
			}
		})
	}
}

// TestFileEngineLines pins what a FileEngine gets: the output names and line ids of the online
// path, each request's body, each malformed line as the exact result line the online path
// records, and a key that is the same for every delivery of one upload and new for a re-upload.
func TestFileEngineLines(t *testing.T) {
	data, lines := batchtest.File(200)
	s := batchtest.NewMemStore()
	s.Put("input/f.jsonl", data)
	cfg := batchtest.Config
	cfg.BucketEngine = batch.BucketBatch
	e := &fileEngine{}
	r := batch.NewRunner(&batchtest.Completer{}, s.Bucket, cfg, batchtest.Logger(t)).WithFileEngine(e)
	job := batch.Job{ID: "ev", Bucket: "in", Name: "input/f.jsonl"}
	for range 2 {
		if o := r.Handle(t.Context(), job); o != batch.Ack {
			t.Fatalf("Handle = %v", o)
		}
	}
	s.Put("input/f.jsonl", data) // the same content uploaded again: a new generation
	if o := r.Handle(t.Context(), job); o != batch.Ack {
		t.Fatalf("Handle = %v", o)
	}
	if len(e.jobs) != 3 || e.jobs[0].Key != e.jobs[1].Key || e.jobs[2].Key == e.jobs[0].Key {
		t.Fatalf("keys of two deliveries and a re-upload: %v", []string{e.jobs[0].Key, e.jobs[1].Key, e.jobs[2].Key})
	}
	f := e.jobs[0]
	if f.Output != "output/f.output.jsonl" || f.Errors != "output/f.errors.jsonl" || f.Bucket != "in" || f.Requests != 200 {
		t.Errorf("job = %+v", f)
	}

	// The online path on the same file: its errors file holds the malformed lines' results.
	online := batchtest.NewMemStore()
	online.Put("input/f.jsonl", data)
	if err := batch.NewRunner(&batchtest.Completer{}, online.Bucket, batchtest.Config, batchtest.Logger(t)).RunFile(t.Context(), online, "input/f.jsonl"); err != nil {
		t.Fatal(err)
	}
	errs, _ := online.Object("output/f.errors.jsonl")
	onlineErr := map[string]bool{}
	for _, o := range batchtest.ParseOutput(t, errs) {
		onlineErr[o.ID] = true
	}
	got := e.lines[0]
	if len(got) != 200 {
		t.Fatalf("%d lines, want 200", len(got))
	}
	for _, l := range got {
		want := lines[l.N-1]
		switch {
		case want.Kind == batchtest.OK || want.Kind == batchtest.Rejected:
			if l.Body == nil || l.Result != nil || l.CustomID != want.CustomID || l.Embed {
				t.Errorf("line %d: %+v, want a request", l.N, l)
			}
		default:
			if l.Body != nil || l.Result == nil {
				t.Errorf("line %d: %+v, want a finished line", l.N, l)
				continue
			}
			if !onlineErr[l.ID] {
				t.Errorf("line %d: id %s is not the online path's", l.N, l.ID)
			}
			if !contains(errs, l.Result) {
				t.Errorf("line %d: result %s is not the online path's line", l.N, l.Result)
			}
		}
	}
}

// contains reports whether line (with its newline) is a whole line of file.
func contains(file, line []byte) bool {
	return bytes.HasPrefix(file, line) || bytes.Contains(file, append([]byte("\n"), line...))
}

// TestFileEngineAnswers pins how the runner reads a FileEngine's answer: ErrRunOnline runs the
// file online; ErrInputChanged is acknowledged (the new version has its own event); any other
// error asks for a redelivery and writes nothing.
func TestFileEngineAnswers(t *testing.T) {
	data, lines := batchtest.File(40)
	for _, tc := range []struct {
		name   string
		err    error
		want   batch.Outcome
		online bool
	}{
		{"run online", batch.ErrRunOnline, batch.Ack, true},
		{"input changed", batch.ErrInputChanged, batch.Ack, false},
		{"transient", errors.New("engine unavailable"), batch.Redeliver, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := batchtest.NewMemStore()
			s.Put("input/f.jsonl", data)
			cfg := batchtest.Config
			cfg.BucketEngine = batch.BucketBatch
			r := batch.NewRunner(&batchtest.Completer{}, s.Bucket, cfg, batchtest.Logger(t)).WithFileEngine(&fileEngine{err: tc.err})
			if o := r.Handle(t.Context(), batch.Job{ID: "ev", Bucket: "in", Name: "input/f.jsonl"}); o != tc.want {
				t.Fatalf("Handle = %v, want %v", o, tc.want)
			}
			out, ok := s.Object("output/f.output.jsonl")
			if ok != tc.online {
				t.Fatalf("online results: %v, want %v", ok, tc.online)
			}
			if ok {
				errs, _ := s.Object("output/f.errors.jsonl")
				batchtest.CheckResults(t, lines, out, errs)
			}
		})
	}
}
