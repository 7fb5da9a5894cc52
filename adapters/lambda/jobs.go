package lambda

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/geminigateway/gateway/shared/batch"
)

// sqs runs one job per message and reports the messages the runner says to redeliver as batch
// item failures (the event source mapping needs function_response_types =
// ["ReportBatchItemFailures"]); the others are deleted from the queue.
//
// Messages of a standard queue run concurrently. A FIFO queue's run in order, and after the
// first one to redeliver the rest are not run but reported too, as AWS requires, so that
// order within a message group holds on redelivery.
func (a *adapter) sqs(ctx context.Context, ev *events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	fail := func(m *events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
	}
	if len(ev.Records) > 0 && strings.HasSuffix(ev.Records[0].EventSourceARN, ".fifo") {
		for i := range ev.Records {
			m := &ev.Records[i]
			if len(resp.BatchItemFailures) > 0 || a.runSQS(ctx, m) == batch.Redeliver {
				fail(m)
			}
		}
		return resp
	}
	outcomes := make([]batch.Outcome, len(ev.Records))
	sem := make(chan struct{}, a.Concurrency)
	var wg sync.WaitGroup
	for i := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outcomes[i] = a.runSQS(ctx, &ev.Records[i])
		})
	}
	wg.Wait()
	for i := range ev.Records {
		if outcomes[i] == batch.Redeliver {
			fail(&ev.Records[i])
		}
	}
	return resp
}

func (a *adapter) runSQS(ctx context.Context, m *events.SQSMessage) batch.Outcome {
	return a.Jobs.Handle(ctx, batch.Job{ID: m.MessageId, Message: []byte(m.Body)})
}

// s3 runs the JSONL batch file of each ObjectCreated record; other records are ignored. The
// object key arrives URL-encoded (a space is "+"), and is decoded as S3 requires. An error
// return makes Lambda retry the event (asynchronous invocation: twice, then the on-failure
// destination); the runner's outputs are idempotent, so rerunning files that succeeded is safe.
func (a *adapter) s3(ctx context.Context, ev *events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		bucket, key := r.S3.Bucket.Name, r.S3.Object.URLDecodedKey
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			a.Logger.DebugContext(ctx, "s3 event ignored", "event", r.EventName, "bucket", bucket, "key", key)
			continue
		}
		if a.Jobs.Handle(ctx, batch.Job{ID: r.ResponseElements["x-amz-request-id"], Bucket: bucket, Name: key}) == batch.Redeliver {
			errs = append(errs, fmt.Errorf("s3://%s/%s failed; Lambda will retry the event", bucket, key))
		}
	}
	return errors.Join(errs...)
}
