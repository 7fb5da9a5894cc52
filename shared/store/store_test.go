package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/store/storetest"
)

// TestDir runs the Store contract on a local folder.
func TestDir(t *testing.T) {
	d, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, d)
}

// TestDirRefusesEscapingNames pins that no name reaches outside the folder or a temporary file.
func TestDirRefusesEscapingNames(t *testing.T) {
	root := t.TempDir()
	d, err := store.NewDir(filepath.Join(root, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../escape", "a/../../escape", "/abs", "a//b", "a/./b", "a/", "a\\b", "a/.tmp-x", "nul\x00"} {
		if err := d.Create(t.Context(), name, strings.NewReader("x")); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was written outside the folder: %v", err)
	}
}

// TestSegment pins that Segment is one to one and never yields a path-significant segment.
func TestSegment(t *testing.T) {
	seen := map[string]string{}
	for _, s := range []string{"", "a", "A-b_c.d", "../x", "..", ".", ".work", "a/b", "a~2fb", "~", "é", "a b", "a%2Fb"} {
		got := store.Segment(s)
		if err := store.CheckName(got); err != nil {
			t.Errorf("Segment(%q) = %q is not a valid name: %v", s, got, err)
		}
		if strings.ContainsAny(got, "/\\") || strings.HasPrefix(got, ".") {
			t.Errorf("Segment(%q) = %q", s, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("Segment(%q) = Segment(%q) = %q", s, prev, got)
		}
		seen[got] = s
	}
	if got := store.Segment("batch_01-x.jsonl"); got != "batch_01-x.jsonl" {
		t.Errorf("plain id escaped: %q", got)
	}
}
