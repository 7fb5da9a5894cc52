package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// Bucket jobs: a *.jsonl file dropped under the input prefix that is too large to run online
// (shared/batch decides) runs on the deployment's batch engine, as a batch of the Batches API
// does. Every line is validated and translated by the same code as POST /v1/batches
// (prepareLine); a line that fails is an error line and is never submitted. Engines run one
// model per job, so a file whose lines name several models is one engine job per model (and
// per endpoint); the answers are merged back in input order. The event's invocation returns
// once the jobs are submitted; the scheduled refresh (Refresh) writes the final files the
// online path writes (batch.Runner.OutputNames), create-only, once, and removes the work objects.
//
//	bucketjobs/<key>.json                      the record: input, output names, engine jobs
//	bucketjobs/work/<key>/lines.jsonl          per input line: its finished line, or where its
//	                                           answer comes from (engine job and key)
//	bucketjobs/work/<key>/requests-<g>.jsonl   the Gemini requests of engine job g
//	bucketjobs/work/<key>/engine-<g>/          engine job g's own files
//	bucketjob-index/<key>                      marks a job whose engine jobs may still run
//
// <key> is batch.FileJob.Key: the input's bucket, name, version and content. The record is
// created create-only before anything is submitted, so of two deliveries of one upload only
// one submits; the other finds the record.

// BucketJobs runs bucket files on a Handler's batch engine and writes their final files to the
// output bucket. It implements batch.FileEngine.
type BucketJobs struct {
	h   *Handler
	out store.Store
}

// NewBucketJobs returns the bucket jobs of h, which write their final files to out (the output
// bucket). The handler must have an object store (Options.Store): the records, the translated
// requests and the engine's files live there.
func NewBucketJobs(h *Handler, out store.Store) *BucketJobs {
	return &BucketJobs{h: h, out: out}
}

// The states of a bucket job's record.
const (
	bucketSubmitting = "submitting" // a delivery holds the claim and is submitting
	bucketRunning    = "running"    // the engine jobs are submitted
	bucketOnline     = "online"     // the file runs on the online engine instead
	bucketDone       = "done"       // the final files are written
)

// bucketRecord is what the store keeps of a bucket job.
type bucketRecord struct {
	Status   string      `json:"status"`
	Bucket   string      `json:"bucket"`
	Name     string      `json:"name"`
	Version  string      `json:"version"`
	Output   string      `json:"output"`
	Errors   string      `json:"errors"`
	Engine   string      `json:"engine"`
	Jobs     []bucketJob `json:"jobs,omitempty"`
	Requests int64       `json:"requests"`
	Invalid  int64       `json:"invalid"`
}

// bucketJob is one engine job of a bucket job: the requests of one model and endpoint.
type bucketJob struct {
	Model string `json:"model"`
	Embed bool   `json:"embed,omitempty"`
	Ref   string `json:"ref"`
	Count int    `json:"count"`
}

// bucketLine is one line of lines.jsonl: the finished output line of a line that was not
// submitted, or the engine job (G) and manifest line of a submitted one.
type bucketLine struct {
	manifestLine
	ID     string          `json:"id"`
	G      int             `json:"g"`
	Result json.RawMessage `json:"result,omitempty"`
}

func bucketRecordName(key string) string { return "bucketjobs/" + key + ".json" }
func bucketWork(key string) string       { return "bucketjobs/work/" + key + "/" }

const bucketIndex = "bucketjob-index/"

// errSubmitting refuses a delivery while another one submits the same file.
var errSubmitting = errors.New("another delivery is submitting this file")

// SubmitFile implements batch.FileEngine.
func (b *BucketJobs) SubmitFile(ctx context.Context, f *batch.FileJob) error {
	h := b.h
	if h.o.Store == nil || h.engine == nil {
		return fmt.Errorf("%w: no batch engine (GATEWAY_STORE_BUCKET is not set)", batch.ErrRunOnline)
	}
	name := bucketRecordName(f.Key)
	rec := &bucketRecord{Status: bucketSubmitting, Bucket: f.Bucket, Name: f.Name, Version: f.Version,
		Output: f.Output, Errors: f.Errors, Engine: h.engine.Name()}
	version, err := b.claim(ctx, name, rec, f)
	if err != nil || version == "" {
		return err
	}
	work := bucketWork(f.Key)
	if err := b.prepare(ctx, f, rec, work); err != nil {
		b.removeWork(ctx, work)
		if errors.Is(err, batch.ErrRunOnline) {
			next := *rec
			next.Status = bucketOnline
			if _, rerr := b.replace(ctx, name, version, &next); rerr != nil {
				return rerr
			}
			return err
		}
		_ = h.o.Store.Delete(ctx, name) // released: a later delivery submits
		return err
	}
	for i := range rec.Jobs {
		j := &rec.Jobs[i]
		ref, err := h.engine.Submit(ctx, engine.Job{ID: "bucket-" + f.Key[:16] + "-" + strconv.Itoa(i), Model: j.Model,
			Input: work + "requests-" + strconv.Itoa(i) + ".jsonl", Work: work + "engine-" + strconv.Itoa(i) + "/",
			Count: j.Count, Embed: j.Embed})
		if err != nil {
			b.cancel(ctx, rec.Jobs[:i])
			b.removeWork(ctx, work)
			if refused(err) {
				// The engine will never take this file (say, Vertex's one set of embedding
				// parameters per job): a redelivery would be refused again, so it runs online,
				// where each line gets its own answer.
				h.o.Logger.Warn("bucket job refused by the batch engine; running it online",
					"bucket", f.Bucket, "name", f.Name, "model", j.Model, "error", err.Error())
				next := *rec
				next.Jobs, next.Status = nil, bucketOnline
				if _, rerr := b.replace(ctx, name, version, &next); rerr != nil {
					return rerr
				}
				return fmt.Errorf("%w: the %s job was refused: %v", batch.ErrRunOnline, j.Model, err)
			}
			_ = h.o.Store.Delete(ctx, name)
			return fmt.Errorf("submitting the %s job: %w", j.Model, err)
		}
		j.Ref = ref
	}
	rec.Status = bucketRunning
	if len(rec.Jobs) == 0 {
		// Every line was refused: nothing to run, the final files are written at once.
		if err := b.finalize(ctx, f.Key, rec, nil); err != nil {
			_ = h.o.Store.Delete(ctx, name)
			return err
		}
		rec.Status = bucketDone
	} else if err := h.o.Store.Create(ctx, bucketIndex+f.Key, bytes.NewReader(nil)); err != nil && !errors.Is(err, store.ErrExists) {
		b.cancel(ctx, rec.Jobs)
		_ = h.o.Store.Delete(ctx, name)
		return err
	}
	ok, err := b.replace(ctx, name, version, rec)
	if err == nil && !ok {
		// Another delivery took the claim over (ours outlived its lease): its jobs stand.
		b.cancel(ctx, rec.Jobs)
	}
	if err == nil && rec.Status == bucketDone {
		b.removeWork(ctx, work)
	}
	return err
}

// refused reports whether an engine's Submit error is a refusal of the job itself (400
// INVALID_ARGUMENT), which no redelivery changes, rather than a failure worth retrying.
func refused(err error) bool {
	var ae *gemini.APIError
	return errors.As(err, &ae) && ae.HTTPStatus == http.StatusBadRequest
}

// claim creates the record, or reads the one another delivery created. It returns the version
// of the record the caller now holds, or "" when there is nothing to submit (the file is
// submitted or done: nil; it runs online: batch.ErrRunOnline), or errSubmitting while a live
// delivery submits it. A claim older than the lease with nothing submitted is taken over.
func (b *BucketJobs) claim(ctx context.Context, name string, rec *bucketRecord, f *batch.FileJob) (string, error) {
	st := b.h.o.Store
	err := b.h.putJSON(ctx, name, rec)
	if err == nil {
		_, obj, err := b.read(ctx, name)
		return obj.Version, err
	}
	if !errors.Is(err, store.ErrExists) {
		return "", err
	}
	old, obj, err := b.read(ctx, name)
	if errors.Is(err, store.ErrNotExist) {
		return "", errSubmitting // released just now after a failure: a later delivery submits
	}
	if err != nil {
		return "", err
	}
	switch old.Status {
	case bucketRunning, bucketDone:
		return "", nil
	case bucketOnline:
		return "", batch.ErrRunOnline
	}
	if b.h.o.Now().Sub(obj.Updated) < f.Lease {
		return "", errSubmitting
	}
	body, err := marshal(rec)
	if err != nil {
		return "", err
	}
	if err := st.Replace(ctx, name, obj.Version, bytes.NewReader(body)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", errSubmitting
		}
		return "", err
	}
	_, obj, err = b.read(ctx, name)
	return obj.Version, err
}

// read reads a bucket job's record.
func (b *BucketJobs) read(ctx context.Context, name string) (*bucketRecord, store.Object, error) {
	var rec bucketRecord
	obj, err := b.h.getJSON(ctx, name, &rec)
	return &rec, obj, err
}

// replace writes rec over version: false when the record changed meanwhile.
func (b *BucketJobs) replace(ctx context.Context, name, version string, rec *bucketRecord) (bool, error) {
	body, err := marshal(rec)
	if err != nil {
		return false, err
	}
	err = b.h.o.Store.Replace(ctx, name, version, bytes.NewReader(body))
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// prepare reads the file's lines and writes lines.jsonl and one requests file per model and
// endpoint, filling rec's jobs and counts. It returns batch.ErrRunOnline for a file with
// embeddings lines when the engine does not run embeddings.
func (b *BucketJobs) prepare(ctx context.Context, f *batch.FileJob, rec *bucketRecord, work string) error {
	h := b.h
	embeds := false
	if e, ok := h.engine.(engine.Embedder); ok {
		embeds = e.Embeds()
	}
	man := newObjectWriter(ctx, h.o.Store, work+"lines.jsonl")
	writers := []*objectWriter{man}
	groups := map[bucketJob]int{}
	err := f.Lines(ctx, func(l batch.FileLine) error {
		bl := bucketLine{ID: l.ID}
		bl.Line, bl.CustomID = l.N, l.CustomID
		if l.Result != nil {
			rec.Invalid++
			bl.Result = bytes.TrimSpace(l.Result)
			return b.writeLine(man, &bl)
		}
		endpoint := "/v1/chat/completions"
		if l.Embed {
			if !embeds {
				return fmt.Errorf("%w: line %d is an embeddings request, which the %s batch engine does not run", batch.ErrRunOnline, l.N, h.engine.Name())
			}
			endpoint = embeddingsEndpoint
		}
		rs := &reqState{start: h.o.Now(), method: http.MethodPost, route: "batch", traceID: newTraceID(), key: "batch"}
		model, gbody, mline, err := h.prepareLine(ctx, endpoint, l.Body, nil, rs)
		if err != nil {
			e := toOpenAI(err)
			if e.Status >= 500 {
				return err // ours, not the line's: nothing is submitted
			}
			rec.Invalid++
			customID := l.CustomID
			if bl.Result, err = marshal(failedLine(l.ID, &customID, e, rs.traceID)); err != nil {
				return err
			}
			bl.Result = bytes.TrimSpace(bl.Result)
			return b.writeLine(man, &bl)
		}
		gk := bucketJob{Model: model, Embed: l.Embed}
		g, ok := groups[gk]
		if !ok {
			g = len(rec.Jobs)
			groups[gk] = g
			rec.Jobs = append(rec.Jobs, gk)
			writers = append(writers, newObjectWriter(ctx, h.o.Store, work+"requests-"+strconv.Itoa(g)+".jsonl"))
		}
		key := strconv.Itoa(l.N)
		rline, err := marshal(engine.InputLine{Key: key, Request: gbody})
		if err != nil {
			return err
		}
		if err := writers[1+g].line(rline); err != nil {
			return err
		}
		rec.Jobs[g].Count++
		rec.Requests++
		mline.Key, mline.Line, mline.CustomID = key, l.N, l.CustomID
		bl.manifestLine, bl.G = mline, g
		return b.writeLine(man, &bl)
	})
	if err != nil {
		for _, w := range writers {
			w.abort(err)
		}
		return err
	}
	for _, w := range writers {
		if err := w.close(); err != nil {
			return err
		}
	}
	return nil
}

func (b *BucketJobs) writeLine(w *objectWriter, bl *bucketLine) error {
	line, err := marshal(bl)
	if err != nil {
		return err
	}
	return w.line(line)
}

// cancel asks the engine to stop jobs whose record will not be kept.
func (b *BucketJobs) cancel(ctx context.Context, jobs []bucketJob) {
	for _, j := range jobs {
		if j.Ref == "" {
			continue
		}
		if err := b.h.engine.Cancel(context.WithoutCancel(ctx), j.Ref); err != nil {
			b.h.o.Logger.Warn("bucket job's engine job not cancelled", "ref", j.Ref, "error", err.Error())
		}
	}
}

// removeWork deletes a bucket job's work objects; what it misses, the bucket's lifecycle rule
// expires.
func (b *BucketJobs) removeWork(ctx context.Context, work string) {
	ctx = context.WithoutCancel(ctx)
	st := b.h.o.Store
	for {
		objs, err := st.List(ctx, work, "", 1000)
		if err != nil || len(objs) == 0 {
			if err != nil {
				b.h.o.Logger.Warn("bucket job work not removed; the lifecycle rule will", "work", work, "error", err.Error())
			}
			return
		}
		for _, o := range objs {
			if err := st.Delete(ctx, o.Name); err != nil {
				b.h.o.Logger.Warn("bucket job work not removed; the lifecycle rule will", "work", work, "error", err.Error())
				return
			}
		}
	}
}

// Refresh is the scheduled refresh: the Batches API's batches (Handler.RefreshBatches) and the
// bucket jobs, whose finished ones get their final files. It returns how many of either it saw
// end; one that fails does not stop the others (their errors are joined).
func (b *BucketJobs) Refresh(ctx context.Context) (int, error) {
	ended, err := b.h.RefreshBatches(ctx)
	errs := []error{err}
	if b.h.o.Store == nil || b.h.engine == nil {
		return ended, err
	}
	after := ""
	for {
		objs, err := b.h.o.Store.List(ctx, bucketIndex, after, 1000)
		if err != nil {
			return ended, errors.Join(append(errs, err)...)
		}
		for _, o := range objs {
			after = o.Name
			key := strings.TrimPrefix(o.Name, bucketIndex)
			done, err := b.refresh(ctx, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("bucket job %s: %w", key, err))
			}
			if done {
				ended++
			}
		}
		if len(objs) < 1000 {
			return ended, errors.Join(errs...)
		}
	}
}

// refresh polls a bucket job's engine jobs and, once every one is done, writes its final
// files, marks the record done and removes the work objects and the index marker. It reports
// whether this call ended the job.
func (b *BucketJobs) refresh(ctx context.Context, key string) (bool, error) {
	st := b.h.o.Store
	name := bucketRecordName(key)
	rec, obj, err := b.read(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotExist):
		return false, st.Delete(ctx, bucketIndex+key) // a marker without its job
	case err != nil:
		return false, err
	case rec.Status == bucketSubmitting:
		return false, nil // the submitting delivery writes the record next
	case rec.Status != bucketRunning:
		return false, st.Delete(ctx, bucketIndex+key)
	case rec.Engine != b.h.engine.Name():
		return false, fmt.Errorf("the job runs on the %s engine, this gateway on %s", rec.Engine, b.h.engine.Name())
	}
	states := make([]engine.Status, len(rec.Jobs))
	for i, j := range rec.Jobs {
		if states[i], err = b.h.engine.Poll(ctx, j.Ref); err != nil {
			return false, err
		}
		if !states[i].State.Done() {
			return false, nil
		}
	}
	if err := b.finalize(ctx, key, rec, states); err != nil {
		return false, err
	}
	rec.Status = bucketDone
	ok, err := b.replace(ctx, name, obj.Version, rec)
	if err != nil || !ok {
		return false, err // another refresh ended it
	}
	if err := st.Delete(ctx, bucketIndex+key); err != nil {
		b.h.o.Logger.Warn("bucket job index marker not removed; the next sweep does", "job", key, "error", err.Error())
	}
	b.removeWork(ctx, bucketWork(key))
	b.h.o.Logger.Info("bucket job done", "job", key, "input", rec.Bucket+"/"+rec.Name, "output", rec.Output,
		"requests", rec.Requests, "invalid", rec.Invalid, "engine_jobs", len(rec.Jobs))
	return true, nil
}

// finalize writes a bucket job's final files from its engine jobs' answers (states, in the
// order of rec.Jobs; none when nothing was submitted): the errors file (every line without a
// 2xx answer) and then the output file, whose arrival says the job is complete, both in input
// order, each answer translated as the online endpoint's would be. The files are assembled in
// temporary files and written create-only; a file that exists is kept when it is this input
// version's (a concurrent refresh wrote it) and replaced when it is an older version's (the
// name was uploaded again). The engines' answers are held by key while the files are written
// (engines answer in any order).
func (b *BucketJobs) finalize(ctx context.Context, key string, rec *bucketRecord, states []engine.Status) error {
	h := b.h
	results := make([]map[string]engine.Result, len(rec.Jobs))
	for i, j := range rec.Jobs {
		results[i] = map[string]engine.Result{}
		if states[i].State == engine.Failed {
			continue
		}
		if err := h.engine.Results(ctx, j.Ref, func(r engine.Result) error {
			results[i][r.Key] = r
			return nil
		}); err != nil {
			return err
		}
	}
	rc, _, err := h.o.Store.Open(ctx, bucketWork(key)+"lines.jsonl")
	if err != nil {
		return err
	}
	defer rc.Close()
	var files [2]*os.File // output, errors
	for i := range files {
		if files[i], err = os.CreateTemp("", "bucketjob-*.jsonl"); err != nil {
			return err
		}
		defer os.Remove(files[i].Name())
		defer files[i].Close()
	}
	var firsts [2]string
	now := h.o.Now().Unix()
	dec := json.NewDecoder(rc)
	for {
		var bl bucketLine
		if err := dec.Decode(&bl); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading lines.jsonl: %w", err)
		}
		line, isErr := []byte(bl.Result), true
		if bl.Result == nil {
			if bl.G < 0 || bl.G >= len(rec.Jobs) {
				return fmt.Errorf("lines.jsonl: line %d names engine job %d of %d", bl.Line, bl.G, len(rec.Jobs))
			}
			res, ok := results[bl.G][bl.Key]
			l := h.answerLine(&bl.manifestLine, bl.ID, res, ok, states[bl.G], now)
			if line, err = marshal(l); err != nil {
				return err
			}
			isErr = l.Error != nil
		}
		i := 0
		if isErr {
			i = 1
		}
		if firsts[i] == "" {
			firsts[i] = bl.ID
		}
		line = append(bytes.TrimSpace(line), '\n')
		if _, err := files[i].Write(line); err != nil {
			return err
		}
	}
	if err := b.writeFinal(ctx, rec.Errors, files[1], firsts[1]); err != nil {
		return err
	}
	return b.writeFinal(ctx, rec.Output, files[0], firsts[0])
}

// writeFinal writes a final file from file, create-only; an existing file is kept when its
// first line is first (this input version's: line ids derive from the input), else replaced
// over the version read.
func (b *BucketJobs) writeFinal(ctx context.Context, name string, file *os.File, first string) error {
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	err := b.out.Create(ctx, name, file)
	if !errors.Is(err, store.ErrExists) {
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	}
	rc, obj, err := b.out.Open(ctx, name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	var line struct {
		ID string `json:"id"`
	}
	derr := json.NewDecoder(rc).Decode(&line)
	rc.Close()
	if line.ID == first && (derr == nil || (first == "" && errors.Is(derr, io.EOF))) {
		return nil
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := b.out.Replace(ctx, name, obj.Version, file); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return nil
}
