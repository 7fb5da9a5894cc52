package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
)

// Runner runs batch lines through a Completer and writes the results to a store.Store.
type Runner struct {
	c    Completer
	open func(bucket string) store.Store
	out  store.Store
	cfg  Config
	log  *slog.Logger
	// files, when set, takes bucket files above the online threshold (WithFileEngine).
	files FileEngine
}

// NewRunner returns a Runner that sends requests to c and writes results to the bucket
// cfg.OutputBucket. open opens a bucket by name (Cloud Storage or S3): the output bucket, and
// the input bucket an event names. A nil open, or no OutputBucket, makes a Runner that
// refuses every job in Handle. A nil log discards the log lines.
func NewRunner(c Completer, open func(bucket string) store.Store, cfg Config, log *slog.Logger) *Runner {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.MaxLines < 1 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = DefaultClaimLease
	}
	if cfg.OnlineMaxLines < 1 {
		cfg.OnlineMaxLines = DefaultOnlineMaxLines
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
	call := r.c.Complete
	if j.embed {
		e, ok := r.c.(Embedder)
		if !ok {
			oe := openai.Errorf(http.StatusNotFound, openai.CodeNotFound, "url", "this runner does not serve /v1/embeddings")
			return j.failed(Completion{Status: oe.Status, Body: oe.MarshalBody(j.id), RequestID: j.id, Err: oe}), nil
		}
		call = e.Embed
	}
	c := call(ctx, j.body)
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

// claimState is what claim found.
type claimState int

const (
	claimed       claimState = iota // the caller holds the claim and runs the line
	hasResult                       // the line is done
	heldElsewhere                   // another delivery holds a live claim: it runs the line
)

// claim claims a line (or message) for the caller by creating the object claimName, which
// only one writer can do. When the claim exists, the line is done (resultName exists), or
// held by a live delivery, or held by one that died: a claim older than the lease with no
// result is taken over with a compare-and-swap Replace, which again only one writer wins.
func (r *Runner) claim(ctx context.Context, claimName, resultName, who string) (claimState, error) {
	err := r.out.Create(ctx, claimName, strings.NewReader(who))
	if err == nil {
		return claimed, nil
	}
	if !errors.Is(err, store.ErrExists) {
		return 0, fmt.Errorf("claiming: %w", err)
	}
	switch ok, err := exists(ctx, r.out, resultName); {
	case err != nil:
		return 0, err
	case ok:
		return hasResult, nil
	}
	rc, obj, err := r.out.Open(ctx, claimName)
	if errors.Is(err, store.ErrNotExist) {
		return heldElsewhere, nil // released just now after a failure: a later look decides
	}
	if err != nil {
		return 0, fmt.Errorf("reading the claim: %w", err)
	}
	rc.Close()
	if time.Since(obj.Updated) < r.cfg.ClaimLease {
		return heldElsewhere, nil
	}
	err = r.out.Replace(ctx, claimName, obj.Version, strings.NewReader(who))
	if errors.Is(err, store.ErrConflict) {
		return heldElsewhere, nil // another delivery took it over first
	}
	if err != nil {
		return 0, fmt.Errorf("taking over a stale claim: %w", err)
	}
	// The dead worker may have written the result after all between our two looks.
	if ok, err := exists(ctx, r.out, resultName); err != nil || ok {
		r.release(ctx, claimName)
		if err != nil {
			return 0, err
		}
		return hasResult, nil
	}
	return claimed, nil
}

// release deletes a claim the caller holds, so that another delivery may run the line; a
// failure only delays that until the claim's lease runs out.
func (r *Runner) release(ctx context.Context, claimName string) {
	dctx, cancel := detached(ctx)
	defer cancel()
	if err := r.out.Delete(dctx, claimName); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch claim not released", slog.String("claim", claimName), slog.String("error", err.Error()))
	}
}

// exists reports whether the object name exists.
func exists(ctx context.Context, s store.Store, name string) (bool, error) {
	rc, _, err := s.Open(ctx, name)
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	rc.Close()
	return true, nil
}

// persist writes a finished result create-only. An existing object is a result written by
// another delivery (a taken-over claim whose first worker came back): the line is done either
// way, and the first result stands.
func (r *Runner) persist(ctx context.Context, name string, line []byte) error {
	pctx, cancel := detached(ctx)
	defer cancel()
	if err := r.out.Create(pctx, name, bytes.NewReader(line)); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

// messagesDir is the folder, under OutputPrefix, of queue message results.
const messagesDir = "messages/"

// workDirName is the folder, under OutputPrefix, of claims and unfinished results. No result
// name can fall in it: every caller-derived part of a name goes through store.Segment, which
// never starts a segment with '.', and input names with a hidden segment are ignored.
const workDirName = ".work/"

// MessageResultName returns where the result of a queue message lands:
// OutputPrefix+"messages/"+<custom_id>+"/"+<message id>+".json", each part escaped by
// store.Segment (one longer than 300 bytes escaped is "~h" and its SHA-256 instead); a message
// without a usable custom_id has "~" in its place.
func (r *Runner) MessageResultName(customID, messageID string) string {
	return r.cfg.OutputPrefix + messagesDir + segment(customID) + "/" + segment(messageID) + ".json"
}

// maxSegment bounds one escaped name segment, so that names stay under the 1,024 bytes both
// clouds allow whatever the prefix.
const maxSegment = 300

// segment is store.Segment(s), or for a value whose escaped form is longer than maxSegment,
// "~h" and the hex SHA-256 of s: a form store.Segment never produces ('h' is not a hex
// digit), so distinct values still never share a name.
func segment(s string) string {
	if seg := store.Segment(s); len(seg) <= maxSegment {
		return seg
	}
	sum := sha256.Sum256([]byte(s))
	return "~h" + hex.EncodeToString(sum[:])
}

// RunMessage runs one batch line from a Pub/Sub or SQS message whose id is messageID and
// writes its result line to MessageResultName(custom_id, messageID), create-only. The message
// is claimed first (OutputPrefix+".work/messages/..."), so a redelivery, or a second delivery
// running at the same time, never calls the Completer again; a different message reusing a
// custom_id has its own result. A malformed message is recorded as an error result like a
// malformed file line. Only transient failures are returned (see Transient), among them a
// message another delivery is running right now.
func (r *Runner) RunMessage(ctx context.Context, messageID string, msg []byte) error {
	start := time.Now()
	msg = bytes.TrimSpace(msg)
	h := sha256.New()
	h.Write([]byte("message\x00"))
	h.Write([]byte(messageID))
	h.Write([]byte{0})
	h.Write(msg)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if messageID == "" { // every platform sets one; a message without is named by its content
		messageID = "content-" + hex.EncodeToString(key[:16])
	}
	j := parseLine(key[:], 0, msg)
	name := r.MessageResultName(j.customID, messageID)
	attrs := []slog.Attr{slog.String("custom_id", j.customID), slog.String("result", name)}
	fail := func(err error) error {
		err = transient(fmt.Errorf("batch: message %s: %w", messageID, err))
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch message failed", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
	switch ok, err := exists(ctx, r.out, name); {
	case err != nil:
		return fail(err)
	case ok:
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch message already done", attrs...)
		return nil
	}
	res := j.done
	if res == nil {
		claimName := r.cfg.OutputPrefix + workDirName + messagesDir + segment(j.customID) + "/" + segment(messageID) + ".claim"
		st, err := r.claim(ctx, claimName, name, messageID)
		switch {
		case err != nil:
			return fail(err)
		case st == hasResult:
			r.log.LogAttrs(ctx, slog.LevelInfo, "batch message already done", attrs...)
			return nil
		case st == heldElsewhere:
			return fail(errors.New("another delivery of the message is running it"))
		}
		// The claim may be free because a finished run released it: look once more.
		if ok, err := exists(ctx, r.out, name); err != nil || ok {
			r.release(ctx, claimName)
			if err != nil {
				return fail(err)
			}
			return nil
		}
		if res, err = r.complete(ctx, &j); err != nil {
			r.release(ctx, claimName)
			return fail(err)
		}
		// The claim is released once the result is written; if the write fails the claim
		// stays, and the message runs again only after the lease (a redelivery then bills it
		// a second time: the price of not losing it).
		defer func() {
			if ok, _ := exists(ctx, r.out, name); ok {
				r.release(ctx, claimName)
			}
		}()
	}
	line, res := j.line(res)
	if err := r.persist(ctx, name, line); err != nil {
		return fail(fmt.Errorf("writing %s: %w", name, err))
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
// and whether name is an input at all. A name with a hidden segment (one starting with '.')
// is not an input: its results could land among the runner's own work objects.
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
	base := strings.TrimSuffix(strings.TrimPrefix(name, r.cfg.InputPrefix), ".jsonl")
	if store.CheckName(base) != nil {
		return "", false
	}
	for _, seg := range strings.Split(base, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return base, true
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

// workDir is where the claims and results of one input version are kept until the final
// files exist: OutputPrefix+".work/files/<key>/", key naming the input's name and content.
func (r *Runner) workDir(key [sha256.Size]byte) string {
	return r.cfg.OutputPrefix + workDirName + "files/" + hex.EncodeToString(key[:16]) + "/"
}

// RunFile runs every line of the object name in `in` (a *.jsonl under InputPrefix; other
// names are ignored with a log line) and writes OutputPrefix+<base>.output.jsonl (results with
// a 2xx response, in input order) and OutputPrefix+<base>.errors.jsonl (every other line, in
// input order; written even when empty, and before the output file, whose arrival says the
// job is complete), where <base> is name without InputPrefix and ".jsonl".
//
// The input is read twice as a stream: once to key it (name and content) and count its lines
// (a file over MaxLines is refused whole, with one error line), once to run it. Each line is
// claimed, run and its result persisted, all create-only, under
// OutputPrefix+".work/files/<key>/": a line another delivery has claimed is left to it (and
// waited for), a line with a result is not run again. The final files are assembled from
// those results in input order, through temporary files, written create-only once every line
// has one, and the work objects are then deleted. Until then RunFile returns a transient
// error, after running all the lines it could. A delivery that finds the final files of this
// input version writes nothing.
//
// A Runner with a FileEngine (WithFileEngine) hands a file above its online threshold to it
// instead (see FileEngine): RunFile then returns once the file's jobs are submitted.
func (r *Runner) RunFile(ctx context.Context, in store.Store, name string) error {
	return r.runFile(ctx, "", in, name)
}

// runFile is RunFile for the object name in bucket, opened as in.
func (r *Runner) runFile(ctx context.Context, bucket string, in store.Store, name string) error {
	start := time.Now()
	base, ok := r.inputBase(name)
	if !ok {
		r.log.LogAttrs(ctx, slog.LevelInfo, "batch file ignored", slog.String("name", name),
			slog.String("input_prefix", r.cfg.InputPrefix))
		return nil
	}
	sc, err := scanFile(ctx, in, name, r.cfg.MaxLines)
	if errors.Is(err, store.ErrNotExist) {
		// Deleted since the event was sent: nothing to run, and a retry would not change that.
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch file gone", slog.String("name", name))
		return nil
	}
	if err != nil {
		err = transient(fmt.Errorf("batch: reading %s: %w", name, err))
		r.log.LogAttrs(ctx, slog.LevelWarn, "batch file failed", slog.String("name", name), slog.String("error", err.Error()))
		return err
	}
	if r.onEngine(sc) {
		if err := r.submitFile(ctx, bucket, in, name, sc); !errors.Is(err, ErrRunOnline) {
			return err
		}
	}
	f := newFileRun(r, in, name, base, sc)
	err = f.runAll(ctx)
	f.logDone(ctx, start, err)
	return err
}

// lineReader reads the lines of a JSONL stream one at a time, numbered from 1, without their
// newline and surrounding white space; a leading UTF-8 byte order mark (Windows editors add
// one) is skipped. A line longer than maxLineBytes is returned truncated, with long set.
type lineReader struct {
	r     io.Reader
	buf   []byte // read buffer
	start int    // buf[start:end] is unread
	end   int
	n     int
	eof   bool
	first bool
}

// maxLineBytes bounds one input line: the largest request the gateway takes is far smaller.
const maxLineBytes = 64 << 20

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, buf: make([]byte, 64<<10), first: true}
}

// next returns the next line (a fresh slice, nil for a blank line) and its number, or io.EOF.
func (lr *lineReader) next() (n int, line []byte, long bool, err error) {
	var acc []byte
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			acc, long = appendLimited(acc, lr.buf[lr.start:lr.start+i], long)
			lr.start += i + 1
			return lr.emit(acc, long)
		}
		acc, long = appendLimited(acc, lr.buf[lr.start:lr.end], long)
		lr.start, lr.end = 0, 0
		if lr.eof {
			if len(acc) == 0 && !long {
				return 0, nil, false, io.EOF
			}
			return lr.emit(acc, long)
		}
		m, err := lr.r.Read(lr.buf)
		lr.end = m
		if err == io.EOF {
			lr.eof = true
		} else if err != nil {
			return 0, nil, false, err
		}
	}
}

func (lr *lineReader) emit(acc []byte, long bool) (int, []byte, bool, error) {
	lr.n++
	if lr.first {
		acc = bytes.TrimPrefix(acc, []byte("\xef\xbb\xbf"))
		lr.first = false
	}
	acc = bytes.TrimSpace(acc)
	if len(acc) == 0 {
		acc = nil
	}
	return lr.n, acc, long, nil
}

func appendLimited(acc, b []byte, long bool) ([]byte, bool) {
	if room := maxLineBytes - len(acc); len(b) > room {
		return append(acc, b[:max(room, 0)]...), true
	}
	return append(acc, b...), long
}

// scan is what the first pass over an input learns.
type scan struct {
	key       [sha256.Size]byte
	version   string // the object's version, to see it change before the second pass
	lines     int    // every line, blank or not
	requests  int    // non-blank lines, up to MaxLines+1
	firstLine int    // the first non-blank line's number; 0 when there is none
	tooMany   bool
}

// scanFile reads name from in once: its key (name and content), and its line counts.
func scanFile(ctx context.Context, in store.Store, name string, maxLines int) (scan, error) {
	rc, obj, err := in.Open(ctx, name)
	if err != nil {
		return scan{}, err
	}
	defer rc.Close()
	h := sha256.New()
	h.Write([]byte("file\x00"))
	h.Write([]byte(name))
	h.Write([]byte{0})
	sc := scan{version: obj.Version}
	lr := newLineReader(io.TeeReader(rc, h))
	for {
		n, line, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return scan{}, fmt.Errorf("reading: %w", err)
		}
		sc.lines = n
		if line == nil && !long {
			continue
		}
		if sc.firstLine == 0 {
			sc.firstLine = n
		}
		sc.requests++
		if sc.requests > maxLines {
			sc.tooMany = true
			// The key must still cover the whole content: read on without splitting.
			if _, err := io.Copy(h, rc); err != nil {
				return scan{}, fmt.Errorf("reading: %w", err)
			}
			break
		}
	}
	h.Sum(sc.key[:0])
	return sc, nil
}
