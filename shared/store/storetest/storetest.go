// Package storetest is the conformance test of store.Store, run against every implementation:
// the local folder here, and Cloud Storage and S3 through their real clients against
// fake-gcs-server and gofakes3 in the adapters.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/geminigateway/gateway/shared/store"
)

// Run checks the Store contract on s, which must be empty.
func Run(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	read := func(name string) (string, store.Object) {
		t.Helper()
		b, obj, err := store.ReadAll(ctx, s, name, 0)
		if err != nil {
			t.Fatalf("ReadAll(%s): %v", name, err)
		}
		return string(b), obj
	}

	t.Run("create only where nothing exists", func(t *testing.T) {
		if err := s.Create(ctx, "c/one.json", strings.NewReader(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
		err := s.Create(ctx, "c/one.json", strings.NewReader(`{"a":2}`))
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("second Create: %v, want ErrExists", err)
		}
		if got, obj := read("c/one.json"); got != `{"a":1}` || obj.Size != 7 || obj.Version == "" {
			t.Errorf("after a refused Create: %q %+v, want the first content, size 7 and a version", got, obj)
		}
	})

	t.Run("concurrent creates: exactly one wins", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Create(ctx, "race/claim", strings.NewReader(fmt.Sprint("writer ", i)))
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("writers %d and %d both created the object", won, i)
			case err == nil:
				won = i
			case !errors.Is(err, store.ErrExists):
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		if won < 0 {
			t.Fatal("no writer won")
		}
		if got, _ := read("race/claim"); got != fmt.Sprint("writer ", won) {
			t.Errorf("content %q, want the winner's (writer %d)", got, won)
		}
	})

	t.Run("replace only over the version read", func(t *testing.T) {
		if err := s.Create(ctx, "r/state.json", strings.NewReader("v1")); err != nil {
			t.Fatal(err)
		}
		_, v1 := read("r/state.json")
		if err := s.Replace(ctx, "r/state.json", v1.Version, strings.NewReader("v2")); err != nil {
			t.Fatalf("Replace over the current version: %v", err)
		}
		got, v2 := read("r/state.json")
		if got != "v2" || v2.Version == v1.Version {
			t.Fatalf("after Replace: %q version %q (was %q)", got, v2.Version, v1.Version)
		}
		// A writer that read v1 must not overwrite v2.
		if err := s.Replace(ctx, "r/state.json", v1.Version, strings.NewReader("stale")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Replace over a stale version: %v, want ErrConflict", err)
		}
		if got, _ := read("r/state.json"); got != "v2" {
			t.Errorf("a stale Replace changed the object to %q", got)
		}
		if err := s.Replace(ctx, "r/missing.json", v1.Version, strings.NewReader("x")); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Replace of a missing object: %v, want ErrConflict", err)
		}
	})

	t.Run("missing objects", func(t *testing.T) {
		if _, _, err := s.Open(ctx, "nope/missing"); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("Open(missing): %v, want ErrNotExist", err)
		}
		if err := s.Delete(ctx, "nope/missing"); err != nil {
			t.Errorf("Delete(missing): %v, want nil", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.Create(ctx, "d/x", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "d/x"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Open(ctx, "d/x"); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("Open after Delete: %v", err)
		}
		// A deleted name can be created again.
		if err := s.Create(ctx, "d/x", strings.NewReader("y")); err != nil {
			t.Errorf("Create after Delete: %v", err)
		}
	})

	t.Run("list by prefix, in order, after, limit", func(t *testing.T) {
		names := []string{"l/k1/b", "l/k1/a", "l/k1/c/deep", "l/k2/a", "l/k10/a"}
		for _, n := range names {
			if err := s.Create(ctx, n, strings.NewReader(n)); err != nil {
				t.Fatal(err)
			}
		}
		list := func(prefix, after string, limit int) string {
			t.Helper()
			objs, err := s.List(ctx, prefix, after, limit)
			if err != nil {
				t.Fatalf("List(%q, %q, %d): %v", prefix, after, limit, err)
			}
			var got []string
			for _, o := range objs {
				if o.Size != int64(len(o.Name)) || o.Version == "" {
					t.Errorf("List entry %+v: want size %d and a version", o, len(o.Name))
				}
				got = append(got, o.Name)
			}
			return strings.Join(got, " ")
		}
		for _, c := range []struct {
			prefix, after string
			limit         int
			want          string
		}{
			{"l/k1/", "", 0, "l/k1/a l/k1/b l/k1/c/deep"},
			{"l/k1", "", 0, "l/k1/a l/k1/b l/k1/c/deep l/k10/a"},
			{"l/k1/", "l/k1/a", 0, "l/k1/b l/k1/c/deep"},
			{"l/", "", 2, "l/k1/a l/k1/b"},
			{"l/none/", "", 0, ""},
		} {
			if got := list(c.prefix, c.after, c.limit); got != c.want {
				t.Errorf("List(%q, after %q, limit %d) = %q, want %q", c.prefix, c.after, c.limit, got, c.want)
			}
		}
	})

	t.Run("large object streams", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		if err := s.Create(ctx, "big/one", bytes.NewReader(big)); err != nil {
			t.Fatal(err)
		}
		rc, obj, err := s.Open(ctx, "big/one")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, big) || obj.Size != int64(len(big)) {
			t.Fatalf("read back %d bytes (size %d, err %v), want %d", len(got), obj.Size, err, len(big))
		}
		if _, _, err := store.ReadAll(ctx, s, "big/one", 1000); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("ReadAll over its limit: %v, want ErrTooLarge", err)
		}
	})
}
