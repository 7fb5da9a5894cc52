// Package gcsstore is the gateway's object store (store.Store) on one Cloud Storage bucket,
// through the official client (cloud.google.com/go/storage).
package gcsstore

import (
	"cloud.google.com/go/storage"
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
