package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

func embedReq(t *testing.T, body string) *openai.EmbeddingRequest {
	t.Helper()
	req, err := openai.DecodeEmbeddingRequest([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return req
}

func readJSON(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "embeddings", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// asJSON re-reads v's encoding as generic JSON, so key order and layout do not matter.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func readEmbedResponse(t *testing.T, name string) *gemini.EmbedResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "embeddings", name))
	if err != nil {
		t.Fatal(err)
	}
	var r gemini.EmbedResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestEmbedDocumentedSamples pins both backends against Google's documented samples: the
// OpenAI request that says the same thing encodes to the documented request, and the documented
// response becomes the golden OpenAI body, float and base64.
func TestEmbedDocumentedSamples(t *testing.T) {
	models, _ := NewModels("")
	// The documented samples are named whole, so the check that every sample is read finds them.
	cases := []struct {
		name              string
		request, response string
		backend           gemini.Backend
		openai            string
	}{
		{"developer.batchEmbedContents", "developer.batchEmbedContents.request.json", "developer.batchEmbedContents.response.json", gemini.Developer,
			`{"model":"gemini-embedding-001","input":["What is the meaning of life?","How much wood would a woodchuck chuck?","How does the brain work?"]}`},
		{"vertex.predict", "vertex.predict.request.json", "vertex.predict.response.json", gemini.Vertex,
			`{"model":"google/text-embedding-005","input":"I would like embeddings for this text!","extra_body":{"google":{"task_type":"RETRIEVAL_DOCUMENT","title":"document title"}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := EmbeddingsToGemini(embedReq(t, c.openai), models, c.backend)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Calls) != 1 {
				t.Fatalf("%d calls, want 1", len(e.Calls))
			}
			if d := cmp.Diff(readJSON(t, c.request), asJSON(t, e.Calls[0].Body)); d != "" {
				t.Errorf("request differs from the documented one (-want +got):\n%s", d)
			}
			resp := readEmbedResponse(t, c.response)
			for _, format := range []string{"float", "base64"} {
				e.Base64 = format == "base64"
				body, _, err := AppendEmbeddings(nil, e, []*gemini.EmbedResponse{resp}, "client-model")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("embeddings", "golden", c.name+".openai."+format+".golden.json"), body)
			}
		})
	}
}

// TestEmbedValuesExact pins that float values go out as the literals Google sent and base64
// holds each literal rounded once to float32, little-endian, as OpenAI's SDKs decode it.
func TestEmbedValuesExact(t *testing.T) {
	resp := readEmbedResponse(t, "developer.batchEmbedContents.response.json")
	e := &Embed{Model: "gemini-embedding-001", Inputs: 3, Calls: []EmbedCall{{First: 0, N: 3}}}
	for _, b64 := range []bool{false, true} {
		e.Base64 = b64
		body, _, err := AppendEmbeddings(nil, e, []*gemini.EmbedResponse{resp}, "m")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Data []struct {
				Vector json.RawMessage `json:"embedding"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &list); err != nil || len(list.Data) != 3 {
			t.Fatalf("%s: %v", body, err)
		}
		for i, d := range list.Data {
			var lits []json.Number
			if err := json.Unmarshal(resp.Embeddings[i].Values, &lits); err != nil {
				t.Fatal(err)
			}
			if !b64 {
				want := "[" + joinNumbers(lits) + "]"
				if string(d.Vector) != want {
					t.Errorf("float vector %d = %s, want %s", i, d.Vector, want)
				}
				continue
			}
			var s string
			if err := json.Unmarshal(d.Vector, &s); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(raw) != 4*len(lits) {
				t.Fatalf("base64 vector %d: %v, %d bytes for %d values", i, err, len(raw), len(lits))
			}
			for j, lit := range lits {
				want, _ := strconv.ParseFloat(lit.String(), 32)
				got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
				if got != float32(want) {
					t.Errorf("vector %d value %d = %v, want %v (%s)", i, j, got, float32(want), lit)
				}
			}
		}
	}
}

func joinNumbers(ns []json.Number) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}

// callSummary is what TestEmbedSplitGolden records of a call: its range and body.
type callSummary struct {
	First int `json:"first"`
	N     int `json:"n"`
	Body  any `json:"body"`
}

func texts(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%q", fmt.Sprintf("text %d", i))
	}
	return "[" + strings.Join(s, ",") + "]"
}

// TestEmbedSplitGolden pins the split of each backend and model within its per-call limit, in
// input order, with dimensions, task type and title on every piece.
func TestEmbedSplitGolden(t *testing.T) {
	models, _ := NewModels("")
	cases := []struct {
		name    string
		backend gemini.Backend
		body    string
	}{
		{"developer-205-inputs", gemini.Developer,
			`{"model":"gemini-embedding-001","input":` + texts(205) + `,"dimensions":256,"google":{"task_type":"retrieval_document","title":"Doc"}}`},
		{"vertex-gemini-embedding-one-per-call", gemini.Vertex,
			`{"model":"gemini-embedding-001","input":` + texts(3) + `,"dimensions":768,"google":{"task_type":"CODE_RETRIEVAL_QUERY","auto_truncate":false}}`},
		{"vertex-text-embedding-252-inputs", gemini.Vertex,
			`{"model":"text-multilingual-embedding-002","input":` + texts(252) + `,"encoding_format":"base64","google":{"task_type":"CLUSTERING"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := EmbeddingsToGemini(embedReq(t, c.body), models, c.backend)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]callSummary, len(e.Calls))
			for i, call := range e.Calls {
				got[i] = callSummary{First: call.First, N: call.N, Body: call.Body}
			}
			golden(t, filepath.Join("embeddings", "golden", "split."+c.name+".golden.json"), indent(t, map[string]any{
				"model": e.Model, "inputs": e.Inputs, "base64": e.Base64, "vertex": e.Vertex, "calls": got}))
		})
	}
}

// TestEmbedTokenCapSplit pins Vertex's 20,000-token cap per call for the text-embedding
// models: inputs are counted at one token per byte at most, and an input over the cap alone
// still goes, alone, for Google to judge.
func TestEmbedTokenCapSplit(t *testing.T) {
	models, _ := NewModels("")
	big := strings.Repeat("a", 8000)
	in := []string{big, big, big, "small", strings.Repeat("b", 25000), "tail"}
	b, _ := json.Marshal(map[string]any{"model": "text-embedding-005", "input": in})
	e, err := EmbeddingsToGemini(embedReq(t, string(b)), models, gemini.Vertex)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int
	for _, c := range e.Calls {
		got = append(got, [2]int{c.First, c.N})
	}
	want := [][2]int{{0, 2}, {2, 2}, {4, 1}, {5, 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("calls (first, n) (-want +got):\n%s", d)
	}
}

// TestEmbedRequestErrors pins the 4xx answers of the translation, each naming its parameter.
func TestEmbedRequestErrors(t *testing.T) {
	models, _ := NewModels("")
	cases := []struct {
		name    string
		backend gemini.Backend
		body    string
		status  int
		code    string
		param   string
	}{
		{"openai model name", gemini.Developer, `{"model":"text-embedding-3-small","input":"x"}`, 404, openai.CodeModelNotFound, "model"},
		{"chat model", gemini.Developer, `{"model":"gemini-2.5-flash","input":"x"}`, 404, openai.CodeModelNotFound, "model"},
		{"vertex-only model on developer", gemini.Developer, `{"model":"text-embedding-005","input":"x"}`, 404, openai.CodeModelNotFound, "model"},
		{"unknown task type", gemini.Vertex, `{"model":"gemini-embedding-001","input":"x","google":{"task_type":"SUMMARIZE"}}`, 400, openai.CodeInvalidRequest, "google.task_type"},
		{"title without document task", gemini.Vertex, `{"model":"gemini-embedding-001","input":"x","google":{"title":"t","task_type":"RETRIEVAL_QUERY"}}`, 400, openai.CodeInvalidRequest, "google.title"},
		{"title without task", gemini.Developer, `{"model":"gemini-embedding-001","input":"x","google":{"title":"t"}}`, 400, openai.CodeInvalidRequest, "google.title"},
		{"auto_truncate on developer", gemini.Developer, `{"model":"gemini-embedding-001","input":"x","google":{"auto_truncate":false}}`, 400, openai.CodeNotImplemented, "google.auto_truncate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EmbeddingsToGemini(embedReq(t, c.body), models, c.backend)
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if e.Status != c.status || e.Code != c.code || e.Param != c.param {
				t.Errorf("got %d %s %q (%s), want %d %s %q", e.Status, e.Code, e.Param, e.Message, c.status, c.code, c.param)
			}
		})
	}
}

// TestResolveEmbedding pins model naming: the google/ prefix, pass-through of new
// gemini-embedding-* ids, and an operator alias that maps an OpenAI name.
func TestResolveEmbedding(t *testing.T) {
	models, err := NewModels(`{"text-embedding-3-small":"gemini-embedding-001"}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"gemini-embedding-001":          "gemini-embedding-001",
		"google/gemini-embedding-001":   "gemini-embedding-001",
		"models/text-embedding-005":     "text-embedding-005",
		"gemini-embedding-2-preview":    "gemini-embedding-2-preview",
		"text-embedding-3-small":        "gemini-embedding-001",
		"google/text-embedding-3-small": "gemini-embedding-001",
	} {
		got, err := models.ResolveEmbedding(name)
		if err != nil || got != want {
			t.Errorf("ResolveEmbedding(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := models.ResolveEmbedding("text-embedding-3-large"); err == nil {
		t.Error("text-embedding-3-large resolved without an alias")
	}
}

// TestEmbedListFor pins GET /v1/models: the Vertex-only embedding models are listed on Vertex
// only, gemini-embedding-001 everywhere.
func TestEmbedListFor(t *testing.T) {
	models, _ := NewModels("")
	for _, c := range []struct {
		b    gemini.Backend
		want map[string]bool
	}{
		{gemini.Vertex, map[string]bool{"gemini-embedding-001": true, "text-embedding-005": true, "text-multilingual-embedding-002": true}},
		{gemini.Developer, map[string]bool{"gemini-embedding-001": true, "text-embedding-005": false, "text-multilingual-embedding-002": false}},
	} {
		listed := map[string]bool{}
		for _, id := range models.ListFor(c.b) {
			listed[id] = true
		}
		for id, want := range c.want {
			if listed[id] != want {
				t.Errorf("%s: %s listed = %v, want %v", c.b, id, listed[id], want)
			}
		}
	}
}

// TestEmbedMalformedAnswers pins that an upstream answer with too few vectors or a vector that
// is not numbers is a MalformedError (502), never a short or garbled success.
func TestEmbedMalformedAnswers(t *testing.T) {
	e := &Embed{Model: "gemini-embedding-001", Inputs: 2, Calls: []EmbedCall{{First: 0, N: 2}}}
	for name, body := range map[string]string{
		"too few":     `{"embeddings":[{"values":[1,2]}]}`,
		"strings":     `{"embeddings":[{"values":[1,2]},{"values":["a"]}]}`,
		"empty":       `{"embeddings":[{"values":[1,2]},{"values":[]}]}`,
		"not array":   `{"embeddings":[{"values":[1,2]},{"values":{"a":1}}]}`,
		"nested":      `{"embeddings":[{"values":[1,2]},{"values":[[1]]}]}`,
		"no values":   `{"embeddings":[{"values":[1,2]},{}]}`,
		"predictions": `{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":{"values":[1]}}]}`,
	} {
		for _, b64 := range []bool{false, true} {
			var r gemini.EmbedResponse
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatal(err)
			}
			e.Base64 = b64
			out, _, err := AppendEmbeddings([]byte("kept"), e, []*gemini.EmbedResponse{&r}, "m")
			var mf *gemini.MalformedError
			if !errors.As(err, &mf) {
				t.Errorf("%s (base64 %v): err = %v, want MalformedError", name, b64, err)
			}
			if string(out) != "kept" {
				t.Errorf("%s (base64 %v): dst = %q after the error, want it as it came", name, b64, out)
			}
		}
	}
}

// FuzzVectorEncoding: both vector encoders accept exactly the non-empty JSON arrays of numbers
// (base64 also refuses numbers beyond float32), as encoding/json reads them; the float one writes
// the same numbers, the one-copy check (compactNumbers) takes exactly those without whitespace,
// and base64 holds each number as strconv rounds it to float32.
func FuzzVectorEncoding(f *testing.F) {
	for _, s := range []string{`[1,-2.5e-3,0]`, "[ 1 ,\n 2 ]", `[]`, `[1 2]`, `[01]`, `[1.]`, `[-]`, `[1e400]`, `[1,]`, `["1"]`, `[1]]`,
		`[0.0123456789,-0.0000001234,123456789012.5,1E+2,-0e-0]`, `[1.5e,2]`, `[-01.5]`, `[3.4028236e38]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkVector)
}

// TestVectorEncodingLong checks long vectors, which FuzzVectorEncoding's short inputs seldom
// are, the way it checks its inputs: the lanes of compactNumbers and appendBase64Vector,
// cuts after each count of numbers modulo three, every number form, white space, and one byte
// changed anywhere.
func TestVectorEncodingLong(t *testing.T) {
	seed := uint64(7)
	next := func(n uint64) uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed % n }
	forms := []func() string{
		func() string {
			return strconv.FormatFloat(float64(math.Float32frombits(uint32(next(1<<32)))), 'g', -1, 32)
		},
		func() string { return strconv.FormatFloat((float64(next(2e6))-1e6)/3e7, 'f', -1, 32) },
		func() string { return strconv.FormatFloat((float64(next(2e6))-1e6)/3e7, 'g', -1, 64) },
		func() string { return strconv.FormatFloat(float64(next(1000))*1e-9, 'e', -1, 32) },
		func() string { return strconv.Itoa(int(next(2000)) - 1000) },
		func() string { return "-0.0" },
		func() string { return "0.1234567890123456789" },
	}
	for n := 1; n <= 300; n++ {
		nums := make([]string, n)
		for i := range nums {
			nums[i] = forms[0]()
			if next(4) == 0 {
				nums[i] = forms[next(uint64(len(forms)))]()
			}
		}
		sep := ","
		if n%7 == 0 {
			sep = " ,\n "
		}
		v := []byte("[" + strings.Join(nums, sep) + "]")
		checkVector(t, v)
		w := bytes.Clone(v)
		w[next(uint64(len(w)))] = ",.-e0 ]x[+"[next(10)]
		checkVector(t, w)
	}
	// Long only for its white space: the cut must not be looked for past the closing bracket.
	checkVector(t, []byte("[0.5,1]"+strings.Repeat(" ", 600)))
	checkVector(t, []byte(strings.Repeat(" ", 600)+"[0.5,1]"))
}

// checkVector fails t unless both vector encoders take v exactly when it is a non-empty JSON
// array of numbers (base64 also refusing numbers beyond float32), as encoding/json reads it;
// the float one writes the same numbers, compactNumbers takes exactly those without white
// space, and base64 holds each number as strconv rounds it to float32.
func checkVector(t *testing.T, v []byte) {
	t.Helper()
	var elems []json.RawMessage
	valid := json.Unmarshal(v, &elems) == nil && len(elems) > 0 && bytes.HasPrefix(bytes.TrimSpace(v), []byte("["))
	nums := make([]json.Number, len(elems))
	for i, e := range elems {
		e = bytes.TrimSpace(e)
		if len(e) == 0 || !(e[0] == '-' || e[0] >= '0' && e[0] <= '9') {
			valid = false
		}
		nums[i] = json.Number(e)
	}
	if got, want := compactNumbers(v), valid && !bytes.ContainsAny(v, " \t\r\n"); got != want {
		t.Fatalf("compactNumbers(%q) = %v, want %v", v, got, want)
	}
	out, err := appendFloatVector(nil, v)
	if (err == nil) != valid {
		t.Fatalf("appendFloatVector(%q) err = %v, JSON number array: %v", v, err, valid)
	}
	if err == nil && string(out) != "["+joinNumbers(nums)+"]" {
		t.Fatalf("appendFloatVector(%q) = %q", v, out)
	}
	b64, err := appendBase64Vector(nil, v)
	inRange := valid
	raw := make([]byte, 0, 4*len(nums))
	for _, n := range nums {
		f, err := strconv.ParseFloat(string(n), 32)
		inRange = inRange && err == nil
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(f)))
	}
	if (err == nil) != inRange {
		t.Fatalf("appendBase64Vector(%q) err = %v, want an error: %v", v, err, !inRange)
	}
	if want := `"` + base64.StdEncoding.EncodeToString(raw) + `"`; err == nil && string(b64) != want {
		t.Fatalf("appendBase64Vector(%q) = %s, want %s", v, b64, want)
	}
}

// numberTails are what may follow a number in a vector; parseNumber32 reads words of eight
// bytes, so a number is checked both at the end of its input and before more of it.
var numberTails = []string{"", ",", "]", ",-0.0123456789,0.5]"}

// checkParseFloat32 fails t unless parseNumber32 reads s, whatever follows it, as
// strconv.ParseFloat(s, 32) does, bit for bit, range error included, and ends where s ends.
func checkParseFloat32(t *testing.T, s string) {
	t.Helper()
	want, err := strconv.ParseFloat(s, 32)
	for _, tail := range numberTails {
		got, end, ok := parseNumber32([]byte(s+tail), 0)
		if ok != (err == nil) || end != len(s) {
			t.Fatalf("parseNumber32(%q) ok = %v, end = %d; strconv err = %v, len %d", s+tail, ok, end, err, len(s))
		}
		if ok && math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("parseNumber32(%q) = %v (%#x), strconv %v (%#x)", s+tail, got, math.Float32bits(got), float32(want), math.Float32bits(float32(want)))
		}
	}
}

// TestParseFloat32MatchesStrconv pins the fast float32 parser to strconv on the forms Gemini
// writes (shortest float32 and float64 renderings, fixed and exponent notation), on values
// exactly or nearly halfway between two float32s (where rounding twice would go wrong), on the
// edges of float32's range and on significands around 2^53 and 19 digits, where the fast path
// ends.
func TestParseFloat32MatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "0.0", "-0.0e5", "0e99999", "1", "-1", "0.1", "1e-45", "1e-46", "1.4e-45", "1.17549435e-38",
		"3.4028234663852886e38", "3.4028235e38", "3.40282357e38", "3.5e38", "1e39", "-1e39", "1E+2", "1e-400", "1e400",
		"123456789012345678901234567890", "0.000000000000000000000000000001234", "16777217", "16777219", "1.00000017881393432617187499",
		"1.000000178813934326171875", "1.00000017881393432617187501", "0.035157016", "-0.0043512434", "9007199254740993",
		"9007199254740992", "9007199254740991", "1234567890123456789", "12345678901234567890", "0.1234567890123456789",
		"0.01234567890123456789", "99999999.99999999", "12345678", "123456789", "0.00000001", "1.00000000000000000000"} {
		checkParseFloat32(t, s)
	}
	seed := uint64(1)
	next := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	for range 200000 {
		bits := uint32(next())
		f := math.Float32frombits(bits)
		if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
			continue
		}
		checkParseFloat32(t, strconv.FormatFloat(float64(f), 'g', -1, 32))
		checkParseFloat32(t, strconv.FormatFloat(float64(f), 'g', -1, 64))
		checkParseFloat32(t, strconv.FormatFloat(float64(f), 'f', -1, 32))
		// Halfway between f and its successor, and a hair either side, in 15 and 17 digits.
		mid := (float64(f) + float64(math.Nextafter32(f, float32(math.Inf(1))))) / 2
		for _, p := range []int{8, 9, 10, 15, 17} {
			checkParseFloat32(t, strconv.FormatFloat(mid, 'e', p, 64))
		}
		checkParseFloat32(t, strconv.FormatFloat(math.Nextafter(mid, 0), 'g', -1, 64))
		checkParseFloat32(t, strconv.FormatFloat(math.Nextafter(mid, math.Inf(1)), 'g', -1, 64))
		// Gemini's typical values: a few significant digits below one.
		checkParseFloat32(t, strconv.FormatFloat(float64(int64(next()%2e9)-1e9)/1e11, 'f', -1, 64))
	}
}

// FuzzParseFloat32: parseNumber32 takes exactly the JSON numbers, whatever follows them, and on
// each is strconv.ParseFloat(s, 32), bit for bit.
func FuzzParseFloat32(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "-0.0043512434", "1e-45", "3.4028235e38", "1e39", "16777217", "1.000000178813934326171875",
		"01", "1.", "-", "1e", "1e+", ".5", "+1", "0x1p3", "1.5.5", "9007199254740993", "0.01234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		number := json.Valid([]byte(s)) && strings.TrimSpace(s) == s && len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
		if number {
			checkParseFloat32(t, s)
			return
		}
		for _, tail := range numberTails {
			if _, end, ok := parseNumber32([]byte(s+tail), 0); ok && end == len(s) {
				t.Fatalf("parseNumber32(%q) took %q, which is not a JSON number", s+tail, s)
			}
		}
	})
}

// TestEightDigits pins the eight- and four-at-a-time digit conversions, and gatherDigits on
// every run length, against strconv.
func TestEightDigits(t *testing.T) {
	for _, s := range []string{"00000000", "12345678", "99999999", "00000001", "10000000", "09080706"} {
		want, _ := strconv.ParseUint(s, 10, 64)
		if got := eightDigits(binary.LittleEndian.Uint64([]byte(s)) - asciiZero); got != want {
			t.Errorf("eightDigits(%s) = %d", s, got)
		}
	}
	for _, s := range []string{"0000", "1234", "9999", "0001", "1000", "0908"} {
		want, _ := strconv.ParseUint(s, 10, 64)
		if got := fourDigits(uint64(binary.LittleEndian.Uint32([]byte(s)) - '0'*0x01010101)); got != want {
			t.Errorf("fourDigits(%s) = %d", s, got)
		}
	}
	digits := "1234567890987654321"
	for n := 1; n <= len(digits); n++ {
		for _, tail := range []string{"", ",0.5]"} {
			v := []byte(digits[:n] + tail)
			m, nd := gatherDigits(v, 0, n, 0, 0)
			want, _ := strconv.ParseUint(digits[:n], 10, 64)
			if m != want || nd != n {
				t.Errorf("gatherDigits(%q, %d) = %d, %d digits", v, n, m, nd)
			}
		}
	}
}

// TestBase64LanesMatchStrconv pins the number readers of compactFloat32s's lanes (its own of
// -?0. and 8 to 12 digits in the turns, shortZeroDot32's of 1 to 7 where they exit) to
// strconv.ParseFloat(s, 32) bit for bit, on long compact vectors
// of the common form and around it (-?0. and 1 to 15 digits: every length, random digits, float32s
// and the values halfway between two of them cut to 8 to 15 digits, where rounding twice would
// go wrong) mixed with forms it leaves to parseNumber32 (16 and more digits, exponents, ≥ 1).
func TestBase64LanesMatchStrconv(t *testing.T) {
	seed := uint64(3)
	next := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	sign := func(s string) string {
		if next()%2 == 0 {
			return "-" + s
		}
		return s
	}
	below1 := func() float32 { return math.Float32frombits(uint32(next()%0x3F800000) + 1) } // (0, 1)
	forms := []func() string{
		func() string { // -?0. and 1 to 17 random digits
			d := make([]byte, 1+next()%17)
			for i := range d {
				d[i] = byte('0' + next()%10)
			}
			return sign("0." + string(d))
		},
		func() string { return sign(strconv.FormatFloat(float64(below1()), 'f', -1, 32)) },
		func() string { return sign(strconv.FormatFloat(float64(below1()), 'g', -1, 32)) },
		func() string {
			f := below1()
			mid := (float64(f) + float64(math.Nextafter32(f, 1))) / 2
			return sign(strconv.FormatFloat(mid, 'f', 8+int(next()%8), 64))
		},
		func() string { return sign(strconv.FormatFloat(float64(next()%1e6)/1e3, 'f', -1, 64)) },
	}
	var nums []string
	for range 400 {
		nums = nums[:0]
		for range 768 {
			nums = append(nums, forms[next()%uint64(len(forms))]())
		}
		v := []byte("[" + strings.Join(nums, ",") + "]")
		out, err := appendBase64Vector(nil, v)
		if err != nil {
			t.Fatalf("appendBase64Vector: %v", err)
		}
		raw, err := base64.StdEncoding.DecodeString(string(bytes.Trim(out, `"`)))
		if err != nil || len(raw) != 4*len(nums) {
			t.Fatalf("base64 of %d numbers: %d bytes, %v", len(nums), len(raw), err)
		}
		for i, s := range nums {
			want, _ := strconv.ParseFloat(s, 32)
			if got := binary.LittleEndian.Uint32(raw[4*i:]); got != math.Float32bits(float32(want)) {
				t.Fatalf("number %d, %s: %#x, strconv %#x", i, s, got, math.Float32bits(float32(want)))
			}
		}
	}
}
