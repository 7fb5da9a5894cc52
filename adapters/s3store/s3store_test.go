package s3store_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/geminigateway/gateway/adapters/s3store"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/store/storetest"
)

const bucket = "gateway-batch"

// newClient returns the real S3 client pointed at url: path-style addressing, static
// credentials, a region (all three are required to sign and route requests to a fake).
func newClient(url string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

// newStore starts gofakes3 (an in-memory S3 REST server) on a loopback port and returns a
// Store that reaches it through the real client.
func newStore(t *testing.T) (*s3store.Store, *s3.Client) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := newClient(srv.URL)
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return s3store.New(client, bucket), client
}

// TestContentType checks that what S3 holds is what was written, with the content type set
// from the name.
func TestContentType(t *testing.T) {
	s, client := newStore(t)
	if err := s.Create(t.Context(), "out/empty.jsonl", strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("out/empty.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "application/jsonl" || aws.ToInt64(head.ContentLength) != 0 {
		t.Errorf("head = %q %d", aws.ToString(head.ContentType), aws.ToInt64(head.ContentLength))
	}
}

// TestNotFoundIsTyped checks that only a missing key is store.ErrNotExist: a 403 must not
// look like "no result yet", or the runner would run a line again.
func TestNotFoundIsTyped(t *testing.T) {
	s, _ := newStore(t)
	if _, _, err := s.Open(t.Context(), "missing.json"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}

	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
	}))
	defer denied.Close()
	s = s3store.New(newClient(denied.URL), bucket)
	if _, _, err := s.Open(t.Context(), "a.json"); err == nil || errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open on 403 = %v, want an error that is not ErrNotExist", err)
	}
	if err := s.Create(t.Context(), "a.json", strings.NewReader("x")); err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("Create on 403 = %v, want an error that is not ErrExists", err)
	}
}

// TestConcurrentDeliveries delivers a 200-line file twice at once, and 50 messages twice at
// once, through the real client against gofakes3 (which enforces If-None-Match: *): each
// line and message reaches the model once.
func TestConcurrentDeliveries(t *testing.T) {
	s, _ := newStore(t)
	files, messages := batchtest.TestConcurrentDeliveries(t, s)
	t.Logf("model calls: 200-line file delivered twice at once: %d; 50 messages delivered twice at once: %d", files, messages)
}

// TestOutageRedelivery runs the 1,000-line outage-and-redelivery scenario on S3.
func TestOutageRedelivery(t *testing.T) {
	s, _ := newStore(t)
	batchtest.TestOutageRedelivery(t, s)
}

// TestObjectStore runs the store.Store contract through the real client against gofakes3,
// which enforces If-None-Match and If-Match on PutObject as S3 does.
func TestObjectStore(t *testing.T) {
	s, _ := newStore(t)
	storetest.Run(t, s)
}
