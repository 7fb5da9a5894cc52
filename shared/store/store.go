// Package store is the gateway's object store: the files, batches and stored responses that
// outlive one request. In production it is a Cloud Storage bucket (adapters/gcsstore) or an S3
// bucket (adapters/s3store); under `make run` it is a local folder (Dir).
//
// Every write is conditional, so that two function instances racing on the same object never
// both win: Create writes only where nothing exists (Cloud Storage's ifGenerationMatch=0, S3's
// If-None-Match: *), and Replace writes only over the version that was read (ifGenerationMatch=N,
// If-Match: <ETag>). That is what lets concurrent or repeated deliveries of one event run each
// line at most once, and it means no write ever silently overwrites another's.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Store is one bucket (or folder) of objects named by slash-separated paths.
//
// Implementations are safe for concurrent use, also across processes when the backing store is.
type Store interface {
	// Create writes the object from r only if no object of that name exists. If one does, it
	// returns an error wrapping ErrExists and the existing object is unchanged.
	Create(ctx context.Context, name string, r io.Reader) error
	// Replace writes the object from r only if its current version is version (as returned by
	// Open or List). If the object changed since, or is gone, it returns an error wrapping
	// ErrConflict.
	Replace(ctx context.Context, name, version string, r io.Reader) error
	// Open returns the object's content and its attributes. The error wraps ErrNotExist when
	// there is no such object. The caller closes the reader.
	Open(ctx context.Context, name string) (io.ReadCloser, Object, error)
	// Delete removes the object. Deleting an object that does not exist is not an error.
	Delete(ctx context.Context, name string) error
	// List returns up to limit objects whose names start with prefix and sort after after
	// (lexically, as both clouds list), in name order. limit < 1 means no limit.
	List(ctx context.Context, prefix, after string, limit int) ([]Object, error)
}

// Object describes a stored object.
type Object struct {
	Name string
	Size int64
	// Version identifies this content of the object for Replace: a Cloud Storage generation,
	// an S3 ETag, a local file's stamp. Opaque to callers.
	Version string
	// Updated is when this version was written.
	Updated time.Time
}

var (
	// ErrNotExist is wrapped by the error for a missing object.
	ErrNotExist = errors.New("store: object does not exist")
	// ErrExists is wrapped by the error of a Create whose object already exists.
	ErrExists = errors.New("store: object already exists")
	// ErrConflict is wrapped by the error of a Replace whose object changed since it was read.
	ErrConflict = errors.New("store: object changed since it was read")
	// ErrTooLarge is wrapped by ReadAll's error for an object over its limit.
	ErrTooLarge = errors.New("store: object is larger than the limit")
)

// ReadAll reads the whole object, refusing one larger than limit bytes (ErrTooLarge), so that a
// caller never holds more than it planned for. limit < 1 means no limit.
func ReadAll(ctx context.Context, s Store, name string, limit int64) ([]byte, Object, error) {
	rc, obj, err := s.Open(ctx, name)
	if err != nil {
		return nil, Object{}, err
	}
	defer rc.Close()
	if limit > 0 && obj.Size > limit {
		return nil, obj, fmt.Errorf("%s: %d bytes: %w (%d)", name, obj.Size, ErrTooLarge, limit)
	}
	var r io.Reader = rc
	if limit > 0 {
		r = io.LimitReader(rc, limit+1)
	}
	buf := make([]byte, 0, max(obj.Size, 0)+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, obj, fmt.Errorf("%s: reading: %w", name, err)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	if limit > 0 && int64(len(buf)) > limit {
		return nil, obj, fmt.Errorf("%s: %w (%d)", name, ErrTooLarge, limit)
	}
	return buf, obj, nil
}

// CheckName reports an error for a name that is not a clean relative path: empty, absolute,
// with empty, "." or ".." segments, a trailing slash, or a control character. Every Store
// refuses such names, so that no caller-derived part can address an object outside its own.
func CheckName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("store: invalid object name %q", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("store: invalid object name %q", name)
		}
	}
	for i := range len(name) {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("store: invalid object name %q", name)
		}
	}
	return nil
}

// Segment escapes s for use as one segment of an object name: letters, digits, '-', '_' and
// '.' stay (but a leading '.' is escaped, so no segment is "." or ".." or hidden); every other
// byte becomes '~' followed by two hex digits. The mapping is one to one, so distinct values
// never share an object, and no value — slashes, "..", a prefix of ours — can escape its segment.
func Segment(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s))
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_',
			c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('~')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if b.Len() == 0 {
		return "~"
	}
	return b.String()
}
