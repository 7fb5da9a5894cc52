package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fileRun is one run of one input file.
type fileRun struct {
	r    *Runner
	name string
	base string
	work string // work directory, ending in "/"
	jobs []job

	// lines[i] is the encoded result of jobs[i] once it has one; isErr[i] says which file it
	// goes to. Each index is written by one goroutine and read after they are all done.
	lines [][]byte
	isErr []bool
	ran   []bool // whether jobs[i] was handed to a worker

	// breakAfter consecutive transient failures (no line finishing in between) stop the
	// dispatch of new lines: when the upstream is down or the quota is spent, the rest would
	// only burn the event's time on the gateway's retries. They run on redelivery.
	breakAfter  int64
	consecutive atomic.Int64
	broken      atomic.Bool

	succeeded, failed, invalid, reused, transient, unpersisted, unreadable atomic.Int64

	mu         sync.Mutex
	firstErr   error // the first line that did not finish
	persistErr error // the first result that could not be persisted
}

func newFileRun(r *Runner, name, base string, data []byte) *fileRun {
	key := fileKey(name, data)
	f := &fileRun{r: r, name: name, base: base, work: r.workDir(base, key),
		breakAfter: int64(max(16, 4*r.cfg.Concurrency))}
	f.jobs = splitLines(key[:], data)
	f.lines = make([][]byte, len(f.jobs))
	f.isErr = make([]bool, len(f.jobs))
	f.ran = make([]bool, len(f.jobs))
	return f
}

// splitLines parses every non-blank line of data (a leading UTF-8 byte order mark, which
// Windows editors add, is skipped). A custom_id seen on an earlier line makes the later line
// malformed: the first one keeps it.
func splitLines(key, data []byte) []job {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	jobs := make([]job, 0, bytes.Count(data, []byte{'\n'})+1)
	seen := make(map[string]int)
	for n := 1; len(data) > 0; n++ {
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		j := parseLine(key, n, raw)
		if j.customID != "" {
			if first, dup := seen[j.customID]; dup {
				j.body = nil
				j = j.invalid("custom_id %q is a duplicate of line %d's", j.customID, first)
			} else {
				seen[j.customID] = n
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// run runs the lines with at most Concurrency at once.
func (f *fileRun) run(ctx context.Context) {
	var todo []int
	for i := range f.jobs {
		if d := f.jobs[i].done; d != nil {
			f.invalid.Add(1)
			f.setLine(i, d)
			continue
		}
		todo = append(todo, i)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(f.r.cfg.Concurrency, len(todo)) {
		wg.Go(func() {
			for i := range next {
				f.runLine(ctx, i)
			}
		})
	}
dispatch:
	for _, i := range todo {
		if f.broken.Load() {
			break
		}
		select {
		case next <- i:
			f.ran[i] = true
		case <-ctx.Done():
			break dispatch
		}
	}
	close(next)
	wg.Wait()
}

// runLine reuses the persisted result of jobs[i], or runs the line and persists its result.
func (f *fileRun) runLine(ctx context.Context, i int) {
	j := &f.jobs[i]
	name := f.work + strconv.Itoa(j.n) + ".json"
	b, err := f.r.out.Get(ctx, name)
	switch {
	case err == nil:
		if isErr, derr := isErrorLine(b); derr == nil {
			if b[len(b)-1] != '\n' {
				b = append(b, '\n')
			}
			f.lines[i], f.isErr[i] = b, isErr
			f.reused.Add(1)
			f.consecutive.Store(0)
			return
		}
		// Not a result line (cannot happen unless someone else wrote it): run the line again.
		f.unreadable.Add(1)
	case !errors.Is(err, ErrNotExist):
		// The result may exist: running the line now could bill it twice.
		f.fail(fmt.Errorf("line %d: reading its result: %w", j.n, err))
		return
	}
	if err := ctx.Err(); err != nil {
		f.fail(fmt.Errorf("line %d: %w", j.n, context.Cause(ctx)))
		return
	}
	res, err := f.r.complete(ctx, j)
	if err != nil {
		f.fail(fmt.Errorf("line %d: %w", j.n, err))
		return
	}
	line := f.setLine(i, res)
	if f.isErr[i] {
		f.failed.Add(1)
	} else {
		f.succeeded.Add(1)
	}
	pctx, cancel := detached(ctx)
	defer cancel()
	if err := f.r.out.Put(pctx, name, line); err != nil {
		// The result is in hand and goes into this run's files; only a redelivery (if another
		// line fails) would run it again. Counted and logged once with the file.
		if f.unpersisted.Add(1) == 1 {
			f.mu.Lock()
			f.persistErr = err
			f.mu.Unlock()
		}
	}
}

// setLine encodes res as the result of jobs[i] and returns the line.
func (f *fileRun) setLine(i int, res *result) []byte {
	line, res := f.jobs[i].line(res)
	f.lines[i], f.isErr[i] = line, res.Error != nil
	f.consecutive.Store(0)
	return line
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

// notStarted counts the lines that were left out of this run.
func (f *fileRun) notStarted() int {
	n := 0
	for i := range f.jobs {
		if f.jobs[i].done == nil && !f.ran[i] {
			n++
		}
	}
	return n
}

// finish writes the final files when every line has a result, and otherwise returns the
// transient error that makes the platform redeliver the event.
func (f *fileRun) finish(ctx context.Context) error {
	if n := f.transient.Load() + int64(f.notStarted()); n > 0 {
		cause := f.firstErr
		if cause == nil {
			cause = context.Cause(ctx)
		}
		if cause == nil { // cannot happen: a line is left out only after a failure or the end of ctx
			cause = errors.New("lines left out")
		}
		return transient(fmt.Errorf("batch: %s: %d of %d lines not done, first: %w", f.name, n, len(f.jobs), cause))
	}
	var outN, errN int
	for i, l := range f.lines {
		if f.isErr[i] {
			errN += len(l)
		} else {
			outN += len(l)
		}
	}
	out, errs := make([]byte, 0, outN), make([]byte, 0, errN)
	for i, l := range f.lines {
		if f.isErr[i] {
			errs = append(errs, l...)
		} else {
			out = append(out, l...)
		}
	}
	outName, errName, _ := f.r.OutputNames(f.name)
	// The errors file first: the output file's arrival says the job is complete.
	for _, o := range []struct {
		name string
		data []byte
	}{{errName, errs}, {outName, out}} {
		if err := f.r.out.Put(ctx, o.name, o.data); err != nil {
			return transient(fmt.Errorf("batch: writing %s: %w", o.name, err))
		}
	}
	return nil
}

// logDone writes the one log line of the run: counts, never content.
func (f *fileRun) logDone(ctx context.Context, start time.Time, err error) {
	level := slog.LevelInfo
	msg := "batch file done"
	attrs := []slog.Attr{
		slog.String("name", f.name),
		slog.Int("lines", len(f.jobs)),
		slog.Int64("succeeded", f.succeeded.Load()),
		slog.Int64("failed", f.failed.Load()),
		slog.Int64("invalid", f.invalid.Load()),
		slog.Int64("reused", f.reused.Load()),
		slog.Int64("transient", f.transient.Load()),
		slog.Int("not_started", f.notStarted()),
		slog.Int64("unpersisted", f.unpersisted.Load()),
		slog.Int64("unreadable", f.unreadable.Load()),
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
