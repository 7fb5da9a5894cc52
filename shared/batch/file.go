package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
)

// bitset is one bit per line number.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, n/64+1) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) clear(i int)    { b[i/64] &^= 1 << (i % 64) }
func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// fileRun is one run of one input file. It holds no line content beyond the lines in flight:
// what it knows of each line is two bits.
type fileRun struct {
	r    *Runner
	in   store.Store
	name string
	base string
	work string // work directory, ending in "/"
	sc   scan
	who  string // the content of this run's claims

	outName, errName string

	mu      sync.Mutex
	results bitset // lines with a persisted result
	pending bitset // lines claimed by another delivery, without a result yet
	ours    map[string]bool

	// breakAfter consecutive transient failures (no line finishing in between) stop the
	// dispatch of new lines: when the upstream is down or the quota is spent, the rest would
	// only burn the event's time on the gateway's retries. They run on redelivery.
	breakAfter  int64
	consecutive atomic.Int64
	broken      atomic.Bool
	stopped     atomic.Bool // the dispatch ended before the last line
	finalized   atomic.Bool // another delivery wrote the final files of this version

	succeeded, failed, invalid, reused, transient, unpersisted, unreadable, held atomic.Int64

	firstErr   error // the first line that did not finish
	persistErr error // the first result that could not be persisted
}

func newFileRun(r *Runner, in store.Store, name, base string, sc scan) *fileRun {
	f := &fileRun{r: r, in: in, name: name, base: base, work: r.workDir(sc.key), sc: sc,
		who:        "claimed " + time.Now().UTC().Format(time.RFC3339Nano),
		results:    newBitset(sc.lines + 1),
		pending:    newBitset(sc.lines + 1),
		ours:       make(map[string]bool),
		breakAfter: int64(max(16, 4*r.cfg.Concurrency))}
	f.outName, f.errName, _ = r.OutputNames(name)
	return f
}

func (f *fileRun) resultName(n int) string { return f.work + strconv.Itoa(n) + ".json" }
func (f *fileRun) claimName(n int) string  { return f.work + strconv.Itoa(n) + ".claim" }

// errAlreadyDone ends a run that finds the final files of its input version.
var errAlreadyDone = errors.New("already done")

// runAll runs the file to its final files, or returns the transient error that makes the
// platform redeliver the event.
func (f *fileRun) runAll(ctx context.Context) error {
	switch done, err := f.finalDone(ctx); {
	case err != nil:
		return transient(fmt.Errorf("batch: %s: %w", f.name, err))
	case done:
		f.finalized.Store(true)
		return nil
	}
	if f.sc.tooMany {
		return f.refuse(ctx)
	}
	if err := f.listWork(ctx, nil); err != nil {
		return transient(fmt.Errorf("batch: %s: listing its work: %w", f.name, err))
	}
	if err := f.pass(ctx, nil); err != nil {
		return f.stop(err)
	}
	if err := f.await(ctx); err != nil {
		return f.stop(err)
	}
	if f.finalized.Load() {
		return nil
	}
	if err := f.finalize(ctx); err != nil {
		return f.stop(err)
	}
	f.cleanup(ctx)
	return nil
}

// stop turns the error that ended a run into its result: nil when another delivery finished
// the file, a transient error otherwise.
func (f *fileRun) stop(err error) error {
	if errors.Is(err, errAlreadyDone) || f.finalized.Load() {
		f.finalized.Store(true)
		return nil
	}
	return transient(fmt.Errorf("batch: %s: %w", f.name, err))
}

// linesNotDone returns the error for a run that left lines without a result.
func (f *fileRun) linesNotDone(ctx context.Context, what string) error {
	f.mu.Lock()
	n := f.sc.requests - f.results.count()
	f.mu.Unlock()
	cause := f.firstErr
	if cause == nil {
		cause = context.Cause(ctx)
	}
	if cause == nil {
		cause = errors.New(what)
	}
	return fmt.Errorf("%d of %d lines not done, first: %w", n, f.sc.requests, cause)
}

// pass reads the input once more and runs its lines that have no result (only those in want,
// when want is not nil), at most Concurrency at once. It parses every line, so that a
// custom_id seen on an earlier line makes the later line malformed whichever lines run.
func (f *fileRun) pass(ctx context.Context, want bitset) error {
	rc, obj, err := f.in.Open(ctx, f.name)
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	defer rc.Close()
	if obj.Version != f.sc.version {
		// A new version has its own event, and its own key: this one is no longer wanted.
		f.r.log.LogAttrs(ctx, slog.LevelWarn, "batch file changed while running", slog.String("name", f.name))
		return errAlreadyDone
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for range f.r.cfg.Concurrency {
		wg.Go(func() {
			for j := range next {
				f.runLine(ctx, j)
			}
		})
	}
	readErr := eachJob(rc, f.sc.key[:], func(j job) error {
		f.mu.Lock()
		skip := f.results.has(j.n) || (want != nil && !want.has(j.n))
		f.mu.Unlock()
		if skip {
			return nil
		}
		if f.broken.Load() || f.finalized.Load() {
			f.stopped.Store(true)
			return errStop
		}
		select {
		case next <- j:
			return nil
		case <-ctx.Done():
			f.stopped.Store(true)
		}
		return errStop
	})
	if errors.Is(readErr, errStop) {
		readErr = nil
	}
	close(next)
	wg.Wait()
	switch {
	case f.finalized.Load():
		return errAlreadyDone
	case readErr != nil:
		return readErr
	case f.transient.Load() > 0 || f.stopped.Load():
		return f.linesNotDone(ctx, "lines left out")
	}
	return nil
}

// errStop ends eachJob early without an error of its own.
var errStop = errors.New("stop")

// eachJob reads the input lines from r and calls fn with each non-blank one parsed, in input
// order, until fn returns an error (returned as it is). It parses every line, so that a
// custom_id seen on an earlier line makes a later line with the same one malformed, whichever
// lines the caller then runs; the custom_ids seen so far are kept by a hash, the one per-line
// cost of a pass, bounded by MaxLines.
func eachJob(r io.Reader, key []byte, fn func(job) error) error {
	seen := make(map[[16]byte]int32)
	lr := newLineReader(r)
	for {
		n, raw, long, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the input: %w", err)
		}
		if raw == nil && !long {
			continue
		}
		var j job
		if long {
			j = job{n: n, id: lineID(key, n)}
			j = j.invalid("the line is longer than %d bytes", maxLineBytes)
		} else {
			j = parseLine(key, n, raw)
		}
		if j.customID != "" {
			h := sha256.Sum256([]byte(j.customID))
			k := [16]byte(h[:16])
			if first, dup := seen[k]; dup {
				j.body = nil
				j = j.invalid("custom_id %q is a duplicate of line %d's", j.customID, first)
			} else {
				seen[k] = int32(n)
			}
		}
		if err := fn(j); err != nil {
			return err
		}
	}
}

// runLine records a malformed line's result, or claims the line, runs it and persists its
// result; a line with a result or a live claim of another delivery is left alone.
func (f *fileRun) runLine(ctx context.Context, j job) {
	resName := f.resultName(j.n)
	if j.done != nil {
		line, _ := j.line(j.done)
		if err := f.r.persist(ctx, resName, line); err != nil {
			f.fail(fmt.Errorf("line %d: writing its result: %w", j.n, err))
			return
		}
		f.invalid.Add(1)
		f.markResult(j.n)
		return
	}
	claimName := f.claimName(j.n)
	st, err := f.r.claim(ctx, claimName, resName, f.who)
	switch {
	case err != nil:
		f.fail(fmt.Errorf("line %d: %w", j.n, err))
		return
	case st == hasResult:
		f.reused.Add(1)
		f.consecutive.Store(0)
		f.markResult(j.n)
		return
	case st == heldElsewhere:
		f.held.Add(1)
		f.mu.Lock()
		f.pending.set(j.n)
		f.mu.Unlock()
		return
	}
	// A free claim also follows a finished run's clean-up: then the final files exist.
	if done, err := f.finalDone(ctx); err != nil || done {
		f.r.release(ctx, claimName)
		if err != nil {
			f.fail(fmt.Errorf("line %d: %w", j.n, err))
		} else {
			f.finalized.Store(true)
		}
		return
	}
	if err := ctx.Err(); err != nil {
		f.r.release(ctx, claimName)
		f.fail(fmt.Errorf("line %d: %w", j.n, context.Cause(ctx)))
		return
	}
	res, err := f.r.complete(ctx, &j)
	if err != nil {
		f.r.release(ctx, claimName)
		f.fail(fmt.Errorf("line %d: %w", j.n, err))
		return
	}
	line, res := j.line(res)
	if err := f.r.persist(ctx, resName, line); err != nil {
		// Billed but not kept: the claim stays, so no delivery runs the line again before the
		// lease runs out; after it, one does (billed again rather than lost).
		if f.unpersisted.Add(1) == 1 {
			f.mu.Lock()
			f.persistErr = err
			f.mu.Unlock()
		}
		f.fail(fmt.Errorf("line %d: writing its result: %w", j.n, err))
		return
	}
	if res.Error != nil {
		f.failed.Add(1)
	} else {
		f.succeeded.Add(1)
	}
	f.consecutive.Store(0)
	f.markResult(j.n)
}

func (f *fileRun) markResult(n int) {
	f.mu.Lock()
	f.results.set(n)
	f.pending.clear(n)
	f.mu.Unlock()
}

// fail records a line that did not finish.
func (f *fileRun) fail(err error) {
	f.transient.Add(1)
	if f.consecutive.Add(1) >= f.breakAfter {
		f.broken.Store(true)
	}
	f.mu.Lock()
	if f.firstErr == nil {
		f.firstErr = err
	}
	f.mu.Unlock()
}

// workObject parses a name in the work directory: the line number and whether it is a claim.
func (f *fileRun) workObject(name string) (n int, claim, ok bool) {
	rest, found := strings.CutPrefix(name, f.work)
	if !found {
		return 0, false, false
	}
	num, ext, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > f.sc.lines || (ext != "json" && ext != "claim") {
		return 0, false, false
	}
	return n, ext == "claim", true
}

// listWork reads the work directory a page at a time: results are marked, and each claim is
// handed to onClaim.
func (f *fileRun) listWork(ctx context.Context, onClaim func(n int, o store.Object)) error {
	after := ""
	for {
		objs, err := f.r.out.List(ctx, f.work, after, 1000)
		if err != nil {
			return err
		}
		for _, o := range objs {
			n, claim, ok := f.workObject(o.Name)
			switch {
			case !ok:
			case !claim:
				f.markResult(n)
			case onClaim != nil:
				onClaim(n, o)
			}
		}
		if len(objs) < 1000 {
			return nil
		}
		after = objs[len(objs)-1].Name
	}
}

// maxAwaitIdle is how long await waits without any of the lines it waits for finishing.
const maxAwaitIdle = 2 * time.Minute

// await waits for the lines another delivery claimed: until each has a result, or its claim
// is released or goes stale (the line is then claimed and run here), or the other delivery
// writes the final files, or ctx ends.
func (f *fileRun) await(ctx context.Context) error {
	delay := 100 * time.Millisecond
	progress, last := time.Now(), -1
	for {
		f.mu.Lock()
		waiting := f.pending.count()
		f.mu.Unlock()
		if waiting == 0 {
			return nil
		}
		if waiting != last {
			progress, last = time.Now(), waiting
		} else if time.Since(progress) > maxAwaitIdle {
			// The other delivery has gone quiet (or died): its lines are left for the lease
			// to expire, and the redelivery looks again.
			return f.linesNotDone(ctx, "held by another delivery that made no progress")
		}
		switch done, err := f.finalDone(ctx); {
		case err != nil:
			return err
		case done:
			return errAlreadyDone
		}
		claims := newBitset(f.sc.lines + 1)
		retry := newBitset(f.sc.lines + 1)
		err := f.listWork(ctx, func(n int, o store.Object) {
			claims.set(n)
			if time.Since(o.Updated) >= f.r.cfg.ClaimLease {
				retry.set(n)
			}
		})
		if err != nil {
			return fmt.Errorf("listing its work: %w", err)
		}
		f.mu.Lock()
		for i, w := range f.pending {
			retry[i] |= w &^ claims[i] // released claims
			retry[i] &= f.pending[i]
			f.pending[i] &^= retry[i]
		}
		f.mu.Unlock()
		if retry.count() > 0 {
			if err := f.pass(ctx, retry); err != nil {
				return err
			}
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return f.linesNotDone(ctx, "held by another delivery")
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// wantFirst is the id of the first line this input version's final files hold.
func (f *fileRun) wantFirst() string {
	if f.sc.tooMany {
		return lineID(f.sc.key[:], 0)
	}
	if f.sc.firstLine == 0 {
		return ""
	}
	return lineID(f.sc.key[:], f.sc.firstLine)
}

// isOurs reports whether id is the id of a line of this input version.
func (f *fileRun) isOurs(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ok, known := f.ours[id]; known {
		return ok
	}
	ok := false
	for n := 0; n <= f.sc.lines && !ok; n++ {
		ok = lineID(f.sc.key[:], n) == id
	}
	f.ours[id] = ok
	return ok
}

// firstID returns the id of the first line of the object name ("" when it is empty).
func (f *fileRun) firstID(ctx context.Context, name string) (string, store.Object, error) {
	rc, obj, err := f.r.out.Open(ctx, name)
	if err != nil {
		return "", obj, err
	}
	defer rc.Close()
	var first struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(rc).Decode(&first); err != nil && err != io.EOF {
		return "", obj, nil // not a results file of ours: not this version's
	}
	if first.ID == "" {
		first.ID = "-" // a line without id: never ours
		if obj.Size == 0 {
			first.ID = ""
		}
	}
	return first.ID, obj, nil
}

// finalDone reports whether the final files of this input version exist: both files, the
// output written last, each empty or starting with a line of this version, one of them with
// its first line.
func (f *fileRun) finalDone(ctx context.Context) (bool, error) {
	outID, outObj, err := f.firstID(ctx, f.outName)
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	errID, errObj, err := f.firstID(ctx, f.errName)
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if outObj.Updated.Before(errObj.Updated) {
		return false, nil // an older output beside a newer errors file: a finalize cut short
	}
	want := f.wantFirst()
	if want == "" {
		return outID == "" && errID == "", nil
	}
	mine := func(id string) bool { return id == "" || f.isOurs(id) }
	return mine(outID) && mine(errID) && (outID == want || errID == want), nil
}

// finalize assembles the final files from the work results in input order, reading them
// ahead Concurrency at a time, through temporary files, and writes them once.
func (f *fileRun) finalize(ctx context.Context) error {
	f.mu.Lock()
	missing := f.sc.requests - f.results.count()
	f.mu.Unlock()
	if missing != 0 {
		return f.linesNotDone(ctx, "lines without a result")
	}
	outF, err := os.CreateTemp("", "batch-output-*.jsonl")
	if err != nil {
		return err
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp("", "batch-errors-*.jsonl")
	if err != nil {
		return err
	}
	defer os.Remove(errF.Name())
	defer errF.Close()

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		n   int
		b   []byte
		err error
	}
	slots := make(chan chan fetched, 2*f.r.cfg.Concurrency)
	go func() {
		defer close(slots)
		for n := 1; n <= f.sc.lines; n++ {
			if !f.results.has(n) {
				continue
			}
			ch := make(chan fetched, 1)
			select {
			case slots <- ch:
			case <-fctx.Done():
				return
			}
			go func() {
				b, _, err := store.ReadAll(fctx, f.r.out, f.resultName(n), 2*maxLineBytes)
				ch <- fetched{n, b, err}
			}()
		}
	}()
	var outFirst, errFirst string
	for ch := range slots {
		fe := <-ch
		if errors.Is(fe.err, store.ErrNotExist) {
			// Cleaned up by a delivery that finished the file, or lost: look at the final files.
			if done, err := f.finalDone(ctx); err == nil && done {
				return errAlreadyDone
			}
			return fmt.Errorf("line %d: its result is gone", fe.n)
		}
		if fe.err != nil {
			return fmt.Errorf("line %d: reading its result: %w", fe.n, fe.err)
		}
		b := bytes.TrimSpace(fe.b)
		isErr, id, err := readResult(b)
		if err != nil {
			// Not a result line (cannot happen unless someone else wrote it): drop it, so that
			// the redelivery runs the line again.
			f.unreadable.Add(1)
			f.r.release(ctx, f.resultName(fe.n))
			f.r.release(ctx, f.claimName(fe.n))
			return fmt.Errorf("line %d: its result is unreadable: %w", fe.n, err)
		}
		w, first := outF, &outFirst
		if isErr {
			w, first = errF, &errFirst
		}
		if *first == "" {
			*first = id
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	// The errors file first: the output file's arrival says the job is complete.
	if err := f.writeFinal(ctx, f.errName, errF, errFirst); err != nil {
		return err
	}
	return f.writeFinal(ctx, f.outName, outF, outFirst)
}

// writeFinal writes a final file from file, create-only. An existing file that is this
// version's (written by a concurrent delivery, or by a run cut short) is kept as it is; one of
// another version of the input is replaced.
func (f *fileRun) writeFinal(ctx context.Context, name string, file *os.File, first string) error {
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	err := f.r.out.Create(ctx, name, file)
	if !errors.Is(err, store.ErrExists) {
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	}
	id, obj, err := f.firstID(ctx, name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if id == first {
		return nil
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := f.r.out.Replace(ctx, name, obj.Version, file); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return nil
}

// refuse records a file over MaxLines as one error line, with an empty output file.
func (f *fileRun) refuse(ctx context.Context) error {
	res := &result{ID: lineID(f.sc.key[:], 0), Error: &lineError{Code: openai.CodeInvalidRequest,
		Message: fmt.Sprintf("the file has more than %d request lines, the limit of this gateway (GATEWAY_BATCH_MAX_LINES); nothing was run: split it into smaller files", f.r.cfg.MaxLines)}}
	line, err := encode(res)
	if err != nil {
		return transient(err)
	}
	dir, err := os.MkdirTemp("", "batch-refusal-*")
	if err != nil {
		return transient(err)
	}
	defer os.RemoveAll(dir)
	files := make([]*os.File, 2)
	for i, content := range [][]byte{line, nil} {
		p := dir + "/" + strconv.Itoa(i)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			return transient(err)
		}
		if files[i], err = os.Open(p); err != nil {
			return transient(err)
		}
		defer files[i].Close()
	}
	if err := f.writeFinal(ctx, f.errName, files[0], res.ID); err != nil {
		return transient(fmt.Errorf("batch: %s: %w", f.name, err))
	}
	if err := f.writeFinal(ctx, f.outName, files[1], ""); err != nil {
		return transient(fmt.Errorf("batch: %s: %w", f.name, err))
	}
	return nil
}

// cleanup deletes the work objects once the final files exist; what it misses, the bucket's
// lifecycle rule expires.
func (f *fileRun) cleanup(ctx context.Context) {
	names := make(chan string)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range f.r.cfg.Concurrency {
		wg.Go(func() {
			for n := range names {
				if err := f.r.out.Delete(ctx, n); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	// By name, not by listing: every line with a result has its result and at most a claim.
	for n := 1; n <= f.sc.lines; n++ {
		if f.results.has(n) {
			names <- f.resultName(n)
			names <- f.claimName(n)
		}
	}
	close(names)
	wg.Wait()
	if failed.Load() > 0 {
		f.r.log.LogAttrs(ctx, slog.LevelWarn, "batch work not cleaned up; the lifecycle rule will",
			slog.String("name", f.name), slog.String("work", f.work), slog.Int64("failed", failed.Load()))
	}
}

// logDone writes the one log line of the run: counts, never content.
func (f *fileRun) logDone(ctx context.Context, start time.Time, err error) {
	level := slog.LevelInfo
	msg := "batch file done"
	if f.finalized.Load() {
		msg = "batch file already done"
	}
	attrs := []slog.Attr{
		slog.String("name", f.name),
		slog.Int("lines", f.sc.requests),
		slog.Int64("succeeded", f.succeeded.Load()),
		slog.Int64("failed", f.failed.Load()),
		slog.Int64("invalid", f.invalid.Load()),
		slog.Int64("reused", f.reused.Load()),
		slog.Int64("held_elsewhere", f.held.Load()),
		slog.Int64("transient", f.transient.Load()),
		slog.Int64("unpersisted", f.unpersisted.Load()),
		slog.Int64("unreadable", f.unreadable.Load()),
		slog.Bool("refused", f.sc.tooMany),
		slog.Duration("elapsed", time.Since(start)),
	}
	if f.persistErr != nil {
		attrs = append(attrs, slog.String("persist_error", f.persistErr.Error()))
	}
	if err != nil {
		level, msg = slog.LevelWarn, "batch file incomplete"
		attrs = append(attrs, slog.String("error", err.Error()), slog.Bool("retry", Transient(err)))
	}
	f.r.log.LogAttrs(ctx, level, msg, attrs...)
}
