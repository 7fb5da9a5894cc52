package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/internal/trickle"
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
		if c.vectors == nil {
			continue // read by scanPredictions: TestScanPredictions
		}
		_, scanned := scanDeveloperEmbeddings([]byte(c.body), nil)
		r, _, err := decodeEmbedResponse([]byte(c.body), nil)
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
	if _, _, err := decodeEmbedResponse([]byte(`<html>`), nil); err == nil {
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
		vecs, ok := scanDeveloperEmbeddings(b, nil)
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

// vertexPredictAnswer is the response body of the Text embeddings API's documented sample
// (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api,
// values shortened, as in shared/translate/testdata/embeddings/vertex.predict.response.json),
// with the top-level metadata.billableCharacterCount that client type definitions of the
// predict response list besides predictions.
const vertexPredictAnswer = `{
  "predictions": [
    {
      "embeddings": {
        "statistics": {
          "truncated": false,
          "token_count": 6
        },
        "values": [
          0.0058424357,
          -0.040881567,
          0.0058837277
        ]
      }
    }
  ],
  "metadata": {
    "billableCharacterCount": 29
  }
}`

// predictSeeds are the shapes FuzzScanPredictions starts from: the documented answer, compact,
// and the spellings and values that must be left to encoding/json.
var predictSeeds = []string{
	vertexPredictAnswer,
	`{"predictions":[{"embeddings":{"values":[1,-2.5e-3],"statistics":{"truncated":true,"token_count":6.0}}},{"embeddings":{"statistics":{"tokenCount":3},"values":[3]}}],"deployedModelId":"x","metadata":{"billableCharacterCount":2}}`,
	`{"predictions":[]}`,
	`{"predictions":null}`,
	`{"Predictions":[{"embeddings":{"values":[1]}}]}`,
	`{"predictions":[{"embeddings":{"VALUES":[1]}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"statistics":{"Token_Count":2}}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"statistics":{"tokencount":2}}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"statistics":{"token_count":"2"}}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"statistics":{"token_count":1e400}}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"statistics":null}}]}`,
	`{"predictions":[{"embeddings":{"values":[1],"values":[2]}}]}`,
	`{"predictions":[{"embeddings":{"values":[1]}}],"predictions":[]}`,
	`{"predictions":[{"embeddings":{"values":["]"]}}]}`,
	`{"predictions":[{"embeddings":{"values":[1]}}],"x":[1,}`,
	`{"predictions":[{"embeddings":{"values":[1]}}]} x`,
	`{"pr\u0065dictions":[{"embeddings":{"values":[1]}}]}`,
	`{"embeddings":[{"values":[1]}],"predictions":[{"embeddings":{"values":[2]}}]}`,
}

// TestScanPredictions pins the Vertex reader on the documented answer (vector and token count)
// and on the shapes it leaves to encoding/json, which then decodes them as before.
func TestScanPredictions(t *testing.T) {
	preds, ok := scanPredictions([]byte(vertexPredictAnswer), nil)
	if !ok || len(preds) != 1 {
		t.Fatalf("documented answer: ok %v, %d predictions", ok, len(preds))
	}
	e := preds[0].Embeddings
	if want := "[\n          0.0058424357,\n          -0.040881567,\n          0.0058837277\n        ]"; string(e.Values) != want {
		t.Errorf("values %q, want %q", e.Values, want)
	}
	if e.Statistics == nil || e.Statistics.Tokens() != 6 || e.Statistics.Truncated {
		t.Errorf("statistics %+v", e.Statistics)
	}
	for _, s := range predictSeeds[4:] {
		if _, ok := scanPredictions([]byte(s), nil); ok && s != `{"predictions":[{"embeddings":{"values":["]"]}}]}` {
			t.Errorf("%s: read by hand, want it left to encoding/json", s)
		}
	}
	r, aliased, err := decodeEmbedResponse([]byte(predictSeeds[1]), nil)
	if err != nil || !aliased || len(r.Predictions) != 2 || r.Predictions[1].Embeddings.Statistics.Tokens() != 3 {
		t.Errorf("compact answer: %+v, %v", r, err)
	}
}

// FuzzScanPredictions: whenever the Vertex reader takes a body, encoding/json decodes the same
// predictions from it (values byte for byte, statistics field for field), or both end in an
// error: a vector that is not an array of numbers is refused later by translate either way.
func FuzzScanPredictions(f *testing.F) {
	for _, s := range predictSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		preds, ok := scanPredictions(b, nil)
		if !ok {
			return // encoding/json decodes it
		}
		for _, p := range preds {
			if !numberArray(p.Embeddings.Values) {
				return // refused by translate, as encoding/json's reading is refused by it or itself
			}
		}
		var r EmbedResponse
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("reader took %q, which encoding/json refuses: %v", b, err)
		}
		if r.Embeddings != nil {
			t.Fatalf("reader took %q, where encoding/json also finds embeddings", b)
		}
		if len(r.Predictions) != len(preds) {
			t.Fatalf("%q: reader found %d predictions, encoding/json %d", b, len(preds), len(r.Predictions))
		}
		for i := range preds {
			got, want := preds[i].Embeddings, r.Predictions[i].Embeddings
			if !bytes.Equal(got.Values, want.Values) {
				t.Fatalf("%q: prediction %d values %q, encoding/json %q", b, i, got.Values, want.Values)
			}
			if d := cmp.Diff(want.Statistics, got.Statistics); d != "" {
				t.Fatalf("%q: prediction %d statistics (-encoding/json +reader):\n%s", b, i, d)
			}
		}
	})
}

// numberArray reports whether v is a non-empty JSON array of numbers, what translate accepts.
func numberArray(v []byte) bool {
	var nums []json.Number
	if json.Unmarshal(v, &nums) != nil || len(nums) == 0 || bytes.TrimSpace(v)[0] != '[' {
		return false
	}
	for _, n := range nums {
		if c := n[0]; c != '-' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// FuzzEmbedBodyJSON: both embedding request bodies are written byte for byte as the gateway's
// encoding/json encoder writes them (less its newline), whatever the texts hold.
func FuzzEmbedBodyJSON(f *testing.F) {
	f.Add("What is the meaning of life?", "RETRIEVAL_DOCUMENT", "a <title> & \"more\"", 768, uint8(3))
	f.Add("tab\there\u2028\xff\x01", "", "", 0, uint8(0))
	f.Add("", "X", "é", -1, uint8(255))
	f.Fuzz(func(t *testing.T, text, task, title string, dims int, flags uint8) {
		var od *int
		if flags&1 != 0 {
			od = &dims
		}
		truncate := flags&4 != 0
		var at *bool
		if flags&2 != 0 {
			at = &truncate
		}
		texts := []string{text, title, task, ""}
		dev := &BatchEmbedRequest{}
		pred := &PredictRequest{}
		if flags&8 == 0 {
			for _, s := range texts {
				dev.Requests = append(dev.Requests, EmbedContentRequest{Model: "models/" + task, Content: Content{Parts: []Part{{Text: s}}},
					TaskType: task, Title: title, OutputDimensionality: od})
				pred.Instances = append(pred.Instances, EmbedInstance{Content: s, TaskType: task, Title: title})
			}
		}
		if flags&16 != 0 {
			dev.Requests = append(dev.Requests, EmbedContentRequest{Content: Content{Role: title, Parts: []Part{{Text: text, Thought: true}, {}}}})
		}
		if flags&32 != 0 {
			dev.Requests = append(dev.Requests, EmbedContentRequest{Content: Content{}})
		}
		if od != nil || at != nil || flags&64 != 0 {
			pred.Parameters = &EmbedParameters{OutputDimensionality: od, AutoTruncate: at}
		}
		for _, body := range []EmbedBody{dev, pred} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(body); err != nil {
				t.Fatal(err)
			}
			if got := body.AppendJSON([]byte("x")); string(got) != "x"+strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got[1:], want.Bytes())
			}
		}
	})
}

// TestEmbedReleaseReuse pins the answer buffers' contract: an answer's vectors stay its own
// until Release, after which the buffer serves the next answer and the released answer holds
// nothing; answers read by encoding/json are copies and Release is a no-op on them.
func TestEmbedReleaseReuse(t *testing.T) {
	answers := []string{`{"embeddings":[{"values":[0.5,-0.25]}]}`, `{"embeddings":[{"values":[0.125]}]}`,
		`{"embeddings":[{"values":[1]}],"usageMetadata":{}}`}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/models/gemini-embedding-001:batchEmbedContents") || r.URL.Query().Get("prettyPrint") != "false" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, answers[n%len(answers)])
		n++
	}))
	defer srv.Close()
	c, err := New(Options{Backend: Developer, BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	embed := func() *EmbedResponse {
		r, err := c.Embed(t.Context(), "gemini-embedding-001", []byte(`{"requests":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1 := embed()
	r2 := embed() // while r1 is held: its own buffer
	if string(r1.Embeddings[0].Values) != `[0.5,-0.25]` || string(r2.Embeddings[0].Values) != `[0.125]` {
		t.Fatalf("held answers %s, %s", r1.Embeddings[0].Values, r2.Embeddings[0].Values)
	}
	r1.Release()
	r2.Release()
	if r1.Embeddings != nil || r1.body != nil {
		t.Errorf("released answer still holds %v", r1.Embeddings)
	}
	r3 := embed() // read by encoding/json: a copy, whose buffer went back at once
	if r3.body != nil || string(r3.Embeddings[0].Values) != `[1]` {
		t.Errorf("encoding/json answer: body kept %v, values %s", r3.body != nil, r3.Embeddings[0].Values)
	}
	r3.Release()
	r4 := embed()
	if string(r4.Embeddings[0].Values) != `[0.5,-0.25]` {
		t.Errorf("reused buffer gives %s", r4.Embeddings[0].Values)
	}
	r4.Release()
	r4.Release() // twice is harmless
}

// TestEmbedWatched pins what EmbedWatched shows its watch function: every prefix the reads
// leave, growing, each the answer's own bytes; never the whole answer when its length is
// declared; nothing of an error answer. The vectors' offsets are where they are in those bytes.
func TestEmbedWatched(t *testing.T) {
	body := []byte(`{"embeddings":[{"values":[0.5,-0.25]},{"values":[1e-3]}]}`)
	for _, length := range []bool{true, false} {
		c, err := New(Options{Backend: Developer, APIKey: "k", HTTPClient: &http.Client{Transport: trickle.Transport{Body: body, N: 5, Length: length}}})
		if err != nil {
			t.Fatal(err)
		}
		w := &recorder{t: t, body: body}
		r, err := c.EmbedWatched(t.Context(), "gemini-embedding-001", []byte(`{}`), w)
		seen := w.seen
		if err != nil {
			t.Fatal(err)
		}
		// At most five bytes a read (fewer where the pooled buffer's capacity ends a read): every
		// prefix, growing by 1 to 5 bytes, up to the last read; the whole answer only when its
		// length is undeclared (the reader learns of the end one read later).
		ok := len(seen) > 0 && seen[0] <= 5 && seen[len(seen)-1] >= len(body)-5
		for k := 1; k < len(seen); k++ {
			ok = ok && seen[k]-seen[k-1] >= 1 && seen[k]-seen[k-1] <= 5
		}
		if !ok || length && seen[len(seen)-1] >= len(body) {
			t.Errorf("length %v: watch saw prefixes %v of %d bytes", length, seen, len(body))
		}
		for j, want := range []string{`[0.5,-0.25]`, `[1e-3]`} {
			at, ok := r.Embeddings[j].Offset()
			if !ok || string(body[at:at+len(want)]) != want || string(r.Embeddings[j].Values) != want {
				t.Errorf("vector %d: offset %d %v, values %s", j, at, ok, r.Embeddings[j].Values)
			}
		}
		r.Release()
	}
	c, err := New(Options{Backend: Developer, APIKey: "k", Retry: RetryPolicy{MaxAttempts: 1},
		HTTPClient: &http.Client{Transport: trickle.Transport{Status: 400, Body: []byte(`{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}`), N: 3, Length: true}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &recorder{t: t, body: []byte("-")}
	if _, err := c.EmbedWatched(t.Context(), "m", []byte(`{}`), w); err == nil || len(w.seen) > 0 {
		t.Errorf("a 400: error %v, watched %v", err, w.seen)
	}
	// Read by encoding/json (a member the scanner does not take): no offsets.
	c, _ = New(Options{Backend: Developer, APIKey: "k", HTTPClient: &http.Client{Transport: trickle.Transport{Body: []byte(`{"embeddings":[{"values":[1]}],"usageMetadata":{}}`), N: 4, Length: true}}})
	r, err := c.EmbedWatched(t.Context(), "m", []byte(`{}`), &recorder{t: t, body: []byte(`{"embeddings":[{"values":[1]}],"usageMetadata":{}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Embeddings[0].Offset(); ok {
		t.Error("a vector encoding/json copied has an offset")
	}
}

// recorder is a Watcher that checks each prefix it is shown against body and keeps its length.
type recorder struct {
	t    *testing.T
	body []byte
	seen []int
	ends map[int]int // VectorEnd's answers
}

func (w *recorder) Arrived(sofar []byte) {
	if !bytes.HasPrefix(w.body, sofar) || len(w.seen) > 0 && len(sofar) <= w.seen[len(w.seen)-1] {
		w.t.Errorf("watch saw %q after %v", sofar, w.seen)
	}
	w.seen = append(w.seen, len(sofar))
}

func (w *recorder) VectorEnd(start int) (int, bool) {
	end, ok := w.ends[start]
	return end, ok
}

// TestDecodeTakesWatcherEnds pins that the decoder takes a vector's end from the Watcher that
// saw it arrive rather than looking again (an end it is told is taken as told), in both shapes,
// and looks for itself where the Watcher does not know or answers out of range.
func TestDecodeTakesWatcherEnds(t *testing.T) {
	dev := []byte(`{"embeddings":[{"values":[1,2]},{"values":[3]}]}`)
	w := &recorder{ends: map[int]int{25: 28}} // vector 0 "[1,2]" starts at 25; told it ends after "[1,"
	if _, ok := scanDeveloperEmbeddings(dev, w); ok {
		t.Error("the told end was not taken: the scan went on past '[1,' as if it had looked")
	}
	w.ends = map[int]int{25: 30, 42: 45}
	vecs, ok := scanDeveloperEmbeddings(dev, w)
	if !ok || string(vecs[0].Values) != "[1,2]" || string(vecs[1].Values) != "[3]" {
		t.Errorf("with the right ends: %v %+v", ok, vecs)
	}
	w.ends = map[int]int{25: 1 << 20} // out of range: looked for
	if vecs, ok := scanDeveloperEmbeddings(dev, w); !ok || string(vecs[0].Values) != "[1,2]" {
		t.Errorf("with an end out of range: %v %+v", ok, vecs)
	}
	pred := []byte(`{"predictions":[{"embeddings":{"values":[0.5,0.25]}}]}`)
	at := bytes.Index(pred, []byte("[0.5"))
	w.ends = map[int]int{at: at + 5} // "[0.5," : not an array's end
	if _, ok := scanPredictions(pred, w); ok {
		t.Error("predictions: the told end was not taken")
	}
	w.ends = map[int]int{at: at + 10}
	if preds, ok := scanPredictions(pred, w); !ok || string(preds[0].Embeddings.Values) != "[0.5,0.25]" {
		t.Errorf("predictions with the right end: %v %v", ok, preds)
	}
}

// FuzzJSONNumber: jsonNumber says of a literal what json.Valid says of it when it is a number
// (one that starts like a number and ends with a digit: SkipValue leaves no space around it).
func FuzzJSONNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "12", "012", "1.", "1.5", "-1.5e+3", "1e", "1E-07", "-", "", "1.5x", " 1", "6.0", "--1", "0.0e0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		want := json.Valid(lit) && len(lit) > 0 && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9') &&
			lit[len(lit)-1] >= '0' && lit[len(lit)-1] <= '9'
		if got := jsonNumber(lit); got != want {
			t.Fatalf("jsonNumber(%q) = %v, json.Valid says %v", lit, got, want)
		}
	})
}
