// Package gcsstore is a batch.Store on one Cloud Storage bucket, through the official client
// (cloud.google.com/go/storage).
package gcsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/storage"

	"github.com/geminigateway/gateway/shared/batch"
)

// Store is one bucket. It is safe for concurrent use.
type Store struct {
	bucket *storage.BucketHandle
	name   string
}

// New returns the Store for bucket, using client (shared; the caller closes it).
func New(client *storage.Client, bucket string) *Store {
	return &Store{bucket: client.Bucket(bucket), name: bucket}
}

// Get returns the object's content. A missing object is an error wrapping both
// batch.ErrNotExist and storage.ErrObjectNotExist.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	r, err := s.bucket.Object(name).NewReader(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, fmt.Errorf("gs://%s/%s: %w: %w", s.name, name, batch.ErrNotExist, err)
		}
		return nil, fmt.Errorf("gs://%s/%s: %w", s.name, name, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	buf.Grow(int(max(r.Attrs.Size, 0)) + bytes.MinRead) // one allocation: room for the EOF read
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("gs://%s/%s: reading: %w", s.name, name, err)
	}
	return buf.Bytes(), nil
}

// Put writes the object whole in one request. The batch runner writes the same content under
// the same name whenever it writes a name twice, so the upload is retried on transient errors
// even though it has no precondition (the client retries only idempotent calls by default).
func (s *Store) Put(ctx context.Context, name string, data []byte) error {
	o := s.bucket.Object(name).Retryer(storage.WithPolicy(storage.RetryAlways))
	w := o.NewWriter(ctx)
	w.ContentType = batch.ContentType(name)
	// Up to the default chunk size, one request with a buffer the size of the object: small
	// objects do not get a 16 MiB buffer each, and a buffer is what lets the client retry.
	if len(data) < defaultChunkSize {
		w.ChunkSize = len(data) + 1
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("gs://%s/%s: writing: %w", s.name, name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("gs://%s/%s: writing: %w", s.name, name, err)
	}
	return nil
}

// defaultChunkSize is the client's default Writer.ChunkSize.
const defaultChunkSize = 16 << 20

var _ batch.Store = (*Store)(nil)
