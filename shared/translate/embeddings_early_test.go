package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/auth"

	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/internal/trickle"
	"github.com/geminigateway/gateway/shared/openai"
)

type fixedToken struct{}

func (fixedToken) Token(context.Context) (*auth.Token, error) { return &auth.Token{Value: "t"}, nil }

// earlyRun is one embeddings answer read and written twice: once watched while it arrives in
// pieces (the handler's way), once read whole with no early work.
type earlyRun struct {
	watched, plain       []byte
	watchedErr, plainErr error
	converted            int // vectors Watch converted before the end
}

// runEarly sends a request of inputs texts to an upstream answering body, n bytes per read.
// tamper, when not nil, changes the early work before the response is written; setup, when
// not nil, changes the translated request before the call.
func runEarly(t testing.TB, body []byte, vertex, base64 bool, inputs, n int, length bool, tamper func(*earlyVectors), setup ...func(*Embed)) earlyRun {
	t.Helper()
	o := gemini.Options{Backend: gemini.Developer, APIKey: "k", Retry: gemini.RetryPolicy{MaxAttempts: 1}}
	model := "gemini-embedding-001"
	if vertex {
		o = gemini.Options{Backend: gemini.Vertex, Project: "p", Location: "us-central1", Tokens: fixedToken{}, Retry: o.Retry}
		model = "text-embedding-005"
	}
	format := "float"
	if base64 {
		format = "base64"
	}
	texts := make([]string, inputs)
	for i := range texts {
		texts[i] = fmt.Sprint("text ", i)
	}
	reqBody, _ := json.Marshal(map[string]any{"model": model, "input": texts, "encoding_format": format})
	req, err := openai.DecodeEmbeddingRequest(reqBody)
	if err != nil {
		t.Fatal(err)
	}
	models, _ := NewModels("")
	var run earlyRun
	for _, watched := range []bool{true, false} {
		o.HTTPClient = &http.Client{Transport: trickle.Transport{Body: body, N: n, Length: length}}
		c, err := gemini.New(o)
		if err != nil {
			t.Fatal(err)
		}
		e, err := EmbeddingsToGemini(req, models, o.Backend)
		if err != nil || len(e.Calls) != 1 {
			t.Fatalf("%v, %d calls", err, len(e.Calls))
		}
		for _, f := range setup {
			f(e)
		}
		var out []byte
		var r *gemini.EmbedResponse
		if watched {
			r, err = c.EmbedWatched(t.Context(), e.Model, e.Calls[0].Body.AppendJSON(nil), e.Calls[0].Watch())
			run.converted = len(e.Calls[0].early.spans)
			if tamper != nil {
				tamper(e.Calls[0].early)
			}
		} else {
			r, err = c.Embed(t.Context(), e.Model, e.Calls[0].Body.AppendJSON(nil))
		}
		if err == nil {
			out, _, err = AppendEmbeddings(nil, e, []*gemini.EmbedResponse{r}, req.Model)
			r.Release()
		} else {
			e.Release()
		}
		if watched {
			run.watched, run.watchedErr = out, err
		} else {
			run.plain, run.plainErr = out, err
		}
	}
	return run
}

// same reports how the two ways differ, if they do: the same bytes, or errors with the same text.
func (r earlyRun) same() string {
	if (r.watchedErr == nil) != (r.plainErr == nil) || r.watchedErr != nil && r.watchedErr.Error() != r.plainErr.Error() {
		return fmt.Sprintf("errors differ: watched %v, plain %v", r.watchedErr, r.plainErr)
	}
	if !bytes.Equal(r.watched, r.plain) {
		return fmt.Sprintf("bodies differ:\nwatched %.300s\nplain   %.300s", r.watched, r.plain)
	}
	return ""
}

// devAnswer is a compact batchEmbedContents answer of n emulator vectors of dim values.
func devAnswer(n, dim int) []byte {
	var b strings.Builder
	b.WriteString(`{"embeddings":[`)
	for i := range n {
		v, _ := json.Marshal(emulator.Vector(fmt.Sprint(i), dim))
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"values":%s}`, v)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestEarlyVectorsSameResponse pins that converting vectors while the answer arrives changes
// nothing in the response, whatever the pieces it arrives in, on both backends and formats:
// compact answers (all converted early), pretty-printed ones (none), answers with decoy
// "values" arrays in members the decoder skips, answers the decoder leaves to encoding/json,
// and broken ones (the same error); written in place (a request of one call) or not.
func TestEarlyVectorsSameResponse(t *testing.T) {
	vertexBody := `{"predictions":[` +
		`{"embeddings":{"statistics":{"truncated":false,"token_count":4},"values":[0.25,-0.5,1e-7]},"extra":{"values":[9,9,9]}},` +
		`{"note":{"values":[1]},"embeddings":{"values":[-0.0123456789,0.75,3],"statistics":{"token_count":2}}}],` +
		`"metadata":{"values":[7,7,7]},"deployedModelId":"x"}`
	cases := []struct {
		name      string
		body      string
		vertex    bool
		inputs    int
		converted int // vectors converted early when the answer arrives in small pieces
	}{
		{"developer", string(devAnswer(5, 768)), false, 5, 5},
		{"developer pretty", "{\n  \"embeddings\": [\n    {\n      \"values\": [\n        0.1,\n        -0.2\n      ]\n    }\n  ]\n}\n", false, 1, 0},
		{"developer short numbers", `{"embeddings":[{"values":[1,2,3,-4,5e3,0]},{"values":[0.1]}]}`, false, 2, 2},
		{"developer to encoding/json", `{"embeddings":[{"values":[0.5,0.25]}],"usageMetadata":{"promptTokenCount":3}}`, false, 1, 1},
		{"developer broken number", `{"embeddings":[{"values":[0.5,1.2.3]},{"values":[0.1]}]}`, false, 2, 1},
		{"developer too few", `{"embeddings":[{"values":[0.5]}]}`, false, 2, 1},
		{"developer truncated", `{"embeddings":[{"values":[0.5]},{"values":[0.1`, false, 2, 1},
		{"vertex with decoys", vertexBody, true, 2, 5},
		{"vertex pretty", "{\"predictions\": [{\"embeddings\": {\"values\": [0.5, 0.25]}}]}", true, 1, 0},
	}
	for _, c := range cases {
		for _, base64 := range []bool{false, true} {
			for _, n := range []int{1, 3, 17, 4096, 1 << 22} {
				for _, length := range []bool{true, false} {
					// solo false: as one of several calls, with the conversions kept aside.
					r := runEarly(t, []byte(c.body), c.vertex, base64, c.inputs, n, length, nil, func(e *Embed) { e.Calls[0].solo = n%2 == 1 })
					if d := r.same(); d != "" {
						t.Fatalf("%s, base64 %v, %d bytes a read, length %v: %s", c.name, base64, n, length, d)
					}
					want := c.converted
					if n == 1<<22 && length {
						want = 0 // one read: nothing arrives before the end
					}
					if n == 1 && r.converted != want {
						t.Errorf("%s, base64 %v: %d vectors converted early, want %d", c.name, base64, r.converted, want)
					}
				}
			}
		}
	}
}

// TestEarlyConversionsAreUsed shows that the early conversions are what the response is made
// of: a conversion changed after the fact shows in the response (the reverse of
// TestEarlyVectorsSameResponse, which could pass with the early work ignored), whether the
// response was written in place (a request of one call) or from the conversions kept aside.
func TestEarlyConversionsAreUsed(t *testing.T) {
	body := devAnswer(3, 16)
	for _, base64 := range []bool{false, true} {
		for _, solo := range []bool{true, false} {
			r := runEarly(t, body, false, base64, 3, 64, true, func(x *earlyVectors) {
				if len(x.spans) < 2 || x.inPlace != solo {
					t.Fatalf("%d vectors converted early, in place %v", len(x.spans), x.inPlace)
				}
				s := x.spans[1]
				if !solo && !base64 {
					return // nothing kept: the vector goes out as it came, checked
				}
				copy(x.out[s.from+1:s.to-1], bytes.Repeat([]byte("7"), s.to-s.from-2))
			}, func(e *Embed) { e.Calls[0].solo = solo })
			if !solo && !base64 {
				if d := r.same(); d != "" {
					t.Error(d)
				}
				continue
			}
			if !bytes.Contains(r.watched, []byte(`"index":1,"embedding":"7777777`)) && !bytes.Contains(r.watched, []byte(`"index":1,"embedding":[7777777`)) {
				t.Errorf("base64 %v, in place %v: the changed conversion is not in the response: %.300s", base64, solo, r.watched)
			}
		}
	}
}

// FuzzEarlyVectors: whatever the answer and the pieces it arrives in, the response (or the
// error) is the one written with no early work.
func FuzzEarlyVectors(f *testing.F) {
	f.Add(devAnswer(2, 8), uint16(5), false, false, true)
	f.Add(devAnswer(3, 4), uint16(1), true, false, false)
	f.Add([]byte(`{"embeddings":[{"values":[0.5,1e400]},{"values":[-0.]}]}`), uint16(2), true, false, true)
	f.Add([]byte(`{"predictions":[{"embeddings":{"values":[0.5],"statistics":{"token_count":1}},"x":{"values":[1]}}]}`), uint16(3), true, true, true)
	f.Add([]byte(`{"predictions":[{"embeddings":{"values":[0.5]},"embeddings":{"values":[2]}}]}`), uint16(4), false, true, false)
	f.Fuzz(func(t *testing.T, body []byte, n uint16, base64, vertex, length bool) {
		inputs := min(max(bytes.Count(body, []byte(`"values"`)), 1), 100)
		r := runEarly(t, body, vertex, base64, inputs, int(n%512)+1, length, nil, func(e *Embed) { e.Calls[0].solo = n&512 == 0 })
		if d := r.same(); d != "" {
			t.Fatal(d)
		}
	})
}
