package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/auth"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/batch/geminibatch"
	"github.com/geminigateway/gateway/shared/batch/vertexbatch"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

type staticToken struct{}

func (staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: "test-token", Type: "Bearer"}, nil
}

const (
	fakeProject  = "proj"
	fakeLocation = "us-central1"
	fakeBucket   = "gateway-bucket"
	vertexParent = "/v1/projects/" + fakeProject + "/locations/" + fakeLocation
)

// batchFake is a fake of Vertex AI batch prediction or of Gemini Batch Mode (kind "vertex" or
// "gemini"), with generateContent for the online comparison. It validates what it receives as
// Google would (paths, auth, bodies, every inner request a GenerateContentRequest for the job's
// model), moves a job from pending through running to succeeded one GET at a time (or to
// failed when fail is set, or cancelled after :cancel), and answers in reverse input order.
type batchFake struct {
	t    *testing.T
	kind string
	st   store.Store
	srv  *httptest.Server
	fail bool

	mu      sync.Mutex
	jobs    map[string]*fakeJob
	online  []json.RawMessage // generateContent bodies
	created int
	// files are the Files API's files by name: uploaded inputs and written responses files;
	// uploads the declared length of each open upload session.
	files   map[string][]byte
	uploads map[string]int64
	deleted []string // files deleted through the Files API
}

type fakeJob struct {
	state     string // pending, running, succeeded, failed, cancelling, cancelled
	lines     []engine.InputLine
	outPrefix string
	output    string // gcsOutputDirectory once written
	fromFile  bool   // created from an uploaded file: answers go to a responses file
}

func newBatchFake(t *testing.T, kind string, st store.Store) *batchFake {
	f := &batchFake{t: t, kind: kind, st: st, jobs: map[string]*fakeJob{}, files: map[string][]byte{}, uploads: map[string]int64{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *batchFake) fatal(w http.ResponseWriter, code int, status, format string, args ...any) {
	f.t.Errorf("fake %s: "+format, append([]any{f.kind}, args...)...)
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, code, fmt.Sprintf(format, args...), status)
}

func (f *batchFake) serve(w http.ResponseWriter, r *http.Request) {
	if f.kind == "vertex" && r.Header.Get("Authorization") != "Bearer test-token" {
		f.fatal(w, 401, "UNAUTHENTICATED", "no token")
		return
	}
	if f.kind == "gemini" && r.Header.Get("x-goog-api-key") != "gemini-key" {
		f.fatal(w, 403, "PERMISSION_DENIED", "no api key")
		return
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/models/gemini-2.5-flash:generateContent") && r.Method == http.MethodPost:
		f.mu.Lock()
		f.online = append(f.online, body)
		f.mu.Unlock()
		_, _ = io.WriteString(w, thoughtfulAnswer)
	case f.kind == "vertex" && p == vertexParent+"/batchPredictionJobs" && r.Method == http.MethodPost:
		f.createVertex(w, body)
	case f.kind == "gemini" && p == "/v1beta/models/gemini-2.5-flash:batchGenerateContent" && r.Method == http.MethodPost:
		f.createGemini(w, body)
	case f.kind == "gemini" && p == "/upload/v1beta/files" && r.Method == http.MethodPost:
		f.upload(w, r, body)
	case f.kind == "gemini" && strings.HasPrefix(p, "/download/v1beta/files/") && r.Method == http.MethodGet:
		name, ok := strings.CutSuffix(strings.TrimPrefix(p, "/download/v1beta/"), ":download")
		f.mu.Lock()
		b, found := f.files[name]
		f.mu.Unlock()
		if !ok || !found || r.URL.Query().Get("alt") != "media" {
			f.fatal(w, 404, "NOT_FOUND", "no file to download at %s", r.URL)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(b)
	case f.kind == "gemini" && strings.HasPrefix(p, "/v1beta/files/") && r.Method == http.MethodDelete:
		name := strings.TrimPrefix(p, "/v1beta/")
		f.mu.Lock()
		_, found := f.files[name]
		delete(f.files, name)
		f.deleted = append(f.deleted, name)
		f.mu.Unlock()
		if !found {
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"error":{"code":404,"message":"File %s does not exist.","status":"NOT_FOUND"}}`, name)
			return
		}
		_, _ = io.WriteString(w, "{}")
	case strings.HasSuffix(p, ":cancel") && r.Method == http.MethodPost:
		f.mu.Lock()
		j := f.jobs[f.jobName(strings.TrimSuffix(p, ":cancel"))]
		if j != nil && (j.state == "pending" || j.state == "running") {
			j.state = "cancelling"
		}
		f.mu.Unlock()
		if j == nil {
			f.fatal(w, 404, "NOT_FOUND", "no job %s", p)
			return
		}
		_, _ = io.WriteString(w, "{}")
	case r.Method == http.MethodGet:
		f.get(w, f.jobName(p))
	default:
		f.fatal(w, 404, "NOT_FOUND", "unexpected %s %s", r.Method, p)
	}
}

// jobName is the job's resource name from a URL path.
func (f *batchFake) jobName(p string) string {
	if f.kind == "vertex" {
		return strings.TrimPrefix(p, "/v1/")
	}
	return strings.TrimPrefix(p, "/v1beta/")
}

// checkRequests validates the inner requests as the online endpoint's would be: JSON objects
// with user contents, and nothing but Gemini request fields.
func (f *batchFake) checkRequests(lines []engine.InputLine) bool {
	seen := map[string]bool{}
	for _, l := range lines {
		var req gemini.Request
		dec := json.NewDecoder(bytes.NewReader(l.Request))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || len(req.Contents) == 0 || l.Key == "" || seen[l.Key] {
			f.t.Errorf("fake %s: inner request %s (key %q): %v", f.kind, l.Request, l.Key, err)
			return false
		}
		seen[l.Key] = true
	}
	return len(lines) > 0
}

func (f *batchFake) createVertex(w http.ResponseWriter, body []byte) {
	var req struct {
		DisplayName string `json:"displayName"`
		Model       string `json:"model"`
		InputConfig struct {
			InstancesFormat string `json:"instancesFormat"`
			GcsSource       struct {
				URIs []string `json:"uris"`
			} `json:"gcsSource"`
		} `json:"inputConfig"`
		OutputConfig struct {
			PredictionsFormat string `json:"predictionsFormat"`
			GcsDestination    struct {
				OutputURIPrefix string `json:"outputUriPrefix"`
			} `json:"gcsDestination"`
		} `json:"outputConfig"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Model != "publishers/google/models/gemini-2.5-flash" || req.DisplayName == "" ||
		req.InputConfig.InstancesFormat != "jsonl" || len(req.InputConfig.GcsSource.URIs) != 1 || req.OutputConfig.PredictionsFormat != "jsonl" {
		f.fatal(w, 400, "INVALID_ARGUMENT", "bad create body %s: %v", body, err)
		return
	}
	in, ok := strings.CutPrefix(req.InputConfig.GcsSource.URIs[0], "gs://"+fakeBucket+"/")
	out, ok2 := strings.CutPrefix(req.OutputConfig.GcsDestination.OutputURIPrefix, "gs://"+fakeBucket+"/")
	if !ok || !ok2 {
		f.fatal(w, 400, "INVALID_ARGUMENT", "uris outside the bucket: %s", body)
		return
	}
	b, _, err := store.ReadAll(context.Background(), f.st, in, 0)
	if err != nil {
		f.fatal(w, 400, "INVALID_ARGUMENT", "input %s: %v", in, err)
		return
	}
	var lines []engine.InputLine
	for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
		var l engine.InputLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			f.fatal(w, 400, "INVALID_ARGUMENT", "input line %s: %v", line, err)
			return
		}
		lines = append(lines, l)
	}
	if !f.checkRequests(lines) {
		f.fatal(w, 400, "INVALID_ARGUMENT", "bad requests")
		return
	}
	f.mu.Lock()
	f.created++
	name := fmt.Sprintf("projects/%s/locations/%s/batchPredictionJobs/%d", fakeProject, fakeLocation, 1000+f.created)
	f.jobs[name] = &fakeJob{state: "pending", lines: lines, outPrefix: out}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "displayName": req.DisplayName, "model": req.Model, "state": "JOB_STATE_PENDING"})
}

// upload is the Files API's resumable upload: a start with the declared length and type that
// answers the session URL, then one upload-and-finalize chunk of exactly that length at
// offset 0, answered with the File.
func (f *batchFake) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	h := r.Header
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := r.URL.Query().Get("upload_id"); id != "" {
		n, ok := f.uploads[id]
		if !ok || h.Get("X-Goog-Upload-Command") != "upload, finalize" || h.Get("X-Goog-Upload-Offset") != "0" || int64(len(body)) != n {
			f.fatal(w, 400, "INVALID_ARGUMENT", "bad upload chunk: session %q command %q offset %q, %d bytes of %d", id,
				h.Get("X-Goog-Upload-Command"), h.Get("X-Goog-Upload-Offset"), len(body), n)
			return
		}
		delete(f.uploads, id)
		name := "files/up" + id
		f.files[name] = body
		w.Header().Set("X-Goog-Upload-Status", "final")
		_ = json.NewEncoder(w).Encode(map[string]any{"file": map[string]any{"name": name, "mimeType": "application/jsonl",
			"sizeBytes": fmt.Sprint(len(body)), "state": "ACTIVE"}})
		return
	}
	var meta struct {
		File struct {
			DisplayName string `json:"displayName"`
		} `json:"file"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var n int64
	_, serr := fmt.Sscan(h.Get("X-Goog-Upload-Header-Content-Length"), &n)
	if err := dec.Decode(&meta); err != nil || serr != nil || n <= 0 || h.Get("X-Goog-Upload-Protocol") != "resumable" ||
		h.Get("X-Goog-Upload-Command") != "start" || h.Get("X-Goog-Upload-Header-Content-Type") == "" {
		f.fatal(w, 400, "INVALID_ARGUMENT", "bad upload start %v %s: %v", h, body, err)
		return
	}
	id := fmt.Sprint(len(f.files) + len(f.uploads) + 1)
	f.uploads[id] = n
	w.Header().Set("X-Goog-Upload-URL", f.srv.URL+"/upload/v1beta/files?upload_id="+id+"&upload_protocol=resumable")
	w.Header().Set("X-Goog-Upload-Status", "active")
}

func (f *batchFake) createGemini(w http.ResponseWriter, body []byte) {
	var req struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				FileName string `json:"fileName"`
				Requests struct {
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Batch.DisplayName == "" {
		f.fatal(w, 400, "INVALID_ARGUMENT", "bad create body %s: %v", body, err)
		return
	}
	var lines []engine.InputLine
	for _, r := range req.Batch.InputConfig.Requests.Requests {
		lines = append(lines, engine.InputLine{Key: r.Metadata.Key, Request: r.Request})
	}
	fromFile := req.Batch.InputConfig.FileName != ""
	if fromFile {
		f.mu.Lock()
		b, ok := f.files[req.Batch.InputConfig.FileName]
		f.mu.Unlock()
		if !ok || len(lines) > 0 {
			f.fatal(w, 400, "INVALID_ARGUMENT", "bad input file %q (with %d inlined requests)", req.Batch.InputConfig.FileName, len(lines))
			return
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
			var l engine.InputLine
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&l); err != nil {
				f.fatal(w, 400, "INVALID_ARGUMENT", "input file line %s: %v", line, err)
				return
			}
			lines = append(lines, l)
		}
	}
	if !f.checkRequests(lines) {
		f.fatal(w, 400, "INVALID_ARGUMENT", "bad requests")
		return
	}
	f.mu.Lock()
	f.created++
	name := fmt.Sprintf("batches/fake%d", f.created)
	f.jobs[name] = &fakeJob{state: "pending", lines: lines, fromFile: fromFile}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "metadata": map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch", "model": "models/gemini-2.5-flash",
		"displayName": req.Batch.DisplayName, "state": "BATCH_STATE_PENDING"}})
}

// rejects reports whether the fake answers this request with an error.
func rejects(req json.RawMessage) bool { return bytes.Contains(req, []byte("reject")) }

func (f *batchFake) get(w http.ResponseWriter, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[name]
	if j == nil {
		f.fatal(w, 404, "NOT_FOUND", "no job %s", name)
		return
	}
	switch j.state {
	case "pending":
		j.state = "running"
	case "running":
		j.state = "succeeded"
		if f.fail {
			j.state = "failed"
		} else if f.kind == "vertex" {
			f.writePredictions(j)
		}
	case "cancelling":
		j.state = "cancelled"
	}
	if f.kind == "vertex" {
		out := map[string]any{"name": name, "state": map[string]string{"pending": "JOB_STATE_PENDING", "running": "JOB_STATE_RUNNING",
			"succeeded": "JOB_STATE_SUCCEEDED", "failed": "JOB_STATE_FAILED", "cancelling": "JOB_STATE_CANCELLING", "cancelled": "JOB_STATE_CANCELLED"}[j.state]}
		if j.output != "" {
			out["outputInfo"] = map[string]any{"gcsOutputDirectory": j.output}
		}
		if j.state == "failed" {
			out["error"] = map[string]any{"code": 3, "message": "Failed to read the input file."}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	meta := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
		"state": map[string]string{"pending": "BATCH_STATE_PENDING", "running": "BATCH_STATE_RUNNING", "succeeded": "BATCH_STATE_SUCCEEDED",
			"failed": "BATCH_STATE_FAILED", "cancelling": "BATCH_STATE_RUNNING", "cancelled": "BATCH_STATE_CANCELLED"}[j.state]}
	out := map[string]any{"name": name, "metadata": meta}
	switch j.state {
	case "succeeded":
		var answers []any
		for i := len(j.lines) - 1; i >= 0; i-- { // not in input order
			l := j.lines[i]
			if rejects(l.Request) {
				answers = append(answers, map[string]any{"metadata": map[string]string{"key": l.Key},
					"error": map[string]any{"code": 3, "message": "Request contains an invalid argument."}})
				continue
			}
			answers = append(answers, map[string]any{"metadata": map[string]string{"key": l.Key}, "response": json.RawMessage(thoughtfulAnswer)})
		}
		out["done"] = true
		output := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput",
			"inlinedResponses": map[string]any{"inlinedResponses": answers}}
		if j.fromFile {
			// The answers go to a responses file of {"key", "response"|"error"} lines.
			var buf bytes.Buffer
			for _, a := range answers {
				m := a.(map[string]any)
				line := map[string]any{"key": m["metadata"].(map[string]string)["key"]}
				if e, ok := m["error"]; ok {
					line["error"] = e
				} else {
					line["response"] = m["response"]
				}
				b, _ := json.Marshal(line)
				buf.Write(append(b, '\n'))
			}
			file := "files/out-" + strings.TrimPrefix(name, "batches/")
			f.files[file] = buf.Bytes()
			output = map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput",
				"responsesFile": file}
		}
		out["response"] = output
	case "failed":
		out["done"] = true
		out["error"] = map[string]any{"code": 13, "message": "Batch failed."}
	case "cancelled":
		out["done"] = true
	}
	_ = json.NewEncoder(w).Encode(out)
}

// writePredictions writes Vertex's output lines under the job's output prefix, in reverse order.
func (f *batchFake) writePredictions(j *fakeJob) {
	dir := j.outPrefix + "prediction-model-2026-11-28T00:00:00.000000Z"
	var buf bytes.Buffer
	for i := len(j.lines) - 1; i >= 0; i-- {
		l := j.lines[i]
		line := map[string]any{"key": l.Key, "request": l.Request, "processed_time": "2026-11-28T00:00:01.000+00:00"}
		if rejects(l.Request) {
			line["status"] = `Bad Request: {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}}`
		} else {
			line["status"] = ""
			line["response"] = json.RawMessage(thoughtfulAnswer)
		}
		b, _ := json.Marshal(line)
		buf.Write(append(b, '\n'))
	}
	if err := f.st.Create(context.Background(), dir+"/predictions.jsonl", &buf); err != nil {
		f.t.Errorf("writing predictions: %v", err)
	}
	j.output = "gs://" + fakeBucket + "/" + dir
}

// newEngineGateway is a gateway on the fake's backend with the fake's batch engine.
func newEngineGateway(t *testing.T, kind string) (*gw, *batchFake) {
	g, f, _ := newEngineHandler(t, kind)
	return g, f
}

// newEngineHandler is newEngineGateway that also returns the handler.
func newEngineHandler(t *testing.T, kind string) (*gw, *batchFake, *gateway.Handler) {
	return newEngineHandlerLimit(t, kind, 0)
}

// newEngineHandlerLimit is newEngineHandler with Batch Mode's inline limit set (0: the default).
func newEngineHandlerLimit(t *testing.T, kind string, inlineLimit int64) (*gw, *batchFake, *gateway.Handler) {
	t.Helper()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newBatchFake(t, kind, st)
	opts := gemini.Options{Backend: gemini.Developer, BaseURL: f.srv.URL, APIKey: "gemini-key", Timeout: 5 * time.Second,
		Retry: gemini.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}
	if kind == "vertex" {
		opts = gemini.Options{Backend: gemini.Vertex, BaseURL: f.srv.URL, Project: fakeProject, Location: fakeLocation, Tokens: staticToken{},
			Timeout: 5 * time.Second, Retry: gemini.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}
	}
	client, err := gemini.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var eng engine.Engine
	if kind == "vertex" {
		eng, err = vertexbatch.New(vertexbatch.Options{Client: client, Store: st, Bucket: fakeBucket})
	} else {
		eng, err = geminibatch.New(client, st, inlineLimit)
	}
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels("")
	set, _ := keys.ParseList("tester:" + testKey + ",other:" + otherKey)
	h := gateway.New(gateway.Options{Client: client, Models: models, Keys: keys.NewStore(set),
		IncludeThoughts: true, MaxBodyBytes: 1 << 20, Store: st, BatchEngine: eng})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &gw{srv: srv, client: oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))}, f, h
}

// TestBatchEngines pins the Vertex AI and Batch Mode engines end to end through the official
// client against fakes that validate what they receive: only the valid lines are submitted, as
// the requests the online endpoint sends; answers in reverse order map back by key; the output
// body equals the online answer; a request the engine rejects is a 400 error line; and the
// batch moves in_progress -> completed over refreshes.
func TestBatchEngines(t *testing.T) {
	for _, kind := range []string{"vertex", "gemini"} {
		t.Run(kind, func(t *testing.T) {
			g, f := newEngineGateway(t, kind)
			b := createBatch(t, g.client, batchInput)
			if b.Status != oai.BatchStatusInProgress {
				t.Fatalf("created %s", b.Status)
			}
			f.mu.Lock()
			var job *fakeJob
			for _, j := range f.jobs {
				job = j
			}
			f.mu.Unlock()
			if job == nil || len(job.lines) != 3 {
				t.Fatalf("the engine got %v, want the 3 valid lines", job)
			}
			b = waitBatch(t, g.client, b.ID)
			if b.Status != oai.BatchStatusCompleted || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 6 {
				t.Fatalf("batch ended %s with %+v", b.Status, b.RequestCounts)
			}
			online, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
				Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}})
			if err != nil {
				t.Fatal(err)
			}
			// The first valid line is that same request: the engine got the body online sends.
			var sent, onlineSent any
			_ = json.Unmarshal(job.lines[0].Request, &sent)
			f.mu.Lock()
			_ = json.Unmarshal(f.online[len(f.online)-1], &onlineSent)
			f.mu.Unlock()
			if d := jsonDiff(onlineSent, sent); d != "" {
				t.Errorf("batch request differs from the online one:\n%s", d)
			}
			out := fileLines(t, g.client, b.OutputFileID)
			var want map[string]any
			_ = json.Unmarshal([]byte(online.RawJSON()), &want)
			delete(want, "id")
			delete(want, "created")
			for _, cid := range []string{"greet-1", "greet-2"} {
				body, _ := out[cid]["response"].(map[string]any)["body"].(map[string]any)
				delete(body, "id")
				delete(body, "created")
				if d := jsonDiff(want, body); d != "" {
					t.Errorf("%s differs from the online answer:\n%s", cid, d)
				}
			}
			errs := fileLines(t, g.client, b.ErrorFileID)
			resp, _ := errs["upstream-400"]["response"].(map[string]any)
			if resp == nil || resp["status_code"] != float64(400) {
				t.Errorf("engine-rejected line: %v", errs["upstream-400"])
			}
			if len(errs) != 6 {
				t.Errorf("error file has %d lines, want 6", len(errs))
			}
			other := g.otherClient()
			if _, err := other.Batches.Get(t.Context(), b.ID); statusOf(err) != http.StatusNotFound {
				t.Errorf("other key: %v, want 404", err)
			}
		})
	}
}

// TestBatchEnginesCancelAndFail pins the other ends of a job on both engines: a cancel moves the
// batch to cancelling and, once the engine reports the job cancelled, to cancelled with every
// request a batch_cancelled error line; a failed job makes the batch failed with the engine's
// message in errors.
func TestBatchEnginesCancelAndFail(t *testing.T) {
	for _, kind := range []string{"vertex", "gemini"} {
		t.Run(kind+"/cancel", func(t *testing.T) {
			g, _ := newEngineGateway(t, kind)
			b := createBatch(t, g.client, batchInput)
			c, err := g.client.Batches.Cancel(t.Context(), b.ID)
			if err != nil || c.Status != oai.BatchStatusCancelling {
				t.Fatalf("Cancel = %v, %v", c.Status, err)
			}
			b = waitBatch(t, g.client, b.ID)
			if b.Status != oai.BatchStatusCancelled || b.CancelledAt == 0 || b.RequestCounts.Completed != 0 || b.RequestCounts.Failed != 8 {
				t.Fatalf("batch ended %s with %+v", b.Status, b.RequestCounts)
			}
			errs := fileLines(t, g.client, b.ErrorFileID)
			if code := errs["greet-2"]["error"].(map[string]any)["code"]; code != "batch_cancelled" {
				t.Errorf("greet-2: %v", errs["greet-2"])
			}
		})
		t.Run(kind+"/failed", func(t *testing.T) {
			g, f := newEngineGateway(t, kind)
			f.fail = true
			b := createBatch(t, g.client, batchInput)
			b = waitBatch(t, g.client, b.ID)
			if b.Status != oai.BatchStatusFailed || b.FailedAt == 0 || len(b.Errors.Data) != 1 || b.Errors.Data[0].Message == "" {
				t.Fatalf("batch ended %s: %+v", b.Status, b)
			}
			if b.OutputFileID != "" || b.RequestCounts.Failed != 8 {
				t.Errorf("failed batch: output %q, counts %+v", b.OutputFileID, b.RequestCounts)
			}
		})
	}
}

// TestConcurrentRefreshesAgree pins the compare-and-swap updates: many GETs racing on a batch as
// its job finishes all end on the same final record (same output file, same completion time),
// and the output file exists once.
func TestConcurrentRefreshesAgree(t *testing.T) {
	g, _ := newEngineGateway(t, "gemini")
	b := createBatch(t, g.client, batchInput)
	var wg sync.WaitGroup
	final := make([]*oai.Batch, 8)
	for i := range final {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := g.client.Batches.Get(t.Context(), b.ID)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if got.Status == oai.BatchStatusCompleted {
					final[i] = got
					return
				}
				if got.Status != oai.BatchStatusInProgress && got.Status != oai.BatchStatusFinalizing {
					t.Errorf("status %s", got.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range final[1:] {
		if f == nil || final[0] == nil || f.OutputFileID != final[0].OutputFileID || f.CompletedAt != final[0].CompletedAt ||
			f.RequestCounts.Failed != final[0].RequestCounts.Failed || f.RequestCounts.Completed != 2 {
			t.Fatalf("refreshes disagree: %+v vs %+v", f, final[0])
		}
	}
	page, err := g.client.Files.List(t.Context(), oai.FileListParams{Purpose: oai.String("batch_output")})
	if err != nil || len(page.Data) != 2 {
		t.Errorf("batch_output files = %+v, %v; want the output and the error file once each", page, err)
	}
}

// TestRefreshBatchesFinalizesUnasked pins the scheduled sweep: with nobody calling GET, sweeps
// bring a batch to completed with its output file, and a finished batch leaves the sweep's index.
func TestRefreshBatchesFinalizesUnasked(t *testing.T) {
	g, _, h := newEngineHandler(t, "vertex")
	b := createBatch(t, g.client, batchInput)
	ended := 0
	for range 10 {
		n, err := h.RefreshBatches(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ended += n; ended > 0 {
			break
		}
	}
	if ended != 1 {
		t.Fatalf("sweeps ended %d batches, want 1", ended)
	}
	page, err := g.client.Batches.List(t.Context(), oai.BatchListParams{}) // List does not refresh
	if err != nil || len(page.Data) != 1 || page.Data[0].Status != oai.BatchStatusCompleted || page.Data[0].OutputFileID == "" {
		t.Fatalf("after the sweeps: %+v, %v", page, err)
	}
	if n, err := h.RefreshBatches(t.Context()); n != 0 || err != nil {
		t.Errorf("a sweep after the end: %d, %v; want nothing left to do", n, err)
	}
	_ = b
}

// TestBatchGeminiFileInput pins Batch Mode for a batch over the inline limit end to end through
// the official client: the translated requests uploaded with the resumable protocol, the batch
// created from the file, the answers (out of order) read from the responses file by key, and
// the output bodies what the online endpoint answers, and the uploaded file deleted once they
// were read.
func TestBatchGeminiFileInput(t *testing.T) {
	g, f, _ := newEngineHandlerLimit(t, "gemini", 256)
	b := createBatch(t, g.client, batchInput)
	f.mu.Lock()
	var job *fakeJob
	for _, j := range f.jobs {
		job = j
	}
	f.mu.Unlock()
	if job == nil || !job.fromFile || len(job.lines) != 3 {
		t.Fatalf("the engine got %+v, want the 3 valid lines from an uploaded file", job)
	}
	b = waitBatch(t, g.client, b.ID)
	if b.Status != oai.BatchStatusCompleted || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 6 {
		t.Fatalf("batch ended %s with %+v", b.Status, b.RequestCounts)
	}
	online, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}})
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(online.RawJSON()), &want)
	delete(want, "id")
	delete(want, "created")
	out := fileLines(t, g.client, b.OutputFileID)
	for _, cid := range []string{"greet-1", "greet-2"} {
		body, _ := out[cid]["response"].(map[string]any)["body"].(map[string]any)
		delete(body, "id")
		delete(body, "created")
		if d := jsonDiff(want, body); d != "" {
			t.Errorf("%s differs from the online answer:\n%s", cid, d)
		}
	}
	errs := fileLines(t, g.client, b.ErrorFileID)
	if resp, _ := errs["upstream-400"]["response"].(map[string]any); resp == nil || resp["status_code"] != float64(400) {
		t.Errorf("engine-rejected line: %v", errs["upstream-400"])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deleted) == 0 || f.deleted[0] != "files/up1" {
		t.Errorf("Files API deletes %v, want the uploaded input files/up1", f.deleted)
	}
	for name := range f.files {
		if strings.HasPrefix(name, "files/up") {
			t.Errorf("uploaded file %s left behind", name)
		}
	}
}
