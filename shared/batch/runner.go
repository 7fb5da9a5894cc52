package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Runner runs batch lines through a Completer and writes the results to a Store.
type Runner struct {
	c    Completer
	open func(bucket string) Store
	out  Store
	cfg  Config
	log  *slog.Logger
}

// NewRunner returns a Runner that sends requests to c and writes results to the bucket
// cfg.OutputBucket. open opens a bucket by name (Cloud Storage or S3): the output bucket, and
// the input bucket an event names. A nil open, or no OutputBucket, makes a Runner that
// refuses every job in Handle. A nil log discards the log lines.
func NewRunner(c Completer, open func(bucket string) Store, cfg Config, log *slog.Logger) *Runner {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{c: c, open: open, cfg: cfg, log: log}
	if open != nil {
		r.out = open(cfg.OutputBucket)
	}
	return r
}

// persistTimeout bounds the write of a finished result once the event's context has ended:
// the call has been billed, so its result is worth keeping for the redelivery.
const persistTimeout = 10 * time.Second

// detached returns a context for persisting a finished result: ctx's values without its
// cancellation, and a short deadline of its own.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
}

// complete runs j through the Completer. It returns the recorded result, or a transient error
// when the line should run again on redelivery.
func (r *Runner) complete(ctx context.Context, j *job) (*result, error) {
	c := r.c.Complete(ctx, j.body)
	switch {
	case c.Status >= 200 && c.Status < 300:
		return j.succeeded(c), nil
	case ctx.Err() != nil:
		// The event ran out of time mid-call: whatever the status says, the line did not finish.
		return nil, fmt.Errorf("gateway status %d: %w", c.Status, context.Cause(ctx))
	case retryable(c.Status):
		e := &statusError{status: c.Status}
		if c.Err != nil {
			e.code = c.Err.Code
		}
		return nil, e
	default:
		return j.failed(c), nil
	}
}

// RunMessage runs one batch line from a Pub/Sub or SQS message and writes its result line to
// OutputPrefix+<custom_id>.json. A message whose result object already exists is not run
// again (redelivery, or a second message with the same custom_id). A malformed message with a
// usable custom_id gets an error result; one without is logged and dropped. Only transient
// failures are returned (see Transient).
func (r *Runner) RunMessage(ctx context.Context, msg []byte) error {
	start := time.Now()
	msg = bytes.TrimSpace(msg)
	key := sha256.Sum256(append([]byte("message\x00"), msg...))
	j := parseLine(key[:], 0, msg)
	if j.customID == "" {
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch message dropped", slog.String("reason", j.done.Error.Message))
		return nil
	}
	name := r.cfg.OutputPrefix + j.customID + ".json"
	attrs := []slog.Attr{slog.String("custom_id", j.customID), slog.String("result", name)}
	switch _, err := r.out.Get(ctx, name); {
	case err == nil:
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch message already done", attrs...)
		return nil
	case !errors.Is(err, ErrNotExist):
		err = transient(fmt.Errorf("batch: reading %s: %w", name, err))
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch message failed", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
	res := j.done
	if res == nil {
		var err error
		if res, err = r.complete(ctx, &j); err != nil {
			err = transient(fmt.Errorf("batch: message %q: %w", j.customID, err))
			r.log.LogAttrs(ctx, slog.LevelWarn, "batch message failed", append(attrs, slog.String("error", err.Error()))...)
			return err
		}
	}
	line, res := j.line(res)
	pctx, cancel := detached(ctx)
	defer cancel()
	if err := r.out.Put(pctx, name, line); err != nil {
		err = transient(fmt.Errorf("batch: writing %s: %w", name, err))
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch message failed", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
	attrs = append(attrs, slog.Duration("elapsed", time.Since(start)))
	if res.Response != nil {
		attrs = append(attrs, slog.Int("status", res.Response.StatusCode))
	}
	if res.Error != nil {
		attrs = append(attrs, slog.String("error_code", res.Error.Code))
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "batch message done", attrs...)
	return nil
}

// inputBase returns the name of an input object relative to InputPrefix and without ".jsonl",
// and whether name is an input at all.
func (r *Runner) inputBase(name string) (string, bool) {
	if !strings.HasPrefix(name, r.cfg.InputPrefix) || !strings.HasSuffix(name, ".jsonl") {
		return "", false
	}
	if r.cfg.OutputPrefix != "" && strings.HasPrefix(name, r.cfg.OutputPrefix) {
		return "", false // our own results: running them would loop
	}
	if r.cfg.OutputPrefix == "" && (strings.HasSuffix(name, ".output.jsonl") || strings.HasSuffix(name, ".errors.jsonl")) {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(name, r.cfg.InputPrefix), ".jsonl"), true
}

// OutputNames returns the names RunFile writes for the input object name: the output file and
// the errors file. ok is false when name is not an input (wrong prefix or extension).
func (r *Runner) OutputNames(name string) (output, errs string, ok bool) {
	base, ok := r.inputBase(name)
	if !ok {
		return "", "", false
	}
	return r.cfg.OutputPrefix + base + ".output.jsonl", r.cfg.OutputPrefix + base + ".errors.jsonl", true
}

// RunFile runs every line of the object name in `in` (a *.jsonl under InputPrefix; other
// names are ignored with a log line) and writes OutputPrefix+<base>.output.jsonl (results with
// a 2xx response, in input order) and OutputPrefix+<base>.errors.jsonl (every other line, in
// input order; written even when empty), where <base> is name without InputPrefix and ".jsonl".
//
// Each finished line is persisted at once under OutputPrefix+".work/<base>/<input hash>/", and a
// run first reuses what is there: a redelivered event calls the Completer only for lines that
// have no result yet. The final files are written only when every line has one; until then
// RunFile returns a transient error, after running all the lines it could.
func (r *Runner) RunFile(ctx context.Context, in Store, name string) error {
	start := time.Now()
	base, ok := r.inputBase(name)
	if !ok {
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch file ignored", slog.String("name", name),
			slog.String("input_prefix", r.cfg.InputPrefix))
		return nil
	}
	data, err := in.Get(ctx, name)
	if errors.Is(err, ErrNotExist) {
		// Deleted since the event was sent: nothing to run, and a retry would not change that.
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch file gone", slog.String("name", name))
		return nil
	}
	if err != nil {
		err = transient(fmt.Errorf("batch: reading %s: %w", name, err))
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch file failed", slog.String("name", name), slog.String("error", err.Error()))
		return err
	}

	f := newFileRun(r, name, base, data)
	f.run(ctx)
	err = f.finish(ctx)
	f.logDone(ctx, start, err)
	return err
}

// fileKey identifies one version of one input file: the work directory and the line ids
// derive from it, so a changed file never reuses the results of its previous content.
func fileKey(name string, data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte("file\x00"))
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(data)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// workDir is where the finished lines of one input version are persisted.
func (r *Runner) workDir(base string, key [sha256.Size]byte) string {
	return r.cfg.OutputPrefix + ".work/" + base + "/" + hex.EncodeToString(key[:8]) + "/"
}
