// Package s3store is the gateway's object store (store.Store) on one S3 bucket, through
// aws-sdk-go-v2.
package s3store

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Store is one bucket. It is safe for concurrent use.
type Store struct {
	client *s3.Client
	bucket string
}

// New returns the Store for bucket, using client (shared).
//
// The function's role needs s3:ListBucket on the bucket as well as s3:GetObject: without it,
// S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey, and every "no result
// yet" looks like a storage failure.
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// notFound reports whether err says the key does not exist: the modeled *types.NoSuchKey of
// GetObject, or the *types.NotFound / "NotFound" code that S3 gives when the request carries no
// body to name the error (HEAD, and some S3-compatible stores for GET).
func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}
