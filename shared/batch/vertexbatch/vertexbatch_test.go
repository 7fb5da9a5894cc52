package vertexbatch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/auth"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

type token struct{}

func (token) Token(context.Context) (*auth.Token, error) { return &auth.Token{Value: "t"}, nil }

func newEngine(t *testing.T, h http.HandlerFunc) (*Engine, store.Store) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := gemini.New(gemini.Options{Backend: gemini.Vertex, BaseURL: srv.URL, Project: "proj", Location: "us-central1", Tokens: token{}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := store.NewDir(t.TempDir())
	e, err := New(Options{Client: c, Store: st, Bucket: "bucket"})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

// TestDocumentedInputLine pins that the documented input line is our input line with no key.
func TestDocumentedInputLine(t *testing.T) {
	b, err := os.ReadFile("testdata/input-line.documented.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var l engine.InputLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil || l.Key != "" {
		t.Fatalf("%v %+v", err, l)
	}
	var req gemini.Request
	if err := json.Unmarshal(l.Request, &req); err != nil || len(req.Contents[0].Parts) != 3 {
		t.Errorf("request = %+v, %v", req, err)
	}
}

// TestSubmitPollResults pins the job's wire: the create body (model, gs:// input, output
// prefix), the job name as the reference, the state, and the output lines read back by key
// with their errors mapped by google.rpc status.
func TestSubmitPollResults(t *testing.T) {
	job, err := os.ReadFile("testdata/job-succeeded.json")
	if err != nil {
		t.Fatal(err)
	}
	const name = "projects/proj/locations/us-central1/batchPredictionJobs/1234567890"
	e, st := newEngine(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			t.Errorf("no token")
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/projects/proj/locations/us-central1/batchPredictionJobs":
			b, _ := io.ReadAll(r.Body)
			var got map[string]any
			_ = json.Unmarshal(b, &got)
			want := map[string]any{"displayName": "gateway-batch_x", "model": "publishers/google/models/gemini-2.5-flash",
				"inputConfig":  map[string]any{"instancesFormat": "jsonl", "gcsSource": map[string]any{"uris": []any{"gs://bucket/batches/k/work/b/requests.jsonl"}}},
				"outputConfig": map[string]any{"predictionsFormat": "jsonl", "gcsDestination": map[string]any{"outputUriPrefix": "gs://bucket/batches/k/work/b/engine/output/"}}}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if !bytes.Equal(gb, wb) {
				t.Errorf("create body %s\nwant %s", gb, wb)
			}
			_, _ = w.Write([]byte(`{"name":"` + name + `","state":"JOB_STATE_PENDING"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/v1/"+name:
			_, _ = w.Write(job)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(404)
		}
	})
	ctx := t.Context()
	ref, err := e.Submit(ctx, engine.Job{ID: "batch_x", Model: "gemini-2.5-flash", Input: "batches/k/work/b/requests.jsonl", Work: "batches/k/work/b/engine/"})
	if err != nil || ref != name {
		t.Fatalf("Submit = %q, %v", ref, err)
	}
	s, err := e.Poll(ctx, ref)
	if err != nil || s.State != engine.Succeeded {
		t.Fatalf("Poll = %+v, %v", s, err)
	}
	preds, _ := os.ReadFile("testdata/predictions.jsonl")
	if err := st.Create(ctx, "batches/k/work/b/engine/output/prediction-model-2026-11-28T10:00:00.000000Z/predictions.jsonl", bytes.NewReader(preds)); err != nil {
		t.Fatal(err)
	}
	got := map[string]engine.Result{}
	if err := e.Results(ctx, ref, func(r engine.Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got["1"].Response, []byte(`"one"`)) || !bytes.Contains(got["2"].Response, []byte(`"two"`)) {
		t.Errorf("answers 1 and 2: %+v", got)
	}
	if r := got["3"]; r.Error == nil || r.Error.HTTPStatus != 400 || r.Error.Message != "Request contains an invalid argument." {
		t.Errorf("answer 3 = %+v", r.Error)
	}
	if r := got["4"]; r.Error == nil || r.Error.HTTPStatus != 429 {
		t.Errorf("answer 4 = %+v", r.Error)
	}
}

// TestPollStates pins the JobState mapping, PARTIALLY_SUCCEEDED being a success and a failed
// job carrying Google's message.
func TestPollStates(t *testing.T) {
	for state, want := range map[string]engine.State{
		"JOB_STATE_QUEUED": engine.Running, "JOB_STATE_PENDING": engine.Running, "JOB_STATE_RUNNING": engine.Running,
		"JOB_STATE_CANCELLING": engine.Running, "JOB_STATE_SUCCEEDED": engine.Succeeded, "JOB_STATE_PARTIALLY_SUCCEEDED": engine.Succeeded,
		"JOB_STATE_FAILED": engine.Failed, "JOB_STATE_CANCELLED": engine.Cancelled, "JOB_STATE_EXPIRED": engine.Expired,
	} {
		e, _ := newEngine(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"name":"x","state":"` + state + `","error":{"code":3,"message":"bad input"}}`))
		})
		s, err := e.Poll(t.Context(), "projects/p/locations/l/batchPredictionJobs/1")
		if err != nil || s.State != want || (want == engine.Failed && s.Message != "bad input") {
			t.Errorf("%s: %+v, %v", state, s, err)
		}
	}
}

// TestSubmitCopiesToStaging pins the AWS path: when Vertex's bucket is a staging bucket apart
// from the gateway's store, the job's input is copied there and the job reads the copy.
func TestSubmitCopiesToStaging(t *testing.T) {
	var uri string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			InputConfig struct {
				GcsSource struct {
					URIs []string `json:"uris"`
				} `json:"gcsSource"`
			} `json:"inputConfig"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		uri = body.InputConfig.GcsSource.URIs[0]
		_, _ = w.Write([]byte(`{"name":"projects/p/locations/l/batchPredictionJobs/7"}`))
	}))
	defer srv.Close()
	c, _ := gemini.New(gemini.Options{Backend: gemini.Vertex, BaseURL: srv.URL, Project: "p", Location: "l", Tokens: token{}})
	main, _ := store.NewDir(t.TempDir())
	staging, _ := store.NewDir(t.TempDir())
	const input = `{"key":"1","request":{"contents":[{"role":"user","parts":[{"text":"a"}]}]}}` + "\n"
	if err := main.Create(t.Context(), "batches/k/work/b/requests.jsonl", bytes.NewReader([]byte(input))); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Client: c, Store: main, Staging: staging, Bucket: "staging-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(t.Context(), engine.Job{ID: "b", Model: "gemini-2.5-flash", Input: "batches/k/work/b/requests.jsonl", Work: "batches/k/work/b/engine/"}); err != nil {
		t.Fatal(err)
	}
	if uri != "gs://staging-bucket/batches/k/work/b/engine/input.jsonl" {
		t.Errorf("job input %s", uri)
	}
	b, _, err := store.ReadAll(t.Context(), staging, "batches/k/work/b/engine/input.jsonl", 0)
	if err != nil || string(b) != input {
		t.Errorf("staged copy = %q, %v", b, err)
	}
}

// TestEmbeddingsJobStaged pins an embeddings job from AWS: the calls of each line exploded into
// the documented instance lines with our key (keyField) in the staging bucket, the calls'
// parameters once in modelParameters, output lines of the documented shape (the key in place
// of the instance) put back per line in call order, readable again, and every staged object —
// input and outputs — deleted by Cleanup, the store's own objects left alone.
func TestEmbeddingsJobStaged(t *testing.T) {
	doc, err := os.ReadFile("testdata/embeddings-output.documented.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	docLines := bytes.Split(bytes.TrimSpace(doc), []byte("\n"))
	const name = "projects/p/locations/l/batchPredictionJobs/9"
	main, _ := store.NewDir(t.TempDir())
	staging, _ := store.NewDir(t.TempDir())
	var created map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_ = json.NewDecoder(r.Body).Decode(&created)
			_, _ = w.Write([]byte(`{"name":"` + name + `","state":"JOB_STATE_PENDING"}`))
		case r.URL.Path == "/v1/"+name:
			_, _ = w.Write([]byte(`{"name":"` + name + `","state":"JOB_STATE_SUCCEEDED",` +
				`"inputConfig":{"instancesFormat":"jsonl","gcsSource":{"uris":["gs://staging-bucket/w/embed-instances.jsonl"]}},` +
				`"outputInfo":{"gcsOutputDirectory":"gs://staging-bucket/w/output/prediction-x"}}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	c, _ := gemini.New(gemini.Options{Backend: gemini.Vertex, BaseURL: srv.URL, Project: "p", Location: "l", Tokens: token{}})
	e, err := New(Options{Client: c, Store: main, Staging: staging, Bucket: "staging-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Line "a": two calls of one instance each (one instance per predict call online); line "b": one.
	input := `{"key":"a","request":[{"instances":[{"content":"Give a short description of a machine learning model:","task_type":"RETRIEVAL_DOCUMENT","title":"ML"}],"parameters":{"outputDimensionality":2}},{"instances":[{"content":"Best recipe for banana bread:"}],"parameters":{"outputDimensionality": 2}}]}
{"key":"b","request":[{"instances":[{"content":"third"}],"parameters":{"outputDimensionality":2}}]}
`
	if err := main.Create(ctx, "in.jsonl", strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	ref, err := e.Submit(ctx, engine.Job{ID: "batch_e", Model: "gemini-embedding-001", Input: "in.jsonl", Work: "w/", Embed: true})
	if err != nil || ref != name+" embed" {
		t.Fatalf("Submit = %q, %v", ref, err)
	}
	cb, _ := json.Marshal(created)
	for _, want := range []string{`"instanceConfig":{"keyField":"key"}`, `"modelParameters":{"outputDimensionality":2}`,
		`"uris":["gs://staging-bucket/w/embed-instances.jsonl"]`, `"model":"publishers/google/models/gemini-embedding-001"`} {
		if !strings.Contains(string(cb), want) {
			t.Errorf("create body %s lacks %s", cb, want)
		}
	}
	staged, _, err := store.ReadAll(ctx, staging, "w/embed-instances.jsonl", 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for line := range bytes.SplitSeq(bytes.TrimSpace(staged), []byte("\n")) {
		var inst struct {
			Key      string `json:"key"`
			Content  string `json:"content"`
			TaskType string `json:"task_type"`
			Title    string `json:"title"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&inst); err != nil || inst.Content == "" {
			t.Errorf("instance %s: %v", line, err)
		}
		keys = append(keys, inst.Key)
	}
	if strings.Join(keys, " ") != "a#0.0/1.2 a#1.0/1.2 b#0.0/1.1" {
		t.Fatalf("instance keys %v", keys)
	}
	// Vertex's output: the documented lines with the key in place of the instance, out of
	// order; line b's input failed.
	var out bytes.Buffer
	for i, k := range []string{"a#1.0/1.2", "a#0.0/1.2"} {
		var l map[string]any
		_ = json.Unmarshal(docLines[1-i], &l)
		delete(l, "instance")
		l["key"] = k
		b, _ := json.Marshal(l)
		out.Write(append(b, '\n'))
	}
	out.WriteString(`{"key":"b#0.0/1.1","status":"Bad Request: {\"error\": {\"code\": 400, \"message\": \"Text too long.\", \"status\": \"INVALID_ARGUMENT\"}}"}` + "\n")
	if err := staging.Create(ctx, "w/output/prediction-x/predictions_00001.jsonl", &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]engine.Result{}
	if err := e.Results(ctx, ref, func(r engine.Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	var resps []*gemini.EmbedResponse
	if err := json.Unmarshal(got["a"].Response, &resps); err != nil || len(resps) != 2 {
		t.Fatalf("line a = %s: %v", got["a"].Response, err)
	}
	if v := string(resps[0].Predictions[0].Embeddings.Values); v != "[0.2,0.5]" || resps[0].Predictions[0].Embeddings.Statistics.Tokens() != 8 {
		t.Errorf("line a call 0 = %s", got["a"].Response)
	}
	if v := string(resps[1].Predictions[0].Embeddings.Values); v != "[0.1,0.7]" {
		t.Errorf("line a call 1 = %s", got["a"].Response)
	}
	if r := got["b"]; r.Error == nil || r.Error.HTTPStatus != 400 || r.Error.Message != "Text too long." {
		t.Errorf("line b = %+v", r)
	}
	// A second read (a refresh racing the one that stores the final record) gets the same.
	n := 0
	if err := e.Results(ctx, ref, func(engine.Result) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("second Results: %d answers, %v", n, err)
	}
	if err := e.Cleanup(ctx, ref); err != nil {
		t.Fatal(err)
	}
	left, _ := staging.List(ctx, "", "", 0)
	if len(left) != 0 {
		t.Errorf("staged objects left after Cleanup: %v", left)
	}
	if _, _, err := main.Open(ctx, "in.jsonl"); err != nil {
		t.Errorf("the store's input: %v", err)
	}
}

// TestDocumentedEmbeddingInstances pins that the documented embeddings input lines are the
// instances the engine writes, without the key.
func TestDocumentedEmbeddingInstances(t *testing.T) {
	b, err := os.ReadFile("testdata/embeddings-input.documented.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
		var inst gemini.EmbedInstance
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&inst); err != nil || inst.Content == "" {
			t.Errorf("%s: %v", line, err)
		}
	}
}
