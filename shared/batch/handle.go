package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Job is one batch job as an event delivers it: a queue message holding one line (Pub/Sub,
// SQS), or a JSONL object in a bucket (Cloud Storage, S3).
type Job struct {
	// ID names the job in the logs: the message id, or the event id.
	ID string
	// Message is the message's data, one batch line; used when Name is empty.
	Message []byte
	// Bucket and Name are the JSONL object to run.
	Bucket, Name string
}

func (j Job) String() string {
	if j.Name != "" {
		return j.Bucket + "/" + j.Name
	}
	return "message " + j.ID
}

// Jobs takes the job events the adapters receive; *Runner implements it. It is the adapters'
// one view of batch jobs, so that their tests can fake it.
type Jobs interface {
	Handle(ctx context.Context, j Job) Outcome
}

// Outcome is what the platform should do with the event that carried a job.
type Outcome int

const (
	// Ack: the job is done, its failures recorded as result lines; acknowledge the event.
	Ack Outcome = iota
	// Redeliver: the job is not done, and a later delivery may finish it; the platform
	// should deliver the event again (Pub/Sub and Eventarc on an error, SQS as a batch item
	// failure, S3 on an error of the asynchronous invocation).
	Redeliver
)

func (o Outcome) String() string {
	if o == Redeliver {
		return "redeliver"
	}
	return "ack"
}

// errNotConfigured refuses jobs in a function that has no output bucket.
var errNotConfigured = errors.New("batch jobs are not configured in this function (GATEWAY_OUTPUT_BUCKET is not set)")

// Handle runs j and says what the platform should do with its event: the one retry policy of
// every adapter. It is Redeliver when a retry can help: a transient failure (an upstream 429
// or 5xx after the gateway's own retries, a storage failure), a job the event's deadline cut
// short or that never started, a panic (a poison message then ends in the dead-letter queue
// or topic, not silently dropped), or a function without batch jobs configured (the event is
// kept, not lost). Otherwise it is Ack: the job finished, and a line that failed for good (a
// malformed line, a request Gemini rejects) is recorded in the results, or the file is
// submitted to the batch engine (FileEngine), whose results the scheduled refresh writes; a
// delivery that finds another one submitting the same file is Redeliver. Each Redeliver and
// each permanent failure is logged once, here.
func (r *Runner) Handle(ctx context.Context, j Job) (o Outcome) {
	log := func(level slog.Level, msg string, attrs ...slog.Attr) {
		r.log.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("job", j.String())}, attrs...)...)
	}
	if r.out == nil || r.cfg.OutputBucket == "" {
		log(slog.LevelError, "job refused; it will be redelivered", slog.String("error", errNotConfigured.Error()))
		return Redeliver
	}
	if err := ctx.Err(); err != nil {
		log(slog.LevelWarn, "job not started; it will be redelivered", slog.String("error", err.Error()))
		return Redeliver
	}
	defer func() {
		if v := recover(); v != nil {
			log(slog.LevelError, "job panicked; it will be redelivered", slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			o = Redeliver
		}
	}()
	var err error
	if j.Name != "" {
		err = r.runFile(ctx, j.Bucket, r.open(j.Bucket), j.Name)
	} else {
		err = r.RunMessage(ctx, j.ID, j.Message)
	}
	switch {
	case err == nil:
		return Ack
	case ctx.Err() != nil || Transient(err):
		log(slog.LevelWarn, "job failed; it will be redelivered", slog.String("error", err.Error()))
		return Redeliver
	default:
		log(slog.LevelError, "job failed permanently; not redelivered", slog.String("error", err.Error()))
		return Ack
	}
}
