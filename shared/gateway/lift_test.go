package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

var bigB64 = strings.Repeat("QUJD", liftMin/4+3)

// liftSeeds returns bodies with the base64 text b in every place the lift looks, and in places it
// must not touch (keys, text, a model name, escaped strings).
func liftSeeds(bigB64 string) []string {
	return []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + bigB64 + `=="}}]}]}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":"data:image/png;base64,` + bigB64 + `"},{"type":"input_audio","input_audio":{"data":"` + bigB64 + `","format":"wav"}},{"type":"file","file":{"file_data":"` + bigB64 + `","filename":"a.pdf"}}]}]}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"{}","extra_content":{"google":{"parts":[{"inline_data":{"mime_type":"image/png","data":"` + bigB64 + `"}}]}}}]}`,
		`{"model":"` + bigB64 + `","messages":[{"role":"user","content":"` + bigB64 + `"}]}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + bigB64 + `","detail":"huge"}}]}]}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x \"` + bigB64 + `\" y","format":"wav"}}]}]}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"` + bigB64 + `==="}}]}]}`,
		`{"` + bigB64 + `":1}`, `{"short":"QUJD"}`, `[]`, `{"messages":`,
	}
}

// upstreamBytes is what prepare sends upstream for body, lifting runs of at least min bytes, or
// the error it refuses the body with (without prepare's unlifted retry).
func upstreamBytes(t testing.TB, body []byte, min int, opt translate.RequestOptions) ([]byte, error) {
	models, _ := translate.NewModels("")
	lbody, lb := liftBlobs(body, min)
	_, tr, err := translateBody(context.Background(), lbody, openai.DefaultLimits, models, opt)
	if err != nil {
		if lb.contains([]byte(err.Error())) {
			t.Errorf("error shows a lift placeholder: %v", err)
		}
		return nil, err
	}
	enc, err := encodeRequest(tr, len(lbody))
	if err != nil {
		t.Fatal(err)
	}
	return lb.splice(enc), nil
}

// TestLiftedAndUnliftedAgree runs every request golden of translate (and the lift seeds) through
// the lifted and the unlifted paths, lifting every payload of one byte or more, and requires the
// same upstream bytes, or the same error, with no placeholder in it (issue 10).
func TestLiftedAndUnliftedAgree(t *testing.T) {
	files, _ := filepath.Glob("../translate/testdata/requests/*.json")
	type tc struct {
		name string
		body []byte
		opt  translate.RequestOptions
	}
	var cases []tc
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wrap struct {
			Options translate.RequestOptions `json:"_options"`
			Request json.RawMessage          `json:"request"`
		}
		if err := json.Unmarshal(raw, &wrap); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{filepath.Base(f), wrap.Request, wrap.Options})
	}
	if len(cases) < 10 {
		t.Fatalf("only %d request goldens found", len(cases))
	}
	for i, s := range liftSeeds(bigB64) {
		cases = append(cases, tc{"seed" + string(rune('a'+i)), []byte(s), translate.RequestOptions{Backend: "gemini"}})
	}
	lifts := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := upstreamBytes(t, c.body, len(c.body)+1, c.opt) // nothing lifted
			if _, lb := liftBlobs(c.body, 1); lb != nil {
				lifts++
			}
			got, gotErr := upstreamBytes(t, c.body, 1, c.opt)
			if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
				t.Fatalf("unlifted error %v, lifted error %v", wantErr, gotErr)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("upstream bytes differ (-unlifted +lifted):\n%s", d)
			}
		})
	}
	if lifts < 5 {
		t.Errorf("only %d cases had anything lifted", lifts)
	}
}

// FuzzLift pins the properties the lift relies on: it never modifies its input, splicing the
// lifted body itself gives back the original bytes, lifting never turns valid JSON into invalid
// JSON or back, and the lifted body translates to the same upstream bytes or the same error.
func FuzzLift(f *testing.F) {
	for _, s := range liftSeeds("QUJDQUJD") { // small: the fuzz target lifts runs of 4 bytes
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		out, l := liftBlobs(body, 4)
		if !bytes.Equal(body, orig) {
			t.Fatal("liftBlobs modified its input")
		}
		if got := l.splice(out); !bytes.Equal(got, orig) {
			t.Fatalf("splice(lift(b)) != b")
		}
		if json.Valid(orig) != json.Valid(out) {
			t.Fatalf("lifting changed validity")
		}
		opt := translate.RequestOptions{Backend: "gemini"}
		want, wantErr := upstreamBytes(t, body, len(body)+1, opt)
		got, gotErr := upstreamBytes(t, body, 4, opt)
		var e *openai.Error
		if gotErr != nil && !errors.As(gotErr, &e) {
			t.Fatalf("lifted error is not an *openai.Error: %v", gotErr)
		}
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("unlifted error %v, lifted error %v", wantErr, gotErr)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("upstream bytes differ:\n%s\n%s", want, got)
		}
	})
}

// TestLiftSkipsSmallBodies pins that ordinary requests are passed through untouched.
func TestLiftSkipsSmallBodies(t *testing.T) {
	b := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	out, l := liftBlobs(b, liftMin)
	if l != nil || &out[0] != &b[0] {
		t.Error("small body was copied or lifted")
	}
}

// BenchmarkLift measures the lift alone on a request with an 8 MiB base64 image.
func BenchmarkLift(b *testing.B) {
	body := []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` +
		strings.Repeat("iVBO", 2<<20) + `"}}]}]}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, l := liftBlobs(body, liftMin); l == nil {
			b.Fatal("nothing lifted")
		}
	}
}
