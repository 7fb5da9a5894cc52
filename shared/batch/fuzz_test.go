package batch_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
)

// FuzzRunFile feeds arbitrary files to RunFile: it never panics or fails, every non-blank
// line gets exactly one result line, and every result line is one JSON object.
func FuzzRunFile(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "lines.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, l := range bytes.Split(seed, []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte("\xef\xbb\xbf\r\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := batchtest.NewMemStore()
		s.Put("input/f.jsonl", data)
		r := batch.NewRunner(instant{}, s.Bucket, batch.Config{Concurrency: 2, InputPrefix: "input/", OutputPrefix: "output/"}, nil)
		if err := r.RunFile(t.Context(), s, "input/f.jsonl"); err != nil {
			t.Fatalf("RunFile: %v", err)
		}
		out, _ := s.Object("output/f.output.jsonl")
		errs, _ := s.Object("output/f.errors.jsonl")
		results := 0
		for _, file := range [][]byte{out, errs} {
			for _, l := range bytes.SplitAfter(file, []byte("\n")) {
				if len(l) == 0 {
					continue
				}
				var v map[string]json.RawMessage
				if l[len(l)-1] != '\n' || json.Unmarshal(l, &v) != nil || v["id"] == nil {
					t.Fatalf("bad result line %q", l)
				}
				results++
			}
		}
		want := 0
		for _, l := range bytes.Split(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				want++
			}
		}
		if results != want {
			t.Fatalf("%d result lines for %d non-blank lines", results, want)
		}
	})
}
