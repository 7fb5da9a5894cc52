// Package batchtest has fakes and shared checks for tests of package batch and of the Store
// adapters: an in-memory Store, a fake Completer that counts calls, a generator of batch
// files, a conformance test for Store implementations, and the outage-and-redelivery scenario
// that every Store must pass with the Runner.
package batchtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
)

// MemStore is an in-memory batch.Store, safe for concurrent use.
type MemStore struct {
	// FailGet and FailPut, when set, can fail a call by returning an error for its name.
	FailGet func(name string) error
	FailPut func(name string) error

	mu         sync.Mutex
	objects    map[string][]byte
	gets, puts int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{objects: make(map[string][]byte)} }

// Open returns s whatever the bucket: a batch.Runner's open for tests where input and output
// share one bucket.
func (s *MemStore) Open(string) batch.Store { return s }

// Get returns a copy of the object.
func (s *MemStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.FailGet != nil {
		if err := s.FailGet(name); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	b, ok := s.objects[name]
	if !ok {
		return nil, fmt.Errorf("memstore: %s: %w", name, batch.ErrNotExist)
	}
	return bytes.Clone(b), nil
}

// Put stores a copy of data.
func (s *MemStore) Put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.FailPut != nil {
		if err := s.FailPut(name); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if data == nil {
		data = []byte{}
	}
	s.objects[name] = bytes.Clone(data)
	return nil
}

// Object returns the object without counting a Get.
func (s *MemStore) Object(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[name]
	return b, ok
}

// Names returns the sorted names under prefix.
func (s *MemStore) Names(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.objects {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Counts returns how many Gets and Puts reached the store.
func (s *MemStore) Counts() (gets, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.puts
}

// TestStore checks the batch.Store contract on s, which must be empty under "conformance/":
// a missing object is ErrNotExist (and not for a present one), Put then Get round-trips bytes
// exactly (empty, binary, names with slashes and spaces), and Put replaces.
func TestStore(t *testing.T, s batch.Store) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Get(ctx, "conformance/missing.json"); !errors.Is(err, batch.ErrNotExist) {
		t.Fatalf("Get(missing) = %v, want an error wrapping batch.ErrNotExist", err)
	}
	objects := map[string][]byte{
		"conformance/a.json":               []byte(`{"a":1}` + "\n"),
		"conformance/empty.jsonl":          {},
		"conformance/dir/sub dir/b+c.json": []byte("x"),
		"conformance/binary":               {0, 1, 2, 0xff, '\n', '\r'},
		"conformance/unicodé/ü.json":       []byte(`"ü"`),
	}
	for name, data := range objects {
		if err := s.Put(ctx, name, data); err != nil {
			t.Fatalf("Put(%q): %v", name, err)
		}
	}
	for name, want := range objects {
		got, err := s.Get(ctx, name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Get(%q) = %q, want %q", name, got, want)
		}
	}
	if err := s.Put(ctx, "conformance/a.json", []byte("replaced")); err != nil {
		t.Fatalf("Put(replace): %v", err)
	}
	if got, err := s.Get(ctx, "conformance/a.json"); err != nil || string(got) != "replaced" {
		t.Errorf("Get after replace = %q, %v; want %q", got, err, "replaced")
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than one read
	if err := s.Put(ctx, "conformance/big.bin", big); err != nil {
		t.Fatalf("Put(big): %v", err)
	}
	if got, err := s.Get(ctx, "conformance/big.bin"); err != nil || !bytes.Equal(got, big) {
		t.Errorf("Get(big): %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
}
