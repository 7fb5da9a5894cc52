package gcf

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/geminigateway/gateway/shared/batch"
)

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
// message is redelivered) when the runner says Redeliver or the gateway failed to start. An
// event it cannot read is logged and acknowledged.
func (f *Functions) PubSubJob(ctx context.Context, e cloudevents.Event) error {
	d, err := f.deps(context.Background())
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
	return answer(d.Jobs.Handle(ctx, batch.Job{ID: data.Message.MessageID, Message: data.Message.Data}), e)
}

// StorageJob is the CloudEvent function for google.cloud.storage.object.v1.finalized: the
// object is a JSONL batch file. Which objects are batch inputs (the input prefix) is the
// runner's call, since Eventarc filters on the bucket only. Errors are returned as in
// PubSubJob.
func (f *Functions) StorageJob(ctx context.Context, e cloudevents.Event) error {
	d, err := f.deps(context.Background())
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
	return answer(d.Jobs.Handle(ctx, batch.Job{ID: e.ID(), Bucket: obj.Bucket, Name: obj.Name}), e)
}

// answer is the framework's answer for an outcome: an error makes it answer 500, and the
// platform redeliver the event. The runner has logged why.
func answer(o batch.Outcome, e cloudevents.Event) error {
	if o == batch.Redeliver {
		return fmt.Errorf("event %s: job not done; redeliver", e.ID())
	}
	return nil
}
