package lambda

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

var errNoJobs = errors.New("batch jobs are not configured in this function")

// sqs runs one job per message and reports the messages to redeliver as batch item failures
// (the event source mapping needs function_response_types = ["ReportBatchItemFailures"]).
// Only a retryable failure is reported; a permanent one has been recorded by the runner and
// counts as done, so it is deleted from the queue.
//
// Messages of a standard queue run concurrently. A FIFO queue's run in order, and after the
// first retryable failure the rest are not run but reported too, as AWS requires, so that
// order within a message group holds on redelivery.
func (a *adapter) sqs(ctx context.Context, ev *events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	if a.jobs == nil {
		return resp, errNoJobs
	}
	fail := func(m *events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
	}
	if len(ev.Records) > 0 && strings.HasSuffix(ev.Records[0].EventSourceARN, ".fifo") {
		for i := range ev.Records {
			m := &ev.Records[i]
			if len(resp.BatchItemFailures) > 0 || a.runSQS(ctx, m) {
				fail(m)
			}
		}
		return resp, nil
	}
	retry := make([]bool, len(ev.Records))
	sem := make(chan struct{}, a.concurrency)
	var wg sync.WaitGroup
	for i := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			retry[i] = a.runSQS(ctx, &ev.Records[i])
		})
	}
	wg.Wait()
	for i := range ev.Records {
		if retry[i] {
			fail(&ev.Records[i])
		}
	}
	return resp, nil
}

// runSQS runs one message and reports whether it must be redelivered.
func (a *adapter) runSQS(ctx context.Context, m *events.SQSMessage) bool {
	return a.run(ctx, "sqs message "+m.MessageId, func(ctx context.Context) error {
		return a.jobs.RunMessage(ctx, []byte(m.Body))
	})
}

// s3 runs the JSONL batch file of each ObjectCreated record; other records are ignored. The
// object key arrives URL-encoded (a space is "+"), and is decoded as S3 requires. An error
// return makes Lambda retry the event (asynchronous invocation: twice, then the on-failure
// destination); the runner's outputs are idempotent, so rerunning files that succeeded is safe.
func (a *adapter) s3(ctx context.Context, ev *events.S3Event) error {
	if a.jobs == nil {
		return errNoJobs
	}
	var errs []error
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			a.log.DebugContext(ctx, "s3 event ignored", "event", r.EventName, "bucket", r.S3.Bucket.Name, "key", r.S3.Object.URLDecodedKey)
			continue
		}
		bucket, key := r.S3.Bucket.Name, r.S3.Object.URLDecodedKey
		name := "s3://" + bucket + "/" + key
		retry := a.run(ctx, name, func(ctx context.Context) error { return a.jobs.RunFile(ctx, bucket, key) })
		if retry {
			errs = append(errs, fmt.Errorf("%s failed; Lambda will retry the event", name))
		}
	}
	return errors.Join(errs...)
}

// run runs one job and reports whether the platform should retry it: after a transient error,
// an error once the invocation's deadline has passed, or a panic (a poison message then ends in
// the queue's dead-letter queue, not silently dropped). A permanent error is logged and done.
func (a *adapter) run(ctx context.Context, what string, job func(context.Context) error) (retry bool) {
	if err := ctx.Err(); err != nil {
		a.log.WarnContext(ctx, "job not started; will be retried", "job", what, "err", err)
		return true
	}
	defer func() {
		if v := recover(); v != nil {
			a.log.ErrorContext(ctx, "job panicked; will be retried", "job", what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			retry = true
		}
	}()
	err := job(ctx)
	switch {
	case err == nil:
		return false
	case ctx.Err() != nil || a.transient(err):
		a.log.WarnContext(ctx, "job failed; will be retried", "job", what, "err", err)
		return true
	default:
		a.log.ErrorContext(ctx, "job failed permanently; not retried", "job", what, "err", err)
		return false
	}
}
