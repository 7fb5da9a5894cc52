// Package batchtest has fakes and shared checks for tests of package batch and of the store
// adapters: an in-memory store.Store, a fake Completer that counts calls, a generator of
// batch files, and the outage-and-redelivery scenario that every store must pass with the
// Runner.
package batchtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/geminigateway/gateway/shared/store"
)

// MemStore is an in-memory store.Store, safe for concurrent use, with hooks to fail calls.
type MemStore struct {
	// FailOpen and FailWrite, when set, can fail an Open or a Create/Replace by returning an
	// error for its name.
	FailOpen  func(name string) error
	FailWrite func(name string) error

	mu      sync.Mutex
	objects map[string]memObject
	gen     int
	writes  int
	opens   int
}

type memObject struct {
	data    []byte
	gen     int
	updated time.Time
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{objects: make(map[string]memObject)} }

// Bucket returns s whatever the bucket: a batch.Runner's open for tests where input and output
// share one bucket.
func (s *MemStore) Bucket(string) store.Store { return s }

func (s *MemStore) write(ctx context.Context, name string, r io.Reader, check func(memObject, bool) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckName(name); err != nil {
		return err
	}
	if s.FailWrite != nil {
		if err := s.FailWrite(name); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[name]
	if err := check(o, ok); err != nil {
		return err
	}
	s.gen++
	s.writes++
	s.objects[name] = memObject{data: data, gen: s.gen, updated: time.Now()}
	return nil
}

// Create implements store.Store.
func (s *MemStore) Create(ctx context.Context, name string, r io.Reader) error {
	return s.write(ctx, name, r, func(_ memObject, ok bool) error {
		if ok {
			return fmt.Errorf("memstore: %s: %w", name, store.ErrExists)
		}
		return nil
	})
}

// Replace implements store.Store.
func (s *MemStore) Replace(ctx context.Context, name, version string, r io.Reader) error {
	return s.write(ctx, name, r, func(o memObject, ok bool) error {
		if !ok || strconv.Itoa(o.gen) != version {
			return fmt.Errorf("memstore: %s: %w", name, store.ErrConflict)
		}
		return nil
	})
}

// Open implements store.Store.
func (s *MemStore) Open(ctx context.Context, name string) (io.ReadCloser, store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, store.Object{}, err
	}
	if s.FailOpen != nil {
		if err := s.FailOpen(name); err != nil {
			return nil, store.Object{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	o, ok := s.objects[name]
	if !ok {
		return nil, store.Object{}, fmt.Errorf("memstore: %s: %w", name, store.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(o.data)), s.object(name, o), nil
}

func (s *MemStore) object(name string, o memObject) store.Object {
	return store.Object{Name: name, Size: int64(len(o.data)), Version: strconv.Itoa(o.gen), Updated: o.updated}
}

// Delete implements store.Store.
func (s *MemStore) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, name)
	return nil
}

// List implements store.Store.
func (s *MemStore) List(ctx context.Context, prefix, after string, limit int) ([]store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Object
	for _, n := range s.names(prefix) {
		if n > after {
			out = append(out, s.object(n, s.objects[n]))
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *MemStore) names(prefix string) []string {
	var names []string
	for n := range s.objects {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Put writes the object whatever is there: test setup.
func (s *MemStore) Put(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.objects[name] = memObject{data: bytes.Clone(data), gen: s.gen, updated: time.Now()}
}

// Age makes the object look written d ago.
func (s *MemStore) Age(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objects[name]; ok {
		o.updated = o.updated.Add(-d)
		s.objects[name] = o
	}
}

// Object returns the object's content.
func (s *MemStore) Object(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[name]
	return o.data, ok
}

// Version returns the object's version ("" when there is none).
func (s *MemStore) Version(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[name]
	if !ok {
		return ""
	}
	return strconv.Itoa(o.gen)
}

// Names returns the sorted names under prefix.
func (s *MemStore) Names(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names(prefix)
}

// Counts returns how many Opens reached the store and how many writes (Create, Replace)
// succeeded.
func (s *MemStore) Counts() (opens, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens, s.writes
}

var _ store.Store = (*MemStore)(nil)
