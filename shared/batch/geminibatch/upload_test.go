package geminibatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// filesFake is the Files API and Batch Mode for a file-input batch. It validates the
// resumable upload as Google documents it (start headers; the session URL and a chunk
// granularity answered; chunks at the offset the session is at, each but the last a multiple of
// the granularity sent with "upload", the last with "upload, finalize" ending at the declared
// length; "query" answering the size received), that every uploaded line is a {"key","request"}
// line, that the batch create names the uploaded file and inlines nothing, and records the
// deletes of files.
type filesFake struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	declared int64
	received []byte
	uploaded []byte // once finalized
	chunks   int
	queries  int
	// failChunk, when > 0, fails that chunk (numbered from 1) with a 503 after keeping its
	// first granularity bytes, as a server does that persisted part of a chunk.
	failChunk int
	created   bool
	answers   []byte
	deleted   []string
}

const granularity = 16

func newFilesFake(t *testing.T) *filesFake {
	f := &filesFake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func fakeError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, code, msg, status)
}

func (f *filesFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("x-goog-api-key") != "k" {
		fakeError(w, 403, "PERMISSION_DENIED", "no key")
		return
	}
	session := r.URL.Query().Get("upload_id")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/upload/v1beta/files" && session == "":
		h := r.Header
		n, err := strconv.ParseInt(h.Get("X-Goog-Upload-Header-Content-Length"), 10, 64)
		if h.Get("X-Goog-Upload-Protocol") != "resumable" || h.Get("X-Goog-Upload-Command") != "start" || err != nil || n <= 0 ||
			h.Get("X-Goog-Upload-Header-Content-Type") != "application/jsonl" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			f.t.Errorf("upload start headers: %v", h)
			fakeError(w, 400, "INVALID_ARGUMENT", "bad upload start")
			return
		}
		var meta struct {
			File struct {
				DisplayName string `json:"displayName"`
			} `json:"file"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil || meta.File.DisplayName == "" {
			f.t.Errorf("upload start body: %v", err)
			fakeError(w, 400, "INVALID_ARGUMENT", "bad metadata")
			return
		}
		f.declared = n
		w.Header().Set("X-Goog-Upload-URL", f.srv.URL+"/upload/v1beta/files?upload_id=sess1&upload_protocol=resumable")
		w.Header().Set("X-Goog-Upload-Chunk-Granularity", strconv.Itoa(granularity))
		w.Header().Set("X-Goog-Upload-Status", "active")
		return
	}
	if r.Method == http.MethodPost && session == "sess1" {
		f.chunk(w, r)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1beta/models/gemini-2.5-flash:batchGenerateContent":
		var body struct {
			Batch struct {
				DisplayName string `json:"displayName"`
				InputConfig struct {
					FileName string          `json:"fileName"`
					Requests json.RawMessage `json:"requests"`
				} `json:"inputConfig"`
			} `json:"batch"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Batch.InputConfig.FileName != "files/in123" || body.Batch.InputConfig.Requests != nil || f.uploaded == nil {
			f.t.Errorf("batch create: %+v (%v)", body, err)
			fakeError(w, 400, "INVALID_ARGUMENT", "bad batch")
			return
		}
		f.created = true
		_, _ = io.WriteString(w, `{"name":"batches/777","metadata":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch","model":"models/gemini-2.5-flash","state":"BATCH_STATE_PENDING","inputConfig":{"fileName":"files/in123"}}}`)
	case r.Method == http.MethodGet && r.URL.Path == "/v1beta/batches/777":
		_, _ = io.WriteString(w, `{"name":"batches/777","metadata":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch","state":"BATCH_STATE_SUCCEEDED","output":{"responsesFile":"files/out456"}},"done":true,"response":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput","responsesFile":"files/out456"}}`)
	case r.Method == http.MethodGet && r.URL.Path == "/download/v1beta/files/out456:download" && r.URL.Query().Get("alt") == "media":
		_, _ = w.Write(f.answers)
	case r.Method == http.MethodDelete && r.URL.Path == "/v1beta/files/in123":
		f.deleted = append(f.deleted, "files/in123")
		if len(f.deleted) > 1 {
			fakeError(w, 404, "NOT_FOUND", "File files/in123 does not exist.")
			return
		}
		_, _ = io.WriteString(w, "{}")
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		fakeError(w, 404, "NOT_FOUND", "no such thing")
	}
}

// chunk serves one request on the upload session.
func (f *filesFake) chunk(w http.ResponseWriter, r *http.Request) {
	h := r.Header
	cmd := h.Get("X-Goog-Upload-Command")
	if f.uploaded != nil {
		f.t.Errorf("upload %q after the upload was finalized", cmd)
		fakeError(w, 400, "INVALID_ARGUMENT", "finalized")
		return
	}
	if cmd == "query" {
		f.queries++
		w.Header().Set("X-Goog-Upload-Status", "active")
		w.Header().Set("X-Goog-Upload-Size-Received", strconv.Itoa(len(f.received)))
		return
	}
	f.chunks++
	off, err := strconv.ParseInt(h.Get("X-Goog-Upload-Offset"), 10, 64)
	last := off+r.ContentLength == f.declared
	if err != nil || off != int64(len(f.received)) || r.ContentLength <= 0 || off+r.ContentLength > f.declared ||
		(cmd == "upload" && (last || r.ContentLength%granularity != 0)) || (cmd == "upload, finalize" && !last) ||
		(cmd != "upload" && cmd != "upload, finalize") {
		f.t.Errorf("upload chunk %d: command %q offset %q length %d (have %d of %d)", f.chunks, cmd,
			h.Get("X-Goog-Upload-Offset"), r.ContentLength, len(f.received), f.declared)
		fakeError(w, 400, "INVALID_ARGUMENT", "bad upload chunk")
		return
	}
	b, _ := io.ReadAll(r.Body)
	if f.chunks == f.failChunk {
		f.received = append(f.received, b[:min(len(b), granularity)]...)
		fakeError(w, 503, "UNAVAILABLE", "The service is currently unavailable.")
		return
	}
	f.received = append(f.received, b...)
	if cmd == "upload" {
		w.Header().Set("X-Goog-Upload-Status", "active")
		return
	}
	for i, line := range bytes.Split(bytes.TrimSpace(f.received), []byte("\n")) {
		var in struct {
			Key     string          `json:"key"`
			Request json.RawMessage `json:"request"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || in.Key == "" || !bytes.HasPrefix(in.Request, []byte(`{"contents"`)) {
			f.t.Errorf("uploaded line %d: %s (%v)", i+1, line, err)
		}
	}
	f.uploaded = f.received
	w.Header().Set("X-Goog-Upload-Status", "final")
	_, _ = io.WriteString(w, `{"file":{"name":"files/in123","mimeType":"application/jsonl","sizeBytes":"`+strconv.Itoa(len(f.uploaded))+`","state":"ACTIVE"}}`)
}

// TestFileInputBatch pins Batch Mode for a job over the inline limit: the input object is
// uploaded as it is stored through the resumable upload protocol in chunks of the granularity
// the session asks for, a chunk that failed after the server kept part of it resumed where the
// server says it is (query), the batch is created with inputConfig.fileName, the answers are
// read from the downloaded responses file and matched on their key, not their order, and the
// uploaded file is deleted once they were read (a second delete's 404 tolerated).
func TestFileInputBatch(t *testing.T) {
	f := newFilesFake(t)
	answers, err := os.ReadFile("testdata/responses-file.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	f.answers = answers
	c, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: f.srv.URL, APIKey: "k",
		Retry: gemini.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := store.NewDir(t.TempDir())
	var input strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&input, `{"key":"%d","request":{"contents":[{"role":"user","parts":[{"text":"question %d"}]}]}}`+"\n", i, i)
	}
	if err := st.Create(t.Context(), "in.jsonl", strings.NewReader(input.String())); err != nil {
		t.Fatal(err)
	}
	e, err := New(c, st, 64) // every job here is over the inline limit
	if err != nil {
		t.Fatal(err)
	}
	e.chunk = 20 // rounded up to 32, two granules
	f.failChunk = 3
	ref, err := e.Submit(t.Context(), engine.Job{ID: "batch_x", Model: "gemini-2.5-flash", Input: "in.jsonl", Work: "w/", Count: 3})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	f.mu.Lock()
	if !f.created || string(f.uploaded) != input.String() {
		t.Errorf("uploaded %q, created %v; want the stored input as it is", f.uploaded, f.created)
	}
	// 32-byte chunks, one of them sent again from the 16 bytes the server kept.
	if want := (input.Len()+31)/32 + 1; f.chunks != want || f.queries != 1 {
		t.Errorf("%d chunks and %d queries for %d bytes, want %d and 1", f.chunks, f.queries, input.Len(), want)
	}
	if len(f.deleted) != 0 {
		t.Errorf("deleted %v before the answers were read", f.deleted)
	}
	f.mu.Unlock()
	if s, err := e.Poll(t.Context(), ref); err != nil || s.State != engine.Succeeded {
		t.Fatalf("Poll = %+v, %v", s, err)
	}
	got := map[string]engine.Result{}
	if err := e.Results(t.Context(), ref, func(r engine.Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3", len(got))
	}
	if !bytes.Contains(got["1"].Response, []byte(`"one"`)) || !bytes.Contains(got["3"].Response, []byte(`"three"`)) {
		t.Errorf("answers not matched on key: 1=%s 3=%s", got["1"].Response, got["3"].Response)
	}
	if e := got["2"].Error; e == nil || e.HTTPStatus != http.StatusBadRequest || e.Status != "INVALID_ARGUMENT" || got["2"].Response != nil {
		t.Errorf("key 2 = %+v, want the INVALID_ARGUMENT error", got["2"])
	}
	// Read again (a concurrent finalize): the same answers, the delete's 404 tolerated.
	n := 0
	if err := e.Results(t.Context(), ref, func(engine.Result) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("second Results: %d answers, %v", n, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deleted) != 2 {
		t.Errorf("deletes %v, want files/in123 after each read", f.deleted)
	}
}

// TestFileUploadRefused pins that a refused upload is the job's error, and no batch is created.
func TestFileUploadRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/upload/v1beta/files" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
		fakeError(w, 429, "RESOURCE_EXHAUSTED", "File storage quota exceeded.")
	}))
	defer srv.Close()
	c, _ := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: srv.URL, APIKey: "k"})
	st, _ := store.NewDir(t.TempDir())
	_ = st.Create(t.Context(), "in.jsonl", strings.NewReader(strings.Repeat(`{"key":"1","request":{"contents":[]}}`+"\n", 4)))
	e, _ := New(c, st, 16)
	_, err := e.Submit(t.Context(), engine.Job{ID: "batch_y", Model: "gemini-2.5-flash", Input: "in.jsonl", Work: "w/", Count: 4})
	var ae *gemini.APIError
	if !asAPIError(err, &ae) || ae.HTTPStatus != http.StatusTooManyRequests {
		t.Fatalf("Submit: %v, want the 429", err)
	}
}
