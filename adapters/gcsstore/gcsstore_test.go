package gcsstore_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"github.com/geminigateway/gateway/adapters/gcsstore"
	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
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

// TestStore checks the batch.Store contract through the real client.
func TestStore(t *testing.T) {
	s, srv := newStore(t)
	batchtest.TestStore(t, s)
	// What the server holds is what was put, with the content type set from the name.
	obj, err := srv.GetObject(bucket, "conformance/a.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Content) != "replaced" || obj.ContentType != "application/json" {
		t.Errorf("object = %q %q", obj.Content, obj.ContentType)
	}
}

// TestNotFoundIsTyped checks that only a missing object is batch.ErrNotExist: a permission
// error must not look like "no result yet" (the runner would run a line again).
func TestNotFoundIsTyped(t *testing.T) {
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":403,"message":"no access","errors":[{"reason":"forbidden"}]}}`))
	}))
	defer forbidden.Close()
	s := gcsstore.New(newClient(t, forbidden.URL), bucket)
	_, err := s.Get(t.Context(), "a.json")
	if err == nil || errors.Is(err, batch.ErrNotExist) {
		t.Errorf("Get on 403 = %v, want an error that is not ErrNotExist", err)
	}
	if err := s.Put(t.Context(), "a.json", []byte("x")); err == nil {
		t.Error("Put on 403 succeeded")
	}

	s, _ = newStore(t)
	_, err = s.Get(t.Context(), "missing.json")
	if !errors.Is(err, batch.ErrNotExist) || !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("Get(missing) = %v, want both ErrNotExist and storage.ErrObjectNotExist", err)
	}
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
