package geminibatch

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

// TestResultsFromDocumentedOperation pins how a finished batch's answers are read: matched on
// metadata.key whatever their order, an answer without metadata taken by its position in the
// input, and a per-request google.rpc error turned into its HTTP status.
func TestResultsFromDocumentedOperation(t *testing.T) {
	op, err := os.ReadFile("testdata/operation-succeeded.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1beta/batches/123456" || r.Header.Get("x-goog-api-key") != "k" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		_, _ = w.Write(op)
	}))
	defer srv.Close()
	c, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := store.NewDir(t.TempDir())
	input := `{"key":"1","request":{"contents":[{"role":"user","parts":[{"text":"a"}]}]}}
{"key":"2","request":{"contents":[{"role":"user","parts":[{"text":"b"}]}]}}
{"key":"3","request":{"contents":[{"role":"user","parts":[{"text":"c"}]}]}}
`
	if err := st.Create(t.Context(), "in.jsonl", strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	e, err := New(c, st, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref := "batches/123456 in.jsonl"
	s, err := e.Poll(t.Context(), ref)
	if err != nil || s.State != engine.Succeeded {
		t.Fatalf("Poll = %+v, %v", s, err)
	}
	got := map[string]engine.Result{}
	if err := e.Results(t.Context(), ref, func(r engine.Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got["1"].Response, []byte(`"one"`)) || got["1"].Error != nil {
		t.Errorf("key 1 = %+v", got["1"])
	}
	// The second answer has no metadata: by its position it is the second input line's.
	if r := got["2"]; !bytes.Contains(r.Response, []byte(`"two"`)) || r.Error != nil {
		t.Errorf("key 2 (by position) = %s %+v", r.Response, r.Error)
	}
	if r := got["3"]; r.Error == nil || r.Error.HTTPStatus != 400 || r.Response != nil {
		t.Errorf("key 3 = %+v, want the 400 error", r)
	}
	if len(got) != 3 {
		t.Errorf("answers: %v, want 3", got)
	}
	var first struct {
		Response struct {
			InlinedResponses struct {
				InlinedResponses []inlinedResponse `json:"inlinedResponses"`
			} `json:"inlinedResponses"`
		} `json:"response"`
	}
	_ = json.Unmarshal(op, &first)
	if e := engine.RPCError(first.Response.InlinedResponses.InlinedResponses[0].Error.Code, "", "x"); e.HTTPStatus != 400 || e.Status != "INVALID_ARGUMENT" {
		t.Errorf("rpc code 3 = %+v, want 400 INVALID_ARGUMENT", e)
	}
}

// TestPollStateNames pins that both the BATCH_STATE_* names of the reference and the
// JOB_STATE_* names Google's guide shows are understood.
func TestPollStateNames(t *testing.T) {
	for state, want := range map[string]engine.State{
		"BATCH_STATE_PENDING": engine.Running, "BATCH_STATE_RUNNING": engine.Running, "JOB_STATE_SUCCEEDED": engine.Succeeded,
		"BATCH_STATE_FAILED": engine.Failed, "JOB_STATE_CANCELLED": engine.Cancelled, "BATCH_STATE_EXPIRED": engine.Expired,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"name":"batches/1","metadata":{"state":"` + state + `"}}`))
		}))
		c, _ := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: srv.URL, APIKey: "k"})
		e, _ := New(c, nil, 0)
		s, err := e.Poll(t.Context(), "batches/1 in.jsonl")
		srv.Close()
		if err != nil || s.State != want {
			t.Errorf("%s: %+v, %v; want %s", state, s, err, want)
		}
	}
}

// TestEmbedResultsFromDocumentedOperation pins how an embeddings batch's answers are read: the
// documented inlinedEmbedContentResponses found in metadata.output, each EmbedContentResponse's
// embedding put back into its line in call order whatever the answer order, and an input's
// google.rpc error failing its line.
func TestEmbedResultsFromDocumentedOperation(t *testing.T) {
	op, err := os.ReadFile("testdata/operation-embed-succeeded.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1beta/batches/emb42" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		_, _ = w.Write(op)
	}))
	defer srv.Close()
	c, _ := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: srv.URL, APIKey: "k"})
	st, _ := store.NewDir(t.TempDir())
	e, _ := New(c, st, 0)
	ref := "batches/emb42 w/embed-requests.jsonl embed"
	got := map[string]engine.Result{}
	if err := e.Results(t.Context(), ref, func(r engine.Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if s := string(got["a"].Response); s != `[{"embeddings":[{"values": [0.1, 0.2]}]},{"embeddings":[{"values": [0.3, -0.4]}]}]` {
		t.Errorf("line a = %s", s)
	}
	if r := got["b"]; r.Error == nil || r.Error.HTTPStatus != http.StatusBadRequest || r.Response != nil {
		t.Errorf("line b = %+v", r)
	}
}

// TestEndedJobDeletesUpload pins that a job that ends without answers to read (failed,
// cancelled, expired) has its uploaded input file deleted when its end is seen, a 404 from an
// earlier delete tolerated; a running job's file is kept.
func TestEndedJobDeletesUpload(t *testing.T) {
	for state, deletes := range map[string]int{"BATCH_STATE_RUNNING": 0, "BATCH_STATE_FAILED": 1, "BATCH_STATE_CANCELLED": 1, "BATCH_STATE_EXPIRED": 1} {
		var deleted int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodGet && r.URL.Path == "/v1beta/batches/9":
				_, _ = w.Write([]byte(`{"name":"batches/9","metadata":{"state":"` + state + `"}}`))
			case r.Method == http.MethodDelete && r.URL.Path == "/v1beta/files/up9":
				deleted++
				fakeError(w, 404, "NOT_FOUND", "gone") // already deleted: tolerated
			default:
				t.Errorf("unexpected %s %s", r.Method, r.URL)
			}
		}))
		c, _ := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: srv.URL, APIKey: "k"})
		st, _ := store.NewDir(t.TempDir())
		e, _ := New(c, st, 0)
		if _, err := e.Poll(t.Context(), "batches/9 in.jsonl files/up9"); err != nil {
			t.Errorf("%s: Poll: %v", state, err)
		}
		if deleted != deletes {
			t.Errorf("%s: %d deletes, want %d", state, deleted, deletes)
		}
		srv.Close()
	}
}
