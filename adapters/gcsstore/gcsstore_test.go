package gcsstore_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"github.com/geminigateway/gateway/adapters/gcsstore"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/store/storetest"
)

const bucket = "gateway-batch"

// newStore starts fake-gcs-server on a loopback port and returns a Store that reaches it
// through the real client over HTTP: JSON API uploads and XML API reads, the client's defaults.
// PublicHost makes the fake serve XML reads on the loopback host.
func newStore(t *testing.T) (*gcsstore.Store, *fakestorage.Server) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	client := newClient(t, srv.URL())
	return gcsstore.New(client, bucket), srv
}

func newClient(t *testing.T, url string) *storage.Client {
	t.Helper()
	client, err := storage.NewClient(t.Context(), option.WithEndpoint(url+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// TestContentType checks that what the server holds is what was written, with the content
// type set from the name.
func TestContentType(t *testing.T) {
	s, srv := newStore(t)
	if err := s.Create(t.Context(), "out/a.json", strings.NewReader(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	obj, err := srv.GetObject(bucket, "out/a.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Content) != `{"a":1}` || obj.ContentType != "application/json" {
		t.Errorf("object = %q %q", obj.Content, obj.ContentType)
	}
}

// TestNotFoundIsTyped checks that only a missing object is store.ErrNotExist: a permission
// error must not look like "no result yet" (the runner would run a line again).
func TestNotFoundIsTyped(t *testing.T) {
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":403,"message":"no access","errors":[{"reason":"forbidden"}]}}`))
	}))
	defer forbidden.Close()
	s := gcsstore.New(newClient(t, forbidden.URL), bucket)
	if _, _, err := s.Open(t.Context(), "a.json"); err == nil || errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open on 403 = %v, want an error that is not ErrNotExist", err)
	}
	if err := s.Create(t.Context(), "a.json", strings.NewReader("x")); err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("Create on 403 = %v, want an error that is not ErrExists", err)
	}

	s, _ = newStore(t)
	if _, _, err := s.Open(t.Context(), "missing.json"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
}

// TestConcurrentDeliveries delivers a 200-line file twice at once, and 50 messages twice at
// once, through the real client against fake-gcs-server (which enforces ifGenerationMatch=0):
// each line and message reaches the model once.
func TestConcurrentDeliveries(t *testing.T) {
	s, _ := newStore(t)
	files, messages := batchtest.TestConcurrentDeliveries(t, s)
	t.Logf("model calls: 200-line file delivered twice at once: %d; 50 messages delivered twice at once: %d", files, messages)
}

// TestOutageRedelivery runs the 1,000-line outage-and-redelivery scenario on Cloud Storage.
func TestOutageRedelivery(t *testing.T) {
	s, _ := newStore(t)
	batchtest.TestOutageRedelivery(t, s)
}

// TestObjectStore runs the store.Store contract through the real client against
// fake-gcs-server, which enforces the ifGenerationMatch preconditions as Cloud Storage does.
func TestObjectStore(t *testing.T) {
	s, _ := newStore(t)
	storetest.Run(t, s)
}
