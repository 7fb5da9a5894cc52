package gemini

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestDecodeEmbedResponse pins the two ways an embedding answer is read: the Developer API's
// shape, compact or pretty-printed, by the scanner; anything else by encoding/json, with the
// same result.
func TestDecodeEmbedResponse(t *testing.T) {
	for _, c := range []struct {
		body    string
		scanned bool
		vectors []string
	}{
		{`{"embeddings":[{"values":[1,-2.5e-3]},{"values":[3]}]}`, true, []string{`[1,-2.5e-3]`, `[3]`}},
		{"{\n  \"embeddings\": [\n    {\n      \"values\": [\n        0.1,\n        -0.2\n      ]\n    }\n  ]\n}\n", true, []string{"[\n        0.1,\n        -0.2\n      ]"}},
		{`{"embeddings":[{"values":[1]}],"usageMetadata":{"promptTokenCount":3}}`, false, []string{`[1]`}},
		{`{"embeddings":[{"shape":[2],"values":[1,2]}]}`, false, []string{`[1,2]`}},
		{`{"embeddings":[{"values":[[1]]}]}`, false, []string{`[[1]]`}},
		{`{"predictions":[{"embeddings":{"values":[1],"statistics":{"token_count":2.0}}}]}`, false, nil},
	} {
		_, scanned := scanDeveloperEmbeddings([]byte(c.body))
		r, err := decodeEmbedResponse([]byte(c.body))
		if err != nil || scanned != c.scanned {
			t.Errorf("%s: scanned %v, err %v", c.body, scanned, err)
			continue
		}
		var got []string
		for _, e := range r.Embeddings {
			got = append(got, string(e.Values))
		}
		if len(got) != len(c.vectors) || (len(got) > 0 && got[len(got)-1] != c.vectors[len(c.vectors)-1]) {
			t.Errorf("%s: vectors %q, want %q", c.body, got, c.vectors)
		}
	}
	if _, err := decodeEmbedResponse([]byte(`<html>`)); err == nil {
		t.Error("HTML decoded as an embedding answer")
	}
}

// FuzzScanDeveloperEmbeddings: whenever the scanner accepts a body whose vectors are valid
// JSON, encoding/json reads the same vectors from it.
func FuzzScanDeveloperEmbeddings(f *testing.F) {
	for _, s := range []string{`{"embeddings":[{"values":[1,2]},{"values":[3]}]}`, "{ \"embeddings\" : [ { \"values\" : [ 1 ] } ] }",
		`{"embeddings":[{"values":[1]}]}x`, `{"embeddings":[]}`, `{"embeddings":[{"values":["]"]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		vecs, ok := scanDeveloperEmbeddings(b)
		if !ok {
			return
		}
		for _, v := range vecs {
			if !json.Valid(v.Values) {
				return // left to translate's check of each number
			}
		}
		var r EmbedResponse
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("scanner accepted %q that encoding/json refuses: %v", b, err)
		}
		if len(r.Embeddings) != len(vecs) {
			t.Fatalf("%q: scanner found %d vectors, encoding/json %d", b, len(vecs), len(r.Embeddings))
		}
		for i := range vecs {
			if !bytes.Equal(vecs[i].Values, r.Embeddings[i].Values) {
				t.Fatalf("%q: vector %d %q != %q", b, i, vecs[i].Values, r.Embeddings[i].Values)
			}
		}
	})
}
