package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"

	"github.com/geminigateway/gateway/shared/gateway"
)

// batchInput is an input file with three good lines and one of each kind of bad line; the
// line numbers are those the error lines must name.
const batchInput = `{"custom_id":"greet-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}}
{"custom_id":"greet-2","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"max_tokens":50}}
{"custom_id":"broken", "method":
{"custom_id":"wrong-url","method":"POST","url":"/v1/embeddings","body":{"model":"gemini-2.5-flash","input":"x"}}
{"custom_id":"refused","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"video","video":{}}]}]}}
{"custom_id":"greet-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"again"}]}}
{"custom_id":"streams","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Hi"}]}}
{"custom_id":"upstream-400","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"please reject this"}]}}
`

// batchUpstream answers like thoughtfulAnswer, except a 400 for a prompt that says "reject";
// it checks that every request it gets is a translated generateContent for the batch's model.
func batchUpstream(t *testing.T) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
			t.Errorf("upstream path %s", r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		var req struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"contents"`
		}
		if err := json.Unmarshal(b, &req); err != nil || len(req.Contents) == 0 || req.Contents[0].Role != "user" {
			t.Errorf("upstream got %s (%v): not a translated request", b, err)
		}
		if bytes.Contains(b, []byte("reject")) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}`)
			return
		}
		jsonResponse(thoughtfulAnswer)(w, r)
	})
}

// waitBatch polls the batch until it is no longer active.
func waitBatch(t *testing.T, c oai.Client, id string) *oai.Batch {
	t.Helper()
	for {
		b, err := c.Batches.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Batches.Get: %v", err)
		}
		switch b.Status {
		case oai.BatchStatusCompleted, oai.BatchStatusFailed, oai.BatchStatusCancelled, oai.BatchStatusExpired:
			return b
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("batch %s still %s", id, b.Status)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// fileLines downloads a file through the client and decodes its lines by custom_id.
func fileLines(t *testing.T, c oai.Client, id string) map[string]map[string]any {
	t.Helper()
	resp, err := c.Files.Content(t.Context(), id)
	if err != nil {
		t.Fatalf("Files.Content(%s): %v", id, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]map[string]any{}
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d of %s: %v", i+1, id, err)
		}
		cid, _ := m["custom_id"].(string)
		if cid == "" {
			cid = "line " + string(rune('0'+int(m["error"].(map[string]any)["line"].(float64))))
		}
		out[cid] = m
	}
	return out
}

func createBatch(t *testing.T, c oai.Client, input string) *oai.Batch {
	t.Helper()
	f := upload(t, c, "input.jsonl", input)
	b, err := c.Batches.New(t.Context(), oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"job": "nightly"}})
	if err != nil {
		t.Fatalf("Batches.New: %v", err)
	}
	return b
}

// TestBatchEndToEndLocalEngine pins the whole flow through the official client on the local
// engine: validation at create (bad lines never reach Gemini and land in the error file with
// their line or their 4xx response), the output lines in OpenAI's format with the body the
// online endpoint answers, counts, timestamps and the output files' objects.
func TestBatchEndToEndLocalEngine(t *testing.T) {
	up := batchUpstream(t)
	g, _ := newFilesGateway(t, up, nil)
	b := createBatch(t, g.client, batchInput)
	if b.Status != oai.BatchStatusInProgress || b.RequestCounts.Total != 8 || b.Endpoint != "/v1/chat/completions" ||
		b.CompletionWindow != "24h" || b.Metadata["job"] != "nightly" || b.InProgressAt == 0 || b.ExpiresAt != b.CreatedAt+86400 {
		t.Errorf("created batch = %+v", b)
	}
	b = waitBatch(t, g.client, b.ID)
	if b.Status != oai.BatchStatusCompleted || b.CompletedAt == 0 || b.FinalizingAt == 0 {
		t.Fatalf("batch ended %s: %+v", b.Status, b)
	}
	if c := b.RequestCounts; c.Total != 8 || c.Completed != 2 || c.Failed != 6 {
		t.Errorf("request_counts = %+v, want 8 total, 2 completed, 6 failed", c)
	}
	if n := up.calls.Load(); n != 3 {
		t.Errorf("Gemini got %d calls, want 3: refused lines are never submitted", n)
	}
	out := fileLines(t, g.client, b.OutputFileID)
	online, err := g.client.Chat.Completions.New(t.Context(), oai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hi")}})
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(online.RawJSON()), &want)
	for _, cid := range []string{"greet-1", "greet-2"} {
		l := out[cid]
		resp, _ := l["response"].(map[string]any)
		if l == nil || resp == nil || resp["status_code"] != float64(200) || l["error"] != nil || !strings.HasPrefix(l["id"].(string), "batch_req_") {
			t.Fatalf("output line %s = %v", cid, l)
		}
		body := resp["body"].(map[string]any)
		if resp["request_id"] != body["id"] {
			t.Errorf("%s: request_id %v, body id %v", cid, resp["request_id"], body["id"])
		}
		for _, k := range []string{"id", "created"} {
			delete(body, k)
			delete(want, k)
		}
		if diff := jsonDiff(want, body); diff != "" {
			t.Errorf("%s: body differs from the online answer (-online +batch):\n%s", cid, diff)
		}
	}
	errs := fileLines(t, g.client, b.ErrorFileID)
	for cid, want := range map[string]struct {
		status int
		code   string
		line   int
	}{
		"line 3":       {0, "invalid_request", 3},
		"wrong-url":    {0, "invalid_request", 4},
		"refused":      {400, "api_not_implemented", 0},
		"greet-1":      {0, "invalid_request", 6},
		"streams":      {400, "invalid_request", 0},
		"upstream-400": {400, "invalid_request", 0},
	} {
		l := errs[cid]
		if l == nil {
			t.Errorf("no error line for %s in %v", cid, errs)
			continue
		}
		e := l["error"].(map[string]any)
		if e["code"] != want.code || e["message"] == "" {
			t.Errorf("%s: error %v, want code %s", cid, e, want.code)
		}
		if want.line > 0 && (e["line"] != float64(want.line) || l["response"] != nil) {
			t.Errorf("%s: %v, want line %d and no response", cid, l, want.line)
		}
		if want.status > 0 {
			resp, _ := l["response"].(map[string]any)
			if resp == nil || resp["status_code"] != float64(want.status) || resp["body"].(map[string]any)["error"] == nil {
				t.Errorf("%s: response %v, want status %d with our error body", cid, resp, want.status)
			}
		}
	}
	for id, purpose := range map[string]string{b.OutputFileID: "batch_output", b.ErrorFileID: "batch_output"} {
		f, err := g.client.Files.Get(t.Context(), id)
		if err != nil || string(f.Purpose) != purpose || f.Bytes == 0 {
			t.Errorf("file %s = %+v, %v", id, f, err)
		}
	}
	again, err := g.client.Batches.Get(t.Context(), b.ID)
	if err != nil || again.Status != oai.BatchStatusCompleted || again.OutputFileID != b.OutputFileID || again.CompletedAt != b.CompletedAt {
		t.Errorf("a second Get changed the finished batch: %+v, %v", again, err)
	}
}

func jsonDiff(want, got any) string {
	w, _ := json.MarshalIndent(want, "", " ")
	g, _ := json.MarshalIndent(got, "", " ")
	if bytes.Equal(w, g) {
		return ""
	}
	return "online: " + string(w) + "\nbatch: " + string(g)
}

// TestBatchCancelLocalEngine pins cancel: the batch is cancelling at once, the engine stops,
// and the batch ends cancelled with what finished in the output file and the rest as
// batch_cancelled error lines.
func TestBatchCancelLocalEngine(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		jsonResponse(thoughtfulAnswer)(w, r)
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	g, _ := newFilesGateway(t, up, func(o *gateway.Options) {})
	var in strings.Builder
	for i := range 20 {
		in.WriteString(`{"custom_id":"c` + string(rune('a'+i)) + `","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}}` + "\n")
	}
	b := createBatch(t, g.client, in.String())
	c, err := g.client.Batches.Cancel(t.Context(), b.ID)
	if err != nil || c.Status != oai.BatchStatusCancelling || c.CancellingAt == 0 {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	once.Do(func() { close(release) })
	b = waitBatch(t, g.client, b.ID)
	if b.Status != oai.BatchStatusCancelled || b.CancelledAt == 0 {
		t.Fatalf("batch ended %s: %+v", b.Status, b)
	}
	rc := b.RequestCounts
	if rc.Total != 20 || rc.Completed+rc.Failed != 20 || rc.Failed == 0 {
		t.Errorf("request_counts = %+v: want 20, some cancelled", rc)
	}
	errs := fileLines(t, g.client, b.ErrorFileID)
	for cid, l := range errs {
		if code := l["error"].(map[string]any)["code"]; code != "batch_cancelled" {
			t.Errorf("%s: code %v, want batch_cancelled", cid, code)
		}
	}
	if _, err := g.client.Batches.Cancel(t.Context(), b.ID); err != nil {
		t.Errorf("cancelling a cancelled batch: %v", err)
	}
}

// TestBatchesBelongToTheirKey pins per-key visibility: another key gets 404 for the batch and
// its cancel, an empty list, 404 for its output file, and cannot run a batch on the first
// key's input file.
func TestBatchesBelongToTheirKey(t *testing.T) {
	g, _ := newFilesGateway(t, batchUpstream(t), nil)
	b := createBatch(t, g.client, batchInput)
	b = waitBatch(t, g.client, b.ID)
	other := g.otherClient()
	ctx := t.Context()
	if _, err := other.Batches.Get(ctx, b.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Get: %v", err)
	}
	if _, err := other.Batches.Cancel(ctx, b.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Cancel: %v", err)
	}
	if page, err := other.Batches.List(ctx, oai.BatchListParams{}); err != nil || len(page.Data) != 0 {
		t.Errorf("other key List = %v, %v", page, err)
	}
	if _, err := other.Files.Content(ctx, b.OutputFileID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key output content: %v", err)
	}
	if _, err := other.Batches.New(ctx, oai.BatchNewParams{InputFileID: b.InputFileID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h}); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Batches.New on the first key's file: %v", err)
	}
}

// TestBatchesListAndBadCreates pins the list (newest first, after/limit) and the 4xx answers of
// a create: unknown file, wrong endpoint, wrong window, unknown field, an output file as input,
// an input with no lines, and a cancel of a finished batch.
func TestBatchesListAndBadCreates(t *testing.T) {
	g, _ := newFilesGateway(t, batchUpstream(t), nil)
	ctx := t.Context()
	first := createBatch(t, g.client, batchInput)
	second := createBatch(t, g.client, batchInput)
	page, err := g.client.Batches.List(ctx, oai.BatchListParams{Limit: oai.Int(1)})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != second.ID || !page.HasMore {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = g.client.Batches.List(ctx, oai.BatchListParams{After: oai.String(second.ID)})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != first.ID || page.HasMore {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	done := waitBatch(t, g.client, first.ID)
	waitBatch(t, g.client, second.ID)
	if _, err := g.client.Batches.Cancel(ctx, done.ID); statusOf(err) != http.StatusBadRequest {
		t.Errorf("cancel of a completed batch: %v", err)
	}
	empty := upload(t, g.client, "empty.jsonl", "\n")
	for name, body := range map[string]string{
		"unknown file":  `{"input_file_id":"file-0000000000000000000000zz","endpoint":"/v1/chat/completions","completion_window":"24h"}`,
		"endpoint":      `{"input_file_id":"` + first.InputFileID + `","endpoint":"/v1/completions","completion_window":"24h"}`,
		"window":        `{"input_file_id":"` + first.InputFileID + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`,
		"unknown field": `{"input_file_id":"` + first.InputFileID + `","endpoint":"/v1/chat/completions","completion_window":"24h","priority":1}`,
		"output file":   `{"input_file_id":"` + done.OutputFileID + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`,
		"empty file":    `{"input_file_id":"` + empty.ID + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`,
		"not json":      `{`,
	} {
		req, _ := http.NewRequestWithContext(ctx, "POST", g.srv.URL+"/v1/batches", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusBadRequest
		if name == "unknown file" {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, b, want)
		}
	}
}

// TestBatchExpiresAfterItsWindow pins completion_window: a batch still running 24h after its
// creation is stopped at the next refresh and ends expired, with the unanswered requests as
// batch_expired error lines.
func TestBatchExpiresAfterItsWindow(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		jsonResponse(thoughtfulAnswer)(w, r)
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var mu sync.Mutex
	now := time.Unix(1795000000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g, _ := newFilesGateway(t, up, func(o *gateway.Options) { o.Now = clock })
	b := createBatch(t, g.client, batchInput)
	if got, err := g.client.Batches.Get(t.Context(), b.ID); err != nil || got.Status != oai.BatchStatusInProgress {
		t.Fatalf("within the window: %v, %v", got.Status, err)
	}
	mu.Lock()
	now = now.Add(24*time.Hour + time.Second)
	mu.Unlock()
	b = waitBatch(t, g.client, b.ID)
	once.Do(func() { close(release) })
	if b.Status != oai.BatchStatusExpired || b.ExpiredAt == 0 || b.RequestCounts.Total != 8 {
		t.Fatalf("batch ended %s: %+v", b.Status, b)
	}
	errs := fileLines(t, g.client, b.ErrorFileID)
	if code := errs["greet-2"]["error"].(map[string]any)["code"]; code != "batch_expired" {
		t.Errorf("greet-2 = %v, want batch_expired", errs["greet-2"])
	}
}
