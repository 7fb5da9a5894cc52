package gcf

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

var errNoJobs = errors.New("batch jobs are not configured in this function")

// messagePublished is the data of a Pub/Sub messagePublished event
// (google.events.cloud.pubsub.v1.MessagePublishedData); message.data is base64 in the JSON.
type messagePublished struct {
	Message struct {
		Data      []byte `json:"data"`
		MessageID string `json:"messageId"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// storageObject is the part of a Cloud Storage object event's data we use
// (google.events.cloud.storage.v1.StorageObjectData). The name is not URL-encoded.
type storageObject struct {
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
}

// PubSubJob is the CloudEvent function for google.cloud.pubsub.topic.v1.messagePublished: the
// message's data is one job line. It returns an error (the framework answers 500 and the
// message is redelivered) only when a retry can help: a transient job error, a panic, or a
// gateway that failed to start. An event it cannot read is logged and acknowledged.
func (f *Functions) PubSubJob(ctx context.Context, e cloudevents.Event) error {
	d, err := f.jobDeps()
	if err != nil {
		return err
	}
	if e.Type() != PubSubType {
		d.Logger.ErrorContext(ctx, "event dropped: not a Pub/Sub messagePublished event", "type", e.Type(), "id", e.ID())
		return nil
	}
	var data messagePublished
	if err := e.DataAs(&data); err != nil {
		d.Logger.ErrorContext(ctx, "event dropped: unreadable Pub/Sub event data", "id", e.ID(), "err", err)
		return nil
	}
	return f.run(ctx, d, "pubsub message "+data.Message.MessageID, func(ctx context.Context) error {
		return d.Jobs.RunMessage(ctx, data.Message.Data)
	})
}

// StorageJob is the CloudEvent function for google.cloud.storage.object.v1.finalized: the
// object is a JSONL batch file. Which objects are batch inputs (the input prefix) is the
// runner's call, since Eventarc filters on the bucket only. Errors are returned as in
// PubSubJob.
func (f *Functions) StorageJob(ctx context.Context, e cloudevents.Event) error {
	d, err := f.jobDeps()
	if err != nil {
		return err
	}
	if e.Type() != StorageType {
		d.Logger.ErrorContext(ctx, "event dropped: not a Cloud Storage object finalized event", "type", e.Type(), "id", e.ID())
		return nil
	}
	var obj storageObject
	if err := e.DataAs(&obj); err != nil || obj.Bucket == "" || obj.Name == "" {
		d.Logger.ErrorContext(ctx, "event dropped: unreadable Cloud Storage event data", "id", e.ID(), "err", err)
		return nil
	}
	return f.run(ctx, d, "gs://"+obj.Bucket+"/"+obj.Name, func(ctx context.Context) error {
		return d.Jobs.RunFile(ctx, obj.Bucket, obj.Name)
	})
}

func (f *Functions) jobDeps() (*Deps, error) {
	d, err := f.deps(context.Background())
	if err != nil {
		return nil, err
	}
	if d.Jobs == nil {
		d.Logger.Error("event refused; it will be redelivered", "err", errNoJobs)
		return nil, errNoJobs
	}
	return d, nil
}

// run runs one job and returns an error only if the platform should redeliver the event: after
// a transient error, an error once ctx is done, or a panic (a poison message then ends in the
// subscription's dead-letter topic, not silently dropped). A permanent error is logged and
// acknowledged: the runner has recorded it.
func (f *Functions) run(ctx context.Context, d *Deps, what string, job func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			d.Logger.ErrorContext(ctx, "job panicked; will be retried", "job", what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: job panicked: %v", what, v)
		}
	}()
	jerr := job(ctx)
	switch {
	case jerr == nil:
		return nil
	case ctx.Err() != nil || d.Transient(jerr):
		d.Logger.WarnContext(ctx, "job failed; will be retried", "job", what, "err", jerr)
		return fmt.Errorf("%s: %w", what, jerr)
	default:
		d.Logger.ErrorContext(ctx, "job failed permanently; not retried", "job", what, "err", jerr)
		return nil
	}
}
