package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/batch/geminibatch"
	"github.com/geminigateway/gateway/shared/batch/vertexbatch"
	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// embedBatchFake is Gemini Batch Mode's asyncBatchEmbedContent (with the Files API) or Vertex
// AI batch prediction for an embedding model, in front of the online embeddings fake (which
// answers everything else, for the online comparison). It validates what it receives as Google
// would: every request an EmbedContentRequest for the batch's model with one text part (Batch
// Mode), every instance {"content", "task_type", "title"} plus the key field the job's
// instanceConfig names (Vertex), unknown fields refused. It moves a job pending -> running ->
// succeeded one GET at a time and answers out of input order, each input with
// emulator.Vector(text, dimension) as the online fake does; an input whose text holds
// "reject" gets an INVALID_ARGUMENT of its own.
type embedBatchFake struct {
	t      *testing.T
	vertex bool
	st     store.Store
	up     *googleEmbed
	srv    *httptest.Server

	mu      sync.Mutex
	jobs    map[string]*embedJob
	files   map[string][]byte
	uploads map[string][]byte
	deleted []string
}

type embedJob struct {
	state     string
	parts     []embedPart
	outPrefix string
	output    string
	fromFile  bool
}

type embedPart struct {
	key, text string
	dim       int
}

func newEmbedBatchFake(t *testing.T, vertex bool, st store.Store) *embedBatchFake {
	f := &embedBatchFake{t: t, vertex: vertex, st: st, up: newGoogleEmbed(t, vertex), jobs: map[string]*embedJob{},
		files: map[string][]byte{}, uploads: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *embedBatchFake) fail(w http.ResponseWriter, code int, status, format string, args ...any) {
	f.t.Errorf("embed batch fake: "+format, args...)
	embedError(w, code, status, fmt.Sprintf(format, args...))
}

func (f *embedBatchFake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case f.vertex && p == vertexParent+"/batchPredictionJobs" && r.Method == http.MethodPost:
		f.createVertex(w, r)
	case !f.vertex && p == "/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent" && r.Method == http.MethodPost:
		f.createGemini(w, r)
	case !f.vertex && p == "/upload/v1beta/files" && r.Method == http.MethodPost:
		f.upload(w, r)
	case !f.vertex && strings.HasPrefix(p, "/download/v1beta/files/") && r.Method == http.MethodGet:
		name, _ := strings.CutSuffix(strings.TrimPrefix(p, "/download/v1beta/"), ":download")
		f.mu.Lock()
		b, ok := f.files[name]
		f.mu.Unlock()
		if !ok || r.URL.Query().Get("alt") != "media" {
			f.fail(w, 404, "NOT_FOUND", "no file %s", r.URL)
			return
		}
		_, _ = w.Write(b)
	case !f.vertex && strings.HasPrefix(p, "/v1beta/files/") && r.Method == http.MethodDelete:
		f.mu.Lock()
		name := strings.TrimPrefix(p, "/v1beta/")
		f.deleted = append(f.deleted, name)
		delete(f.files, name)
		f.mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	case r.Method == http.MethodGet && (strings.HasPrefix(p, "/v1beta/batches/") || strings.HasPrefix(p, vertexParent+"/batchPredictionJobs/")):
		f.get(w, p)
	default:
		f.up.serve(w, r) // the online calls
	}
}

func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// devPart checks one EmbedContentRequest as batchEmbedContents' fake does.
func devPart(key string, raw json.RawMessage) (embedPart, error) {
	var q struct {
		Model   string `json:"model"`
		Content struct {
			Role  string `json:"role"`
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"content"`
		TaskType             string `json:"taskType"`
		Title                string `json:"title"`
		OutputDimensionality *int   `json:"outputDimensionality"`
	}
	if err := strict(raw, &q); err != nil || key == "" || q.Model != "models/gemini-embedding-001" || len(q.Content.Parts) != 1 || q.Content.Parts[0].Text == "" {
		return embedPart{}, fmt.Errorf("request %s (key %q): %v", raw, key, err)
	}
	dim := 3072
	if q.OutputDimensionality != nil {
		dim = *q.OutputDimensionality
	}
	return embedPart{key: key, text: q.Content.Parts[0].Text, dim: dim}, nil
}

func (f *embedBatchFake) createGemini(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				FileName string `json:"fileName"`
				Requests *struct {
					Requests []struct {
						Request  json.RawMessage `json:"request"`
						Metadata struct {
							Key string `json:"key"`
						} `json:"metadata"`
					} `json:"requests"`
				} `json:"requests"`
			} `json:"inputConfig"`
		} `json:"batch"`
	}
	if err := strict(body, &req); err != nil || req.Batch.DisplayName == "" || (req.Batch.InputConfig.FileName == "") == (req.Batch.InputConfig.Requests == nil) {
		f.fail(w, 400, "INVALID_ARGUMENT", "bad asyncBatchEmbedContent body %.300s: %v", body, err)
		return
	}
	j := &embedJob{state: "pending"}
	if in := req.Batch.InputConfig.Requests; in != nil {
		for _, q := range in.Requests {
			part, err := devPart(q.Metadata.Key, q.Request)
			if err != nil {
				f.fail(w, 400, "INVALID_ARGUMENT", "%v", err)
				return
			}
			j.parts = append(j.parts, part)
		}
	} else {
		f.mu.Lock()
		b, ok := f.files[req.Batch.InputConfig.FileName]
		f.mu.Unlock()
		if !ok {
			f.fail(w, 400, "INVALID_ARGUMENT", "no file %s", req.Batch.InputConfig.FileName)
			return
		}
		j.fromFile = true
		for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
			var l engine.InputLine
			if err := strict(line, &l); err != nil {
				f.fail(w, 400, "INVALID_ARGUMENT", "file line %s: %v", line, err)
				return
			}
			part, err := devPart(l.Key, l.Request)
			if err != nil {
				f.fail(w, 400, "INVALID_ARGUMENT", "%v", err)
				return
			}
			j.parts = append(j.parts, part)
		}
	}
	f.mu.Lock()
	name := fmt.Sprintf("batches/emb%d", len(f.jobs)+1)
	f.jobs[name] = j
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "metadata": map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatch", "model": "models/gemini-embedding-001",
		"displayName": req.Batch.DisplayName, "state": "BATCH_STATE_PENDING"}})
}

// upload is the Files API's resumable upload: start, then chunks at the offset received, the
// last one finalizing at the declared length.
func (f *embedBatchFake) upload(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := r.Header
	body, _ := io.ReadAll(r.Body)
	id := r.URL.Query().Get("upload_id")
	if id == "" {
		n, err := strconv.Atoi(h.Get("X-Goog-Upload-Header-Content-Length"))
		if err != nil || h.Get("X-Goog-Upload-Protocol") != "resumable" || h.Get("X-Goog-Upload-Command") != "start" {
			f.fail(w, 400, "INVALID_ARGUMENT", "bad upload start %v", h)
			return
		}
		id = strconv.Itoa(len(f.uploads) + 1)
		f.uploads[id] = make([]byte, 0, n)
		w.Header().Set("X-Goog-Upload-URL", f.srv.URL+"/upload/v1beta/files?upload_id="+id)
		w.Header().Set("X-Goog-Upload-Chunk-Granularity", "262144")
		return
	}
	got, ok := f.uploads[id]
	off, err := strconv.Atoi(h.Get("X-Goog-Upload-Offset"))
	if !ok || err != nil || off != len(got) || !strings.HasPrefix(h.Get("X-Goog-Upload-Command"), "upload") {
		f.fail(w, 400, "INVALID_ARGUMENT", "bad chunk %v", h)
		return
	}
	got = append(got, body...)
	f.uploads[id] = got
	if h.Get("X-Goog-Upload-Command") != "upload, finalize" {
		return
	}
	if len(got) != cap(got) {
		f.fail(w, 400, "INVALID_ARGUMENT", "finalized at %d of %d bytes", len(got), cap(got))
		return
	}
	name := "files/emb-up" + id
	f.files[name] = got
	w.Header().Set("X-Goog-Upload-Status", "final")
	_ = json.NewEncoder(w).Encode(map[string]any{"file": map[string]any{"name": name, "state": "ACTIVE"}})
}

func (f *embedBatchFake) createVertex(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		DisplayName string `json:"displayName"`
		Model       string `json:"model"`
		InputConfig struct {
			InstancesFormat string `json:"instancesFormat"`
			GcsSource       struct {
				URIs []string `json:"uris"`
			} `json:"gcsSource"`
		} `json:"inputConfig"`
		InstanceConfig struct {
			KeyField string `json:"keyField"`
		} `json:"instanceConfig"`
		ModelParameters *struct {
			OutputDimensionality *int  `json:"outputDimensionality"`
			AutoTruncate         *bool `json:"autoTruncate"`
		} `json:"modelParameters"`
		OutputConfig struct {
			PredictionsFormat string `json:"predictionsFormat"`
			GcsDestination    struct {
				OutputURIPrefix string `json:"outputUriPrefix"`
			} `json:"gcsDestination"`
		} `json:"outputConfig"`
	}
	if err := strict(body, &req); err != nil || req.Model != "publishers/google/models/gemini-embedding-001" || req.DisplayName == "" ||
		req.InputConfig.InstancesFormat != "jsonl" || len(req.InputConfig.GcsSource.URIs) != 1 || req.OutputConfig.PredictionsFormat != "jsonl" ||
		req.InstanceConfig.KeyField != "key" {
		f.fail(w, 400, "INVALID_ARGUMENT", "bad create body %s: %v", body, err)
		return
	}
	in, ok := strings.CutPrefix(req.InputConfig.GcsSource.URIs[0], "gs://"+fakeBucket+"/")
	out, ok2 := strings.CutPrefix(req.OutputConfig.GcsDestination.OutputURIPrefix, "gs://"+fakeBucket+"/")
	b, _, err := store.ReadAll(context.Background(), f.st, in, 0)
	if !ok || !ok2 || err != nil {
		f.fail(w, 400, "INVALID_ARGUMENT", "input %s: %v", in, err)
		return
	}
	dim := 3072
	if p := req.ModelParameters; p != nil && p.OutputDimensionality != nil {
		dim = *p.OutputDimensionality
	}
	j := &embedJob{state: "pending", outPrefix: out}
	for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
		var inst struct {
			Key      string `json:"key"`
			Content  string `json:"content"`
			TaskType string `json:"task_type"`
			Title    string `json:"title"`
		}
		if err := strict(line, &inst); err != nil || inst.Key == "" || inst.Content == "" {
			f.fail(w, 400, "INVALID_ARGUMENT", "instance %s: %v", line, err)
			return
		}
		j.parts = append(j.parts, embedPart{key: inst.Key, text: inst.Content, dim: dim})
	}
	f.mu.Lock()
	name := fmt.Sprintf("projects/%s/locations/%s/batchPredictionJobs/%d", fakeProject, fakeLocation, 2000+len(f.jobs))
	f.jobs[name] = j
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "state": "JOB_STATE_PENDING"})
}

func rejected(text string) bool { return strings.Contains(text, "reject") }

func (f *embedBatchFake) get(w http.ResponseWriter, p string) {
	name := strings.TrimPrefix(strings.TrimPrefix(p, "/v1beta/"), "/v1/")
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[name]
	if j == nil {
		f.fail(w, 404, "NOT_FOUND", "no job %s", name)
		return
	}
	switch j.state {
	case "pending":
		j.state = "running"
	case "running":
		j.state = "succeeded"
		if f.vertex {
			f.writePredictions(j)
		}
	}
	if f.vertex {
		out := map[string]any{"name": name, "state": map[string]string{"pending": "JOB_STATE_PENDING", "running": "JOB_STATE_RUNNING",
			"succeeded": "JOB_STATE_SUCCEEDED"}[j.state]}
		if j.output != "" {
			out["outputInfo"] = map[string]any{"gcsOutputDirectory": j.output}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	meta := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatch",
		"state": map[string]string{"pending": "BATCH_STATE_PENDING", "running": "BATCH_STATE_RUNNING", "succeeded": "BATCH_STATE_SUCCEEDED"}[j.state]}
	out := map[string]any{"name": name, "metadata": meta}
	if j.state == "succeeded" {
		out["done"] = true
		var answers []map[string]any
		for i := len(j.parts) - 1; i >= 0; i-- { // not in input order
			pt := j.parts[i]
			a := map[string]any{"metadata": map[string]string{"key": pt.key}}
			if rejected(pt.text) {
				a["error"] = map[string]any{"code": 3, "message": "Request contains an invalid argument."}
			} else {
				a["response"] = map[string]any{"embedding": map[string]any{"values": emulator.Vector(pt.text, pt.dim)}}
			}
			answers = append(answers, a)
		}
		output := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatchOutput",
			"inlinedResponses": map[string]any{"inlinedResponses": answers}}
		if j.fromFile {
			var buf bytes.Buffer
			for _, a := range answers {
				line := map[string]any{"key": a["metadata"].(map[string]string)["key"]}
				if e, ok := a["error"]; ok {
					line["error"] = e
				} else {
					line["response"] = a["response"]
				}
				b, _ := json.Marshal(line)
				buf.Write(append(b, '\n'))
			}
			file := "files/emb-out-" + strings.TrimPrefix(name, "batches/")
			f.files[file] = buf.Bytes()
			output = map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatchOutput", "responsesFile": file}
		}
		out["response"] = output
	}
	_ = json.NewEncoder(w).Encode(out)
}

// writePredictions writes the output lines of "Get batch text embeddings predictions" (with
// the key in place of the instance, as instanceConfig.keyField asks), in reverse order.
func (f *embedBatchFake) writePredictions(j *embedJob) {
	dir := j.outPrefix + "prediction-model-2026-11-28T00:00:00.000000Z"
	var buf bytes.Buffer
	for i := len(j.parts) - 1; i >= 0; i-- {
		pt := j.parts[i]
		line := map[string]any{"key": pt.key, "status": ""}
		if rejected(pt.text) {
			line["status"] = `Bad Request: {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}}`
		} else {
			line["predictions"] = []any{map[string]any{"embeddings": map[string]any{
				"statistics": map[string]any{"truncated": false, "token_count": float64(len(strings.Fields(pt.text)))},
				"values":     emulator.Vector(pt.text, pt.dim)}}}
		}
		b, _ := json.Marshal(line)
		buf.Write(append(b, '\n'))
	}
	if err := f.st.Create(context.Background(), dir+"/predictions_00001.jsonl", &buf); err != nil {
		f.t.Errorf("writing predictions: %v", err)
	}
	j.output = "gs://" + fakeBucket + "/" + dir
}

// newEmbedEngineGateway is a gateway whose upstream is the fake, with the fake's engine.
func newEmbedEngineGateway(t *testing.T, vertex bool, inlineLimit int64) (*embedGateway, *embedBatchFake) {
	t.Helper()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newEmbedBatchFake(t, vertex, st)
	o := gemini.Options{Backend: gemini.Developer, BaseURL: f.srv.URL, APIKey: "gemini-key", Timeout: 5 * time.Second,
		Retry: gemini.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}
	if vertex {
		o.Backend, o.APIKey, o.Project, o.Location, o.Tokens = gemini.Vertex, "", fakeProject, fakeLocation, staticToken{}
	}
	client, err := gemini.New(o)
	if err != nil {
		t.Fatal(err)
	}
	var eng engine.Engine
	if vertex {
		eng, err = vertexbatch.New(vertexbatch.Options{Client: client, Store: st, Bucket: fakeBucket})
	} else {
		eng, err = geminibatch.New(client, st, inlineLimit)
	}
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels(`{"text-embedding-3-small":"gemini-embedding-001"}`)
	set, _ := keys.ParseList("tester:" + testKey)
	h := gateway.New(gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set), MaxBodyBytes: 4 << 20, Store: st, BatchEngine: eng})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &embedGateway{srv: srv, up: f.up, h: h,
		client: oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))}, f
}

// TestBatchEmbeddingsCloudEngines pins embeddings batches on Gemini Batch Mode (inlined, and
// from an uploaded file over the inline limit) and on Vertex AI batch prediction, end to end
// through the official client against fakes that validate every per-input request: each line's
// calls exploded into one request per input, answered out of order and put back in call
// order, each output body equal to what POST /v1/embeddings answers for the same body (base64
// and usage included), an input the engine rejects failing its line with the 400, a line
// refused at create never submitted.
func TestBatchEmbeddingsCloudEngines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vertex bool
		limit  int64
		many   int // inputs of the "many" line: several upstream calls online
	}{
		{"gemini", false, 0, 150}, // 100 + 50 per batchEmbedContents
		{"gemini-file", false, 512, 150},
		{"vertex", true, 0, 5}, // gemini-embedding-001: one instance per predict
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, f := newEmbedEngineGateway(t, tc.vertex, tc.limit)
			one := map[string]any{"model": "google/gemini-embedding-001", "input": "What is the meaning of life?", "dimensions": 64}
			many := map[string]any{"model": "text-embedding-3-small", "input": inputs(tc.many), "dimensions": 64, "encoding_format": "base64"}
			reject := map[string]any{"model": "gemini-embedding-001", "input": []string{"fine", "please reject this"}, "dimensions": 64}
			input := embedBatchLine(t, "one", "/v1/embeddings", one) +
				embedBatchLine(t, "many", "/v1/embeddings", many) +
				embedBatchLine(t, "reject", "/v1/embeddings", reject) +
				embedBatchLine(t, "unknown-model", "/v1/embeddings", map[string]any{"model": "text-embedding-ada-002", "input": "x"})
			file := upload(t, g.client, "embed.jsonl", input)
			b, err := g.client.Batches.New(t.Context(), oai.BatchNewParams{InputFileID: file.ID, Endpoint: oai.BatchNewParamsEndpointV1Embeddings,
				CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
			if err != nil {
				t.Fatalf("Batches.New: %v", err)
			}
			f.mu.Lock()
			var job *embedJob
			for _, j := range f.jobs {
				job = j
			}
			f.mu.Unlock()
			if job == nil || len(job.parts) != 1+tc.many+2 || job.fromFile != (tc.limit > 0) {
				t.Fatalf("the engine got %+v, want one request per input of the 3 valid lines", job)
			}
			b = waitBatch(t, g.client, b.ID)
			if b.Status != oai.BatchStatusCompleted || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 2 {
				t.Fatalf("batch ended %s with %+v", b.Status, b.RequestCounts)
			}
			out := fileLines(t, g.client, b.OutputFileID)
			for cid, body := range map[string]map[string]any{"one": one, "many": many} {
				var want any
				if err := json.Unmarshal(postEmbeddings(t, g, body), &want); err != nil {
					t.Fatal(err)
				}
				resp, _ := out[cid]["response"].(map[string]any)
				if resp == nil || resp["status_code"] != float64(200) {
					t.Fatalf("%s: %v", cid, out[cid])
				}
				if d := jsonDiff(want, resp["body"]); d != "" {
					t.Errorf("%s differs from the online answer:\n%s", cid, d)
				}
			}
			var list oai.CreateEmbeddingResponse
			raw, _ := json.Marshal(out["one"]["response"].(map[string]any)["body"])
			if err := json.Unmarshal(raw, &list); err != nil {
				t.Fatal(err)
			}
			checkVectors(t, &list, []string{"What is the meaning of life?"}, 64)
			errs := fileLines(t, g.client, b.ErrorFileID)
			for cid, status := range map[string]float64{"reject": 400, "unknown-model": 404} {
				if resp, _ := errs[cid]["response"].(map[string]any); resp == nil || resp["status_code"] != status {
					t.Errorf("%s: %v, want a %v response", cid, errs[cid], status)
				}
			}
			if tc.limit > 0 {
				f.mu.Lock()
				defer f.mu.Unlock()
				if len(f.deleted) != 1 || !strings.HasPrefix(f.deleted[0], "files/emb-up") {
					t.Errorf("Files API deletes %v, want the uploaded input", f.deleted)
				}
			}
		})
	}
}

// TestBatchEmbeddingsVertexOneParameterSet pins that an embeddings batch whose lines ask Vertex
// AI for different dimensions, which one batch prediction job cannot carry, is refused at create
// with a 400 naming the rule, and no job is created.
func TestBatchEmbeddingsVertexOneParameterSet(t *testing.T) {
	g, f := newEmbedEngineGateway(t, true, 0)
	input := embedBatchLine(t, "a", "/v1/embeddings", map[string]any{"model": "gemini-embedding-001", "input": "a", "dimensions": 64}) +
		embedBatchLine(t, "b", "/v1/embeddings", map[string]any{"model": "gemini-embedding-001", "input": "b", "dimensions": 128})
	file := upload(t, g.client, "embed.jsonl", input)
	_, err := g.client.Batches.New(t.Context(), oai.BatchNewParams{InputFileID: file.ID, Endpoint: oai.BatchNewParamsEndpointV1Embeddings,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
	var ae *oai.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || !strings.Contains(ae.Message, "same dimensions") {
		t.Fatalf("Batches.New: %v, want a 400 about the dimensions", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.jobs) != 0 {
		t.Errorf("%d jobs created", len(f.jobs))
	}
}
