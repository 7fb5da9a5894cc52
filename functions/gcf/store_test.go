package gcf

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	oai "github.com/openai/openai-go/v3"
	oaioption "github.com/openai/openai-go/v3/option"
	"google.golang.org/api/iterator"
	gapioption "google.golang.org/api/option"

	adapter "github.com/geminigateway/gateway/adapters/gcf"
	"github.com/geminigateway/gateway/shared/config"
)

const storeBucket = "gateway-store"

// deployed assembles the function as deployed with GATEWAY_STORE_BUCKET, on a Cloud Storage
// client reaching fake-gcs-server through the real client, on the emulator backend (the local
// batch engine). It returns the Deps, an OpenAI client on the Gateway handler and the client.
func deployed(t *testing.T) (*adapter.Deps, oai.Client, *storage.Client) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: storeBucket})
	gcs, err := storage.NewClient(t.Context(), gapioption.WithEndpoint(srv.URL()+"/storage/v1/"), gapioption.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gcs.Close() })
	env := map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456", "GATEWAY_STORE_BUCKET": storeBucket}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	d, err := assemble(t.Context(), cfg, gcs)
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(d.Handler)
	t.Cleanup(h.Close)
	c := oai.NewClient(oaioption.WithBaseURL(h.URL+"/v1"), oaioption.WithAPIKey("test-key-123456"), oaioption.WithMaxRetries(0))
	return d, c, gcs
}

// TestStoreBucketBatchFlow pins the deployed shape: with GATEWAY_STORE_BUCKET the files and
// batches API works on the Cloud Storage bucket (the objects land there) through the official
// OpenAI client, and a Pub/Sub message with the refresh marker finalizes a finished batch
// nobody polls.
func TestStoreBucketBatchFlow(t *testing.T) {
	for _, marker := range []struct {
		name  string
		attrs map[string]string
		data  string
	}{
		{"attribute", map[string]string{adapter.TaskAttribute: adapter.RefreshTask}, ""},
		{"data", nil, `{"gateway_task":"refresh_batches"}`},
	} {
		t.Run(marker.name, func(t *testing.T) {
			d, c, gcs := deployed(t)
			ctx := t.Context()
			input := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question one"}]}}` + "\n" +
				`{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question two"}]}}` + "\n"
			f, err := c.Files.New(ctx, oai.FileNewParams{File: oai.File(strings.NewReader(input), "input.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Batches.New(ctx, oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
				CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
			if err != nil {
				t.Fatal(err)
			}
			if n := countObjects(t, gcs); n == 0 {
				t.Fatal("no objects in the store bucket after upload and batch create")
			}

			fns := adapter.New(func(context.Context) (*adapter.Deps, error) { return d, nil })
			ev := refreshEvent(t, marker.attrs, marker.data)
			var got *oai.Batch
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if err := fns.PubSubJob(ctx, ev); err != nil {
					t.Fatal(err)
				}
				page, err := c.Batches.List(ctx, oai.BatchListParams{}) // List does not refresh: only the sweep ends it
				if err != nil || len(page.Data) != 1 {
					t.Fatalf("list: %+v, %v", page, err)
				}
				if page.Data[0].Status == oai.BatchStatusCompleted {
					got = &page.Data[0]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("batch %s still %s after the sweeps", b.ID, page.Data[0].Status)
				}
			}
			if got.OutputFileID == "" || got.RequestCounts.Completed != 2 {
				t.Fatalf("batch = %+v", got)
			}
			resp, err := c.Files.Content(ctx, got.OutputFileID)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(out), "\n") != 2 || !strings.Contains(string(out), `"custom_id":"b"`) {
				t.Errorf("output:\n%s", out)
			}
		})
	}
}

// TestRefreshWithoutStore pins that the marker on a function without a store is acknowledged
// (logged), not handed to the job runner, which would refuse it forever.
func TestRefreshWithoutStore(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"GATEWAY_BACKEND": "emulator", "GATEWAY_API_KEYS": "test-key-123456"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := assemble(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.Refresh(t.Context()); n != 0 || err != nil {
		t.Errorf("Refresh without a store = %d, %v", n, err)
	}
	fns := adapter.New(func(context.Context) (*adapter.Deps, error) { return d, nil })
	if err := fns.PubSubJob(t.Context(), refreshEvent(t, map[string]string{adapter.TaskAttribute: adapter.RefreshTask}, "")); err != nil {
		t.Errorf("refresh marker without a store: %v; want acknowledged", err)
	}
}

// refreshEvent is the messagePublished CloudEvent Eventarc delivers for Cloud Scheduler's
// message (the shape of adapters/gcf/testdata/pubsub-message-published.json).
func refreshEvent(t *testing.T, attrs map[string]string, data string) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID("refresh-1")
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/gateway-jobs")
	e.SetType(adapter.PubSubType)
	msg := map[string]any{"messageId": "refresh-1", "publishTime": "2026-11-28T20:00:00Z"}
	if attrs != nil {
		msg["attributes"] = attrs
	}
	if data != "" {
		msg["data"] = []byte(data) // base64 in the JSON, as Pub/Sub sends it
	}
	raw, err := json.Marshal(map[string]any{"message": msg, "subscription": "projects/p/subscriptions/s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetData(cloudevents.ApplicationJSON, raw); err != nil {
		t.Fatal(err)
	}
	return e
}

func countObjects(t *testing.T, gcs *storage.Client) int {
	t.Helper()
	n := 0
	it := gcs.Bucket(storeBucket).Objects(t.Context(), nil)
	for {
		_, err := it.Next()
		if err == iterator.Done {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}
