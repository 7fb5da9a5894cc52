package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTrip decodes the JSON b into a T, encodes it back and compares both as generic JSON:
// every documented field must have a place in our types and keep its value.
func roundTrip[T any](t *testing.T, name string, b []byte) {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s: round trip changed it (-documented +ours):\n%s", name, d)
	}
}

// TestBatchWireSamples pins the batch object and the input and output line formats to the
// samples of OpenAI's reference.
func TestBatchWireSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/batch-object.json")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[Batch](t, "batch-object.json", b)
	for _, f := range []string{"batch-input.jsonl", "batch-output.jsonl"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if f == "batch-input.jsonl" {
				roundTrip[BatchInputLine](t, f+" line "+string(rune('1'+i)), line)
			} else {
				roundTrip[BatchOutputLine](t, f+" line "+string(rune('1'+i)), line)
			}
		}
	}
}

// TestFileWireSamples pins the file object and the list answer to OpenAI's reference samples.
func TestFileWireSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/file-object.json")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[FileObject](t, "file-object.json", b)
	b, err = os.ReadFile("testdata/file-list.json")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[FileList](t, "file-list.json", b)
}
