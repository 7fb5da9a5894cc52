package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/geminigateway/gateway/shared/store"
)

// A bucket file above the online threshold (Config.BucketEngine, Config.OnlineMaxLines) is not
// run line by line in the event's invocation: it is handed to a FileEngine (the gateway's
// BucketJobs), which validates and translates its lines as POST /v1/batches does, submits them
// as jobs of the deployment's batch engine and returns; the scheduled refresh later writes the
// same final files RunFile writes (OutputNames), once. The line parsing, the line ids and the
// error lines of malformed lines are this package's, so a file's results read the same on
// either path.

// FileEngine submits bucket files to a batch engine.
type FileEngine interface {
	// SubmitFile submits f's valid lines as batch engine jobs, or finds them submitted by
	// another delivery of the same input version (f.Key). It returns ErrRunOnline when the
	// file cannot run on the engine (lines the engine does not serve), and another error when
	// a later delivery should try again.
	SubmitFile(ctx context.Context, f *FileJob) error
}

// ErrRunOnline is a FileEngine's answer for a file it leaves to the online engine.
var ErrRunOnline = errors.New("batch: the file runs on the online engine")

// ErrInputChanged is FileJob.Lines' error when the input object changed since the file was
// scanned: the new version has its own event, and its own job.
var ErrInputChanged = errors.New("batch: the input changed since it was read")

// FileJob is one bucket file version handed to a FileEngine.
type FileJob struct {
	// Key identifies the input version: a hash of its bucket, name, version (generation,
	// ETag) and content. Every delivery of one upload has the same Key; a re-upload a new one.
	Key string
	// Bucket, Name and Version are the input object.
	Bucket, Name, Version string
	// Output and Errors name the final files in the output bucket: the output file (lines with
	// a 2xx response) and the errors file (every other line), as the online path names them.
	Output, Errors string
	// Requests is the number of non-blank lines.
	Requests int
	// Lease is how long a delivery's claim on submitting the file holds off the others; an
	// older claim with nothing submitted belongs to a delivery that died.
	Lease time.Duration

	each func(ctx context.Context, fn func(FileLine) error) error
}

// Lines reads the input once more and calls fn with each non-blank line, in input order, until
// fn returns an error (returned as it is).
func (f *FileJob) Lines(ctx context.Context, fn func(FileLine) error) error { return f.each(ctx, fn) }

// FileLine is one non-blank input line: a request to run (Body set) or a line that is already
// finished (Result set: a malformed line, a duplicate custom_id, stream: true), exactly as the
// online path records it.
type FileLine struct {
	N        int    // 1-based line number
	ID       string // the output line's id
	CustomID string // "" when the line has none
	Embed    bool   // an embeddings request (url /v1/embeddings); else a chat completion
	Body     []byte // the request body
	Result   []byte // the finished result line, with its newline
}

// WithFileEngine makes r hand bucket files above its online threshold (or every one, with
// BucketEngine BucketBatch) to e. It returns r.
func (r *Runner) WithFileEngine(e FileEngine) *Runner {
	r.files = e
	return r
}

// onEngine reports whether a scanned file goes to the FileEngine.
func (r *Runner) onEngine(sc scan) bool {
	if r.files == nil || sc.tooMany || sc.requests == 0 {
		return false
	}
	switch r.cfg.BucketEngine {
	case BucketBatch:
		return true
	case BucketOnline:
		return false
	}
	return sc.requests > r.cfg.OnlineMaxLines
}

// submitFile hands the scanned file name to the FileEngine. It returns ErrRunOnline when the
// file is to run online after all, a transient error when a later delivery should try again.
func (r *Runner) submitFile(ctx context.Context, bucket string, in store.Store, name string, sc scan) error {
	start := time.Now()
	out, errs, _ := r.OutputNames(name)
	h := sha256.New()
	for _, s := range []string{"bucketjob", bucket, name, sc.version} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(sc.key[:])
	fj := &FileJob{Key: hex.EncodeToString(h.Sum(nil)[:16]), Bucket: bucket, Name: name, Version: sc.version,
		Output: out, Errors: errs, Requests: sc.requests, Lease: r.cfg.ClaimLease}
	fj.each = func(ctx context.Context, fn func(FileLine) error) error {
		rc, obj, err := in.Open(ctx, name)
		if err != nil {
			return fmt.Errorf("reading the input: %w", err)
		}
		defer rc.Close()
		if obj.Version != sc.version {
			return ErrInputChanged
		}
		return eachJob(rc, sc.key[:], func(j job) error {
			l := FileLine{N: j.n, ID: j.id, CustomID: j.customID, Embed: j.embed, Body: j.body}
			if j.done != nil {
				l.Body = nil
				l.Result, _ = j.line(j.done)
			}
			return fn(l)
		})
	}
	attrs := []slog.Attr{slog.String("name", name), slog.String("job", fj.Key), slog.Int("lines", sc.requests)}
	err := r.files.SubmitFile(ctx, fj)
	switch {
	case err == nil:
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch file on the batch engine",
			append(attrs, slog.Duration("elapsed", time.Since(start)))...)
		return nil
	case errors.Is(err, ErrRunOnline):
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch file runs online", append(attrs, slog.String("reason", err.Error()))...)
		return err
	case errors.Is(err, ErrInputChanged):
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch file changed while submitting", attrs...)
		return nil
	}
	err = transient(fmt.Errorf("batch: %s: submitting to the batch engine: %w", name, err))
	r.log.LogAttrs(ctx, slog.LevelWarn, "batch file not submitted", append(attrs, slog.String("error", err.Error()))...)
	return err
}
