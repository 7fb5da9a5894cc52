package gcf

import (
	"bytes"
	"context"
	"encoding/json"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// The scheduled refresh: Cloud Scheduler publishes, every few minutes, a message to the topic
// PubSubJob is subscribed to, marked either by the attribute gateway_task=refresh_batches or by
// the data {"gateway_task":"refresh_batches"}. PubSubJob hands it to Deps.Refresh (the
// gateway's RefreshBatches) instead of the job runner.

// TaskAttribute and RefreshTask are the marker of the scheduled refresh.
const (
	TaskAttribute = "gateway_task"
	RefreshTask   = "refresh_batches"
)

// taskMessage is the part of a messagePublished event's data the marker is in.
type taskMessage struct {
	Message struct {
		Data       []byte            `json:"data"`
		Attributes map[string]string `json:"attributes"`
	} `json:"message"`
}

// isRefresh reports whether e is a Pub/Sub message carrying the refresh marker.
func isRefresh(e cloudevents.Event) bool {
	if e.Type() != PubSubType {
		return false
	}
	var m taskMessage
	if e.DataAs(&m) != nil {
		return false
	}
	if m.Message.Attributes[TaskAttribute] == RefreshTask {
		return true
	}
	data := bytes.TrimSpace(m.Message.Data)
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var marker struct {
		Task string `json:"gateway_task"`
	}
	return json.Unmarshal(data, &marker) == nil && marker.Task == RefreshTask
}

// refresh runs the scheduled refresh. Its failure is logged and the message acknowledged: the
// next tick of the schedule is the retry, and a redelivery would only pile up behind it.
func (f *Functions) refresh(ctx context.Context, e cloudevents.Event) error {
	d, err := f.deps(context.Background())
	if err != nil {
		return err
	}
	if d.Refresh == nil {
		d.Logger.WarnContext(ctx, "refresh dropped: no object store (GATEWAY_STORE_BUCKET)", "id", e.ID())
		return nil
	}
	ended, err := d.Refresh(ctx)
	if err != nil {
		d.Logger.ErrorContext(ctx, "batch refresh failed", "id", e.ID(), "ended", ended, "err", err)
		return nil
	}
	d.Logger.InfoContext(ctx, "batches refreshed", "id", e.ID(), "ended", ended)
	return nil
}
