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
// message's data is one job line, or the scheduled refresh's marker (refresh.go).
func (f *Functions) PubSubJob(ctx context.Context, e cloudevents.Event) error {
	if isRefresh(e) {
		return f.refresh(ctx, e)
	}
	var data messagePublished
	return f.event(ctx, e, PubSubType, &data, func() (batch.Job, bool) {
		return batch.Job{ID: data.Message.MessageID, Message: data.Message.Data}, true
	})
}

// StorageJob is the CloudEvent function for google.cloud.storage.object.v1.finalized: the
// object is a JSONL batch file. Which objects are batch inputs (the input prefix) is the
// runner's call, since Eventarc filters on the bucket only.
func (f *Functions) StorageJob(ctx context.Context, e cloudevents.Event) error {
	var obj storageObject
	return f.event(ctx, e, StorageType, &obj, func() (batch.Job, bool) {
		return batch.Job{ID: e.ID(), Bucket: obj.Bucket, Name: obj.Name}, obj.Bucket != "" && obj.Name != ""
	})
}

// event decodes e's data into data and hands the job to the runner. It returns an error (the
// framework answers 500 and the event is redelivered) when the runner says Redeliver, having
// logged why, or when the gateway failed to start. An event of another type or with unreadable
// data is logged and acknowledged: a retry cannot fix it.
func (f *Functions) event(ctx context.Context, e cloudevents.Event, typ string, data any, job func() (batch.Job, bool)) error {
	d, err := f.deps(context.Background())
	if err != nil {
		return err
	}
	if e.Type() != typ {
		d.Logger.ErrorContext(ctx, "event dropped: unexpected type", "type", e.Type(), "want", typ, "id", e.ID())
		return nil
	}
	j, ok := batch.Job{}, false
	if err = e.DataAs(data); err == nil {
		j, ok = job()
	}
	if !ok {
		d.Logger.ErrorContext(ctx, "event dropped: unreadable data", "type", typ, "id", e.ID(), "err", err)
		return nil
	}
	if d.Jobs.Handle(ctx, j) == batch.Redeliver {
		return fmt.Errorf("event %s: job not done; redeliver", e.ID())
	}
	return nil
}
