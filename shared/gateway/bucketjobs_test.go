package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/batch/localbatch"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// bucketInput is a bucket file with every kind of line: answered (two models), rejected by
// Gemini, malformed, a duplicate custom_id, stream: true, a wrong url, a body the translator
// refuses (an unknown role), and a blank line.
const bucketInput = `{"custom_id":"a-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"say 1 <b>&</b>"}]}}
{"custom_id":"b-2","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"say 2"}]}}
{"custom_id":"bad-3","method":"POST","url":"/v1/chat/completions","body":{
   
{"custom_id":"r-5","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"please reject 5"}]}}
{"custom_id":"s-6","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"say 6"}]}}
{"custom_id":"u-7","method":"POST","url":"/v1/completions","body":{"model":"gemini-2.5-flash","prompt":"say 7"}}
{"custom_id":"a-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"say 8"}]}}
{"custom_id":"t-9","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"wizard","content":"say 9"}]}}
{"custom_id":"c-10","method":"POST","url":"/chat/completions","body":{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"say 10"}]}}
{"custom_id":"d-11","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"say 11"}]}}
`

// bucketValid is the number of lines of bucketInput that reach Gemini.
const bucketValid = 5

// echoUpstream answers a generateContent for gemini-2.5-flash or gemini-2.5-pro with a text
// that echoes the prompt, and a 400 for a prompt that says "reject"; it checks that every
// request is a translated generateContent.
func echoUpstream(t *testing.T) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, ":batchEmbedContents") {
			var req struct {
				Requests []json.RawMessage `json:"requests"`
			}
			if err := json.Unmarshal(b, &req); err != nil || len(req.Requests) == 0 {
				t.Errorf("upstream got embeddings %s (%v)", b, err)
			}
			_, _ = io.WriteString(w, `{"embeddings":[`+strings.Repeat(`{"values":[0.5,0.25]},`, len(req.Requests)-1)+`{"values":[0.5,0.25]}]}`)
			return
		}
		if r.URL.Path != "/v1beta/models/gemini-2.5-flash:generateContent" && r.URL.Path != "/v1beta/models/gemini-2.5-pro:generateContent" {
			t.Errorf("upstream path %s", r.URL.Path)
		}
		var req struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"contents"`
		}
		if err := json.Unmarshal(b, &req); err != nil || len(req.Contents) != 1 || req.Contents[0].Role != "user" || len(req.Contents[0].Parts) != 1 {
			t.Errorf("upstream got %s (%v): not a translated request", b, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		prompt := req.Contents[0].Parts[0].Text
		if strings.Contains(prompt, "reject") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}`)
			return
		}
		text, _ := json.Marshal("echo: " + prompt)
		fmt.Fprintf(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":%s}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash"}`, text)
	})
}

// bucketRig is a gateway with an object store (the batch engine's files) and one bucket that
// holds the inputs and the results, as GATEWAY_OUTPUT_BUCKET may.
type bucketRig struct {
	h      *gateway.Handler
	st     store.Store
	bucket *batchtest.MemStore
	jobs   *gateway.BucketJobs
}

func newBucketRig(t *testing.T, h *gateway.Handler, st store.Store) *bucketRig {
	bucket := batchtest.NewMemStore()
	return &bucketRig{h: h, st: st, bucket: bucket, jobs: gateway.NewBucketJobs(h, bucket)}
}

// localRig is a bucketRig on the local engine with echoUpstream.
func localRig(t *testing.T) (*bucketRig, *upstream) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return localRigWith(t, st, nil)
}

// localRigWith is localRig on the store st, with the options changed by mod.
func localRigWith(t *testing.T, st store.Store, mod func(*gateway.Options)) (*bucketRig, *upstream) {
	up := echoUpstream(t)
	var h *gateway.Handler
	newGateway(t, up, func(o *gateway.Options) {
		o.Store = st
		if mod != nil {
			mod(o)
		}
		h = gateway.New(*o)
	})
	return newBucketRig(t, h, st), up
}

// runner is the event runner of one function instance with the given bucket engine setting and
// an online threshold of 3 request lines.
func (r *bucketRig) runner(t *testing.T, mode string) *batch.Runner {
	cfg := batchtest.Config
	cfg.BucketEngine, cfg.OnlineMaxLines = mode, 3
	return batch.NewRunner(r.h, r.bucket.Bucket, cfg, batchtest.Logger(t)).WithFileEngine(r.jobs)
}

// deliver hands the bucket file name to runner as its event does and wants it acknowledged.
func (r *bucketRig) deliver(t *testing.T, runner *batch.Runner, name string) {
	t.Helper()
	if o := runner.Handle(t.Context(), batch.Job{ID: "ev-1", Bucket: "in", Name: name}); o != batch.Ack {
		t.Fatalf("Handle(%s) = %v, want ack", name, o)
	}
}

// refreshUntilEnded runs the scheduled refresh until it reports a job ended.
func (r *bucketRig) refreshUntilEnded(t *testing.T) {
	t.Helper()
	for {
		n, err := r.jobs.Refresh(t.Context())
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if n > 0 {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal("the refresh never ended the bucket job")
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// results returns the output and errors objects of input name, nil for one that is missing.
func (r *bucketRig) results(t *testing.T, runner *batch.Runner, name string) (out, errs []byte) {
	t.Helper()
	o, e, _ := runner.OutputNames(name)
	out, _ = r.bucket.Object(o)
	errs, _ = r.bucket.Object(e)
	return out, errs
}

// normalized parses a results file into its lines with what is random per call (completion
// ids, created, request ids, trace ids) replaced by placeholders, so that two runs compare.
func normalized(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for i, raw := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("results line %d: %v: %s", i+1, err, raw)
		}
		if resp, ok := m["response"].(map[string]any); ok {
			resp["request_id"] = "<request_id>"
			if body, ok := resp["body"].(map[string]any); ok {
				for _, k := range []string{"id", "created", "trace_id"} {
					if _, ok := body[k]; ok {
						body[k] = "<" + k + ">"
					}
				}
			}
		}
		lines = append(lines, m)
	}
	return lines
}

// without returns lines without the one of customID, and that line.
func without(lines []map[string]any, customID string) ([]map[string]any, map[string]any) {
	var rest []map[string]any
	var found map[string]any
	for _, l := range lines {
		if l["custom_id"] == customID {
			found = l
			continue
		}
		rest = append(rest, l)
	}
	return rest, found
}

// TestBucketJobLocalEngineMatchesOnline pins a bucket file above the online threshold on the
// local engine end to end: the event submits and returns without the results; the scheduled
// refresh writes the output and errors objects, equal line for line (ids included; only
// per-call random ids differ) to what the online path writes for the same file; each valid
// line reached Gemini once, in one engine job per model; the work objects and the index marker
// are gone; a redelivery afterwards submits nothing and rewrites nothing.
func TestBucketJobLocalEngineMatchesOnline(t *testing.T) {
	rig, up := localRig(t)
	const name = "input/big.jsonl"
	rig.bucket.Put(name, []byte(bucketInput))
	r := rig.runner(t, batch.BucketAuto)
	rig.deliver(t, r, name)
	if out, errs := rig.results(t, r, name); out != nil || errs != nil {
		t.Fatal("the event wrote final files: a bucket job's are the refresh's to write")
	}
	engineJobs, err := rig.st.List(t.Context(), "bucketjobs/work/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	submitted := 0
	for _, o := range engineJobs {
		if strings.HasSuffix(o.Name, "/job.json") {
			submitted++
		}
	}
	if submitted != 2 {
		t.Errorf("%d engine jobs submitted, want 2 (one per model)", submitted)
	}
	rig.refreshUntilEnded(t)
	out, errs := rig.results(t, r, name)
	if out == nil || errs == nil {
		t.Fatalf("after the refresh: output %q, errors %q", out, errs)
	}
	if got := up.calls.Load(); got != bucketValid {
		t.Errorf("%d model calls, want %d (each valid line once)", got, bucketValid)
	}

	// The online path on the same file (same name, same content) in a bucket of its own.
	online := newBucketRig(t, rig.h, rig.st)
	online.bucket.Put(name, []byte(bucketInput))
	or := online.runner(t, batch.BucketOnline)
	online.deliver(t, or, name)
	wantOut, wantErrs := online.results(t, or, name)
	if d := jsonDiff(normalized(t, wantOut), normalized(t, out)); d != "" {
		t.Errorf("output object differs from the online path's (-online +bucket job):\n%s", d)
	}
	if d := jsonDiff(normalized(t, wantErrs), normalized(t, errs)); d != "" {
		t.Errorf("errors object differs from the online path's (-online +bucket job):\n%s", d)
	}
	if n := len(normalized(t, out)); n != 4 {
		t.Errorf("output has %d lines, want 4", n)
	}

	for _, prefix := range []string{"bucketjobs/work/", "bucketjob-index/"} {
		if left, err := rig.st.List(t.Context(), prefix, "", 0); err != nil || len(left) != 0 {
			t.Errorf("%s left after the refresh: %d objects (%v)", prefix, len(left), err)
		}
	}
	o, e, _ := r.OutputNames(name)
	outV, errV := rig.bucket.Version(o), rig.bucket.Version(e)
	calls := up.calls.Load()
	rig.deliver(t, rig.runner(t, batch.BucketAuto), name)
	if n, err := rig.jobs.Refresh(t.Context()); n != 0 || err != nil {
		t.Errorf("refresh after the end: %d, %v", n, err)
	}
	if rig.bucket.Version(o) != outV || rig.bucket.Version(e) != errV || up.calls.Load() != calls {
		t.Error("a redelivery after the end ran or wrote the file again")
	}
}

// TestBucketJobBatchEngines pins bucket jobs on Vertex AI batch prediction and Gemini Batch
// Mode, against the fakes that validate what they receive: only the valid lines are submitted,
// as the requests the online endpoint sends; the refresh writes the same objects as the
// online path (the fake answers out of order; the rejected request is a 400 error line).
func TestBucketJobBatchEngines(t *testing.T) {
	for _, kind := range []string{"vertex", "gemini"} {
		t.Run(kind, func(t *testing.T) {
			_, f, h := newEngineHandler(t, kind)
			rig := newBucketRig(t, h, f.st)
			input := strings.ReplaceAll(bucketInput, "gemini-2.5-pro", "gemini-2.5-flash") // the fakes serve one model
			const name = "input/nightly/big.jsonl"
			rig.bucket.Put(name, []byte(input))
			r := rig.runner(t, batch.BucketAuto)
			rig.deliver(t, r, name)
			f.mu.Lock()
			created, online := f.created, len(f.online)
			var lines int
			for _, j := range f.jobs {
				lines += len(j.lines)
			}
			f.mu.Unlock()
			if created != 1 || lines != bucketValid || online != 0 {
				t.Fatalf("the engine got %d jobs with %d requests and %d online calls; want 1 job with the %d valid lines", created, lines, online, bucketValid)
			}
			rig.refreshUntilEnded(t)
			out, errs := rig.results(t, r, name)

			ref := newBucketRig(t, h, f.st)
			ref.bucket.Put(name, []byte(input))
			or := ref.runner(t, batch.BucketOnline)
			ref.deliver(t, or, name)
			wantOut, wantErrs := ref.results(t, or, name)
			// The fake's online endpoint answers every prompt; its batch engine rejects r-5,
			// which must then be a 400 error line (with the same id) in the errors object.
			wantOutLines, answered := without(normalized(t, wantOut), "r-5")
			if d := jsonDiff(wantOutLines, normalized(t, out)); d != "" {
				t.Errorf("output object differs from the online path's (-online +bucket job):\n%s", d)
			}
			gotErrs, rejected := without(normalized(t, errs), "r-5")
			if d := jsonDiff(normalized(t, wantErrs), gotErrs); d != "" {
				t.Errorf("errors object differs from the online path's (-online +bucket job):\n%s", d)
			}
			if resp, _ := rejected["response"].(map[string]any); resp == nil || resp["status_code"] != float64(400) || rejected["id"] != answered["id"] {
				t.Errorf("the line the engine rejected: %v", rejected)
			}
			if left, err := f.st.List(t.Context(), "bucketjobs/work/", "", 0); err != nil || len(left) != 0 {
				t.Errorf("work objects left: %d (%v)", len(left), err)
			}
		})
	}
}

// TestBucketJobForcing pins the setting and the threshold: auto runs a file at the threshold
// online (results when the event returns, no job record); online runs a file above it online;
// batch submits even a one-line file (no results until the refresh).
func TestBucketJobForcing(t *testing.T) {
	lines := strings.SplitAfter(bucketInput, "\n")
	small := lines[0] + lines[1] + lines[9] // 3 request lines: the threshold
	for _, tc := range []struct {
		name, mode, input string
		online            bool
	}{
		{"auto at the threshold", batch.BucketAuto, small, true},
		{"online above it", batch.BucketOnline, bucketInput, true},
		{"batch for one line", batch.BucketBatch, lines[0], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig, up := localRig(t)
			const name = "input/f.jsonl"
			rig.bucket.Put(name, []byte(tc.input))
			r := rig.runner(t, tc.mode)
			rig.deliver(t, r, name)
			out, errs := rig.results(t, r, name)
			records, err := rig.st.List(t.Context(), "bucketjobs/", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if tc.online {
				if out == nil || errs == nil || len(records) != 0 {
					t.Fatalf("online: output %v, errors %v, %d job objects; want the results and no job", out != nil, errs != nil, len(records))
				}
				return
			}
			if out != nil || len(records) == 0 {
				t.Fatalf("batch: output %v, %d job objects; want a job and no results yet", out != nil, len(records))
			}
			rig.refreshUntilEnded(t)
			out, _ = rig.results(t, r, name)
			if got := normalized(t, out); len(got) != 1 || got[0]["custom_id"] != "a-1" || up.calls.Load() != 1 {
				t.Errorf("batch: output %s after %d calls", out, up.calls.Load())
			}
		})
	}
}

// TestBucketJobConcurrentDeliveries pins create-only job records: eight deliveries of one
// upload at once (eight function instances) submit one engine job; each delivery is either
// acknowledged or asks for a redelivery while the first is submitting, and a redelivery then
// finds the job. A new version of the file (uploaded again) is a new job.
func TestBucketJobConcurrentDeliveries(t *testing.T) {
	_, f, h := newEngineHandler(t, "vertex")
	rig := newBucketRig(t, h, f.st)
	input := strings.ReplaceAll(bucketInput, "gemini-2.5-pro", "gemini-2.5-flash")
	const name = "input/twice.jsonl"
	rig.bucket.Put(name, []byte(input))
	var wg sync.WaitGroup
	outcomes := make([]batch.Outcome, 8)
	for i := range outcomes {
		r := rig.runner(t, batch.BucketAuto)
		wg.Go(func() {
			outcomes[i] = r.Handle(context.WithoutCancel(t.Context()), batch.Job{ID: "ev", Bucket: "in", Name: name})
		})
	}
	wg.Wait()
	for i, o := range outcomes {
		if o == batch.Redeliver {
			rig.deliver(t, rig.runner(t, batch.BucketAuto), name)
		} else if o != batch.Ack {
			t.Errorf("delivery %d: %v", i, o)
		}
	}
	f.mu.Lock()
	created := f.created
	f.mu.Unlock()
	if created != 1 {
		t.Fatalf("%d engine jobs for one upload delivered 8 times at once, want 1", created)
	}
	rig.refreshUntilEnded(t)
	r := rig.runner(t, batch.BucketAuto)
	out, _ := rig.results(t, r, name)
	if n := len(normalized(t, out)); n != 4 {
		t.Errorf("output has %d lines, want 4", n)
	}

	// Uploaded again with one line more: a new version, a new job, new results.
	rig.bucket.Put(name, []byte(input+`{"custom_id":"e-12","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"say 12"}]}}`+"\n"))
	rig.deliver(t, r, name)
	f.mu.Lock()
	created = f.created
	f.mu.Unlock()
	if created != 2 {
		t.Fatalf("the new version made %d jobs in all, want 2", created)
	}
	rig.refreshUntilEnded(t)
	out, _ = rig.results(t, r, name)
	if got := normalized(t, out); len(got) != 5 || got[4]["custom_id"] != "e-12" {
		t.Errorf("the new version's output: %s", out)
	}
}

// crashingEngine is the local engine behind a Submit that panics the first crashes times (an
// instance killed while it submits) and may say it runs no embeddings (as Vertex and Batch
// Mode do today); it counts the jobs it submitted.
type crashingEngine struct {
	*localbatch.Engine
	crashes  atomic.Int32
	noEmbeds bool
	refuse   string // a model whose jobs Submit refuses, as an engine refuses a job it cannot run
	submits  atomic.Int32
}

func (e *crashingEngine) Submit(ctx context.Context, j engine.Job) (string, error) {
	if e.crashes.Add(-1) >= 0 {
		panic("instance killed while submitting")
	}
	if j.Model == e.refuse {
		return "", &gemini.APIError{HTTPStatus: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: "this engine does not take the job"}
	}
	e.submits.Add(1)
	return e.Engine.Submit(ctx, j)
}

func (e *crashingEngine) Embeds() bool { return !e.noEmbeds }

// crashingRig is a localRig on an in-memory store whose engine is a crashingEngine.
func crashingRig(t *testing.T, crashes int32, noEmbeds bool) (*bucketRig, *upstream, *crashingEngine, *batchtest.MemStore) {
	st := batchtest.NewMemStore()
	eng := &crashingEngine{noEmbeds: noEmbeds}
	eng.crashes.Store(crashes)
	rig, up := localRigWith(t, st, func(o *gateway.Options) {
		eng.Engine = localbatch.New(st, o.Client, 4)
		o.BatchEngine = eng
	})
	return rig, up, eng, st
}

// TestBucketJobTakenOverAfterTheLease pins the claim of a delivery that died while submitting:
// its record holds the file off other deliveries (they ask for a redelivery) while its lease
// runs; after the lease a delivery takes it over, submits once, and the refresh ends the job.
func TestBucketJobTakenOverAfterTheLease(t *testing.T) {
	rig, _, eng, st := crashingRig(t, 1, false)
	const name = "input/crash.jsonl"
	rig.bucket.Put(name, []byte(bucketInput))
	r := rig.runner(t, batch.BucketAuto)
	job := batch.Job{ID: "ev", Bucket: "in", Name: name}
	if o := r.Handle(t.Context(), job); o != batch.Redeliver {
		t.Fatalf("the delivery that crashed: %v, want redeliver", o)
	}
	if o := r.Handle(t.Context(), job); o != batch.Redeliver {
		t.Fatalf("a delivery during the dead one's lease: %v, want redeliver", o)
	}
	records := st.Names("bucketjobs/")
	var record string
	for _, n := range records {
		if !strings.HasPrefix(n, "bucketjobs/work/") {
			record = n
		}
	}
	if record == "" || eng.submits.Load() != 0 {
		t.Fatalf("after the crash: objects %v, %d submits; want the claim left and nothing submitted", records, eng.submits.Load())
	}
	st.Age(record, batch.DefaultClaimLease+time.Minute)
	rig.deliver(t, r, name)
	rig.deliver(t, r, name) // and a redelivery finds the job
	if n := eng.submits.Load(); n != 2 {
		t.Fatalf("%d engine jobs submitted, want 2 (one per model, once)", n)
	}
	rig.refreshUntilEnded(t)
	if out, _ := rig.results(t, r, name); len(normalized(t, out)) != 4 {
		t.Errorf("output: %s", out)
	}
}

// TestBucketJobEmbeddingsRunOnline pins the fallback: a file above the threshold with an
// embeddings line, on an engine that runs no embeddings batches, runs online inside its event
// (results at once, every line called once), and a redelivery neither submits nor calls again.
func TestBucketJobEmbeddingsRunOnline(t *testing.T) {
	rig, up, eng, _ := crashingRig(t, 0, true)
	const name = "input/mixed.jsonl"
	input := bucketInput + `{"custom_id":"e-12","method":"POST","url":"/v1/embeddings","body":{"model":"gemini-embedding-001","input":"hello"}}` + "\n"
	rig.bucket.Put(name, []byte(input))
	r := rig.runner(t, batch.BucketAuto)
	rig.deliver(t, r, name)
	out, errs := rig.results(t, r, name)
	if got := normalized(t, out); len(got) != 5 || got[4]["custom_id"] != "e-12" || errs == nil {
		t.Fatalf("output %s, errors %v; want the file run online with the embeddings line answered", out, errs != nil)
	}
	calls := up.calls.Load()
	if eng.submits.Load() != 0 || calls != bucketValid+1 {
		t.Errorf("%d submits, %d calls; want none and %d", eng.submits.Load(), calls, bucketValid+1)
	}
	rig.deliver(t, r, name)
	if eng.submits.Load() != 0 || up.calls.Load() != calls {
		t.Error("the redelivery submitted or called again")
	}
}

// TestBucketJobEmbeddingsOnLocalEngine pins an embeddings line on an engine that runs
// embeddings batches: its own engine job beside the chat one, and the same output as online.
func TestBucketJobEmbeddingsOnLocalEngine(t *testing.T) {
	rig, up := localRig(t)
	const name = "input/embed.jsonl"
	input := strings.SplitAfter(bucketInput, "\n")[0] +
		`{"custom_id":"e-2","method":"POST","url":"/v1/embeddings","body":{"model":"gemini-embedding-001","input":["hello","world"]}}` + "\n"
	rig.bucket.Put(name, []byte(input))
	r := rig.runner(t, batch.BucketBatch)
	rig.deliver(t, r, name)
	rig.refreshUntilEnded(t)
	out, errs := rig.results(t, r, name)
	if up.calls.Load() != 2 {
		t.Errorf("%d model calls, want 2", up.calls.Load())
	}
	online := newBucketRig(t, rig.h, rig.st)
	online.bucket.Put(name, []byte(input))
	or := online.runner(t, batch.BucketOnline)
	online.deliver(t, or, name)
	wantOut, wantErrs := online.results(t, or, name)
	if d := jsonDiff(normalized(t, wantOut), normalized(t, out)); d != "" || len(normalized(t, out)) != 2 {
		t.Errorf("output object differs from the online path's (-online +bucket job):\n%s", d)
	}
	if d := jsonDiff(normalized(t, wantErrs), normalized(t, errs)); d != "" {
		t.Errorf("errors object differs from the online path's (-online +bucket job):\n%s", d)
	}
}

// TestBucketJobRefusedBySubmitRunsOnline pins a job the engine refuses outright (a 400, as
// Vertex refuses an embeddings job with two parameter sets): the file runs online in the same
// delivery, with every line answered once and the jobs submitted before it cancelled, and a
// redelivery neither submits nor calls again.
func TestBucketJobRefusedBySubmitRunsOnline(t *testing.T) {
	rig, up, eng, _ := crashingRig(t, 0, false)
	eng.refuse = "gemini-2.5-pro"
	const name = "input/refused.jsonl"
	rig.bucket.Put(name, []byte(bucketInput))
	r := rig.runner(t, batch.BucketBatch)
	rig.deliver(t, r, name)
	out, errs := rig.results(t, r, name)
	if got := normalized(t, out); len(got) != bucketValid-1 || errs == nil { // r-5's 400 is an error line
		t.Fatalf("output %s, errors %v; want the file answered online at once", out, errs != nil)
	}
	calls := up.calls.Load()
	if calls != bucketValid {
		t.Errorf("%d model calls, want %d (each valid line once)", calls, bucketValid)
	}
	rig.deliver(t, r, name)
	if up.calls.Load() != calls {
		t.Error("the redelivery called the model again")
	}
	if n := eng.submits.Load(); n > 1 {
		t.Errorf("%d jobs submitted; want at most the one before the refusal", n)
	}
}
