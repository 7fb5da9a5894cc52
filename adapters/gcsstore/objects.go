package gcsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/store"
)

// This file makes Store the gateway's object store (store.Store): create-only writes with the
// precondition ifGenerationMatch=0, replacements with ifGenerationMatch=<generation read>.
// https://cloud.google.com/storage/docs/request-preconditions

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, name string, r io.Reader) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	err := s.write(ctx, s.bucket.Object(name).If(storage.Conditions{DoesNotExist: true}), name, r)
	if preconditionFailed(err) {
		return fmt.Errorf("gs://%s/%s: %w", s.name, name, store.ErrExists)
	}
	return err
}

// Replace implements store.Store.
func (s *Store) Replace(ctx context.Context, name, version string, r io.Reader) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	gen, err := strconv.ParseInt(version, 10, 64)
	if err != nil || gen <= 0 {
		return fmt.Errorf("gs://%s/%s: version %q: %w", s.name, name, version, store.ErrConflict)
	}
	err = s.write(ctx, s.bucket.Object(name).If(storage.Conditions{GenerationMatch: gen}), name, r)
	if preconditionFailed(err) || errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("gs://%s/%s: %w", s.name, name, store.ErrConflict)
	}
	return err
}

// write uploads r to o. With a precondition the upload is idempotent, so the client retries it
// on transient errors by default.
func (s *Store) write(ctx context.Context, o *storage.ObjectHandle, name string, r io.Reader) error {
	w := o.NewWriter(ctx)
	w.ContentType = batch.ContentType(name)
	// The client buffers a whole chunk (16 MiB by default) to be able to retry it: an object
	// known to be smaller gets a buffer its size (rounded up to 256 KiB by the client), so
	// that concurrent small writes — a batch run's claims and results — do not take 16 MiB each.
	if n, ok := size(r); ok && n < defaultChunkSize {
		w.ChunkSize = int(n) + 1
	}
	if _, err := io.Copy(w, r); err != nil {
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

// size returns how many bytes r holds, when it can tell: a bytes or strings reader, a file.
func size(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len()), true
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), true
		}
	}
	return 0, false
}

func preconditionFailed(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed
}

// Open implements store.Store.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, store.Object, error) {
	if err := store.CheckName(name); err != nil {
		return nil, store.Object{}, err
	}
	r, err := s.bucket.Object(name).NewReader(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, store.Object{}, fmt.Errorf("gs://%s/%s: %w", s.name, name, store.ErrNotExist)
		}
		return nil, store.Object{}, fmt.Errorf("gs://%s/%s: %w", s.name, name, err)
	}
	return r, store.Object{Name: name, Size: r.Attrs.Size, Version: strconv.FormatInt(r.Attrs.Generation, 10), Updated: r.Attrs.LastModified}, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	err := s.bucket.Object(name).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("gs://%s/%s: deleting: %w", s.name, name, err)
	}
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix, after string, limit int) ([]store.Object, error) {
	q := &storage.Query{Prefix: prefix, StartOffset: after}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Generation", "Updated"}); err != nil {
		return nil, err
	}
	it := s.bucket.Objects(ctx, q)
	var out []store.Object
	for limit < 1 || len(out) < limit {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gs://%s/%s*: listing: %w", s.name, prefix, err)
		}
		if a.Name <= after { // StartOffset is inclusive
			continue
		}
		out = append(out, store.Object{Name: a.Name, Size: a.Size, Version: strconv.FormatInt(a.Generation, 10), Updated: a.Updated})
	}
	return out, nil
}

var _ store.Store = (*Store)(nil)
