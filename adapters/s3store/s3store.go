// Package s3store is a batch.Store on one S3 bucket, through aws-sdk-go-v2.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/geminigateway/gateway/shared/batch"
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

// Get returns the object's content. A missing key is an error wrapping batch.ErrNotExist as
// well as the SDK's *types.NoSuchKey.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(name)})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("s3://%s/%s: %w: %w", s.bucket, name, batch.ErrNotExist, err)
		}
		return nil, fmt.Errorf("s3://%s/%s: %w", s.bucket, name, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	buf.Grow(int(max(aws.ToInt64(out.ContentLength), 0)) + bytes.MinRead) // one allocation: room for the EOF read
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, fmt.Errorf("s3://%s/%s: reading: %w", s.bucket, name, err)
	}
	return buf.Bytes(), nil
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

// Put writes the object whole. The SDK retries it on transient errors; the batch runner
// writes the same content whenever it writes a name twice.
func (s *Store) Put(ctx context.Context, name string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(name),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(batch.ContentType(name)),
	})
	if err != nil {
		return fmt.Errorf("s3://%s/%s: writing: %w", s.bucket, name, err)
	}
	return nil
}

var _ batch.Store = (*Store)(nil)
