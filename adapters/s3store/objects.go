package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/store"
)

// This file makes Store the gateway's object store (store.Store): create-only writes with
// If-None-Match: *, replacements with If-Match: <ETag read>.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, name string, r io.Reader) error {
	err := s.put(ctx, name, r, &s3.PutObjectInput{IfNoneMatch: aws.String("*")})
	if conditionFailed(err) {
		return fmt.Errorf("s3://%s/%s: %w", s.bucket, name, store.ErrExists)
	}
	return err
}

// Replace implements store.Store.
func (s *Store) Replace(ctx context.Context, name, version string, r io.Reader) error {
	if version == "" {
		return fmt.Errorf("s3://%s/%s: %w", s.bucket, name, store.ErrConflict)
	}
	err := s.put(ctx, name, r, &s3.PutObjectInput{IfMatch: aws.String(version)})
	if conditionFailed(err) || notFound(err) {
		return fmt.Errorf("s3://%s/%s: %w", s.bucket, name, store.ErrConflict)
	}
	return err
}

// put writes r as name with in's condition. The SDK signs the payload, so it needs a body it
// can seek: an io.ReadSeeker (a file, a bytes.Reader) is sent as it is, anything else is read
// into memory first — callers with large content pass a file.
func (s *Store) put(ctx context.Context, name string, r io.Reader, in *s3.PutObjectInput) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("s3://%s/%s: reading content: %w", s.bucket, name, err)
		}
		rs = bytes.NewReader(b)
	}
	size, err := rs.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = rs.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("s3://%s/%s: %w", s.bucket, name, err)
	}
	in.Bucket, in.Key, in.Body = aws.String(s.bucket), aws.String(name), rs
	in.ContentLength, in.ContentType = aws.Int64(size), aws.String(batch.ContentType(name))
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("s3://%s/%s: writing: %w", s.bucket, name, err)
	}
	return nil
}

// conditionFailed reports whether S3 refused a conditional write: 412 Precondition Failed, or
// 409 ConditionalRequestConflict when another conditional write to the key was in flight.
func conditionFailed(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict
}

// Open implements store.Store.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, store.Object, error) {
	if err := store.CheckName(name); err != nil {
		return nil, store.Object{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(name)})
	if err != nil {
		if notFound(err) {
			return nil, store.Object{}, fmt.Errorf("s3://%s/%s: %w", s.bucket, name, store.ErrNotExist)
		}
		return nil, store.Object{}, fmt.Errorf("s3://%s/%s: %w", s.bucket, name, err)
	}
	return out.Body, store.Object{Name: name, Size: aws.ToInt64(out.ContentLength), Version: aws.ToString(out.ETag), Updated: aws.ToTime(out.LastModified)}, nil
}

// Delete implements store.Store. S3 answers a delete of a missing key with success.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(name)}); err != nil && !notFound(err) {
		return fmt.Errorf("s3://%s/%s: deleting: %w", s.bucket, name, err)
	}
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix, after string, limit int) ([]store.Object, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)}
	if after != "" {
		in.StartAfter = aws.String(after)
	}
	var out []store.Object
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() && (limit < 1 || len(out) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3://%s/%s*: listing: %w", s.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, store.Object{Name: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), Version: aws.ToString(o.ETag), Updated: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

var _ store.Store = (*Store)(nil)
