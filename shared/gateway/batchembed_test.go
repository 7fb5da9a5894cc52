package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/store"
)

// embedBatchLine is one /v1/embeddings input line.
func embedBatchLine(t *testing.T, customID, url string, body map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"custom_id": customID, "method": "POST", "url": url, "body": body})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// postEmbeddings answers body through the online endpoint and returns the raw answer.
func postEmbeddings(t *testing.T, g *embedGateway, body map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+"/v1/embeddings", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("online embeddings: %d %s", resp.StatusCode, out)
	}
	return out
}

// TestBatchEmbeddingsLocalEngine pins embeddings batches through the official client on the
// local engine: lines validated and translated at create by the online decoder and translator
// (refused lines never reach Gemini and land in the error file with the 4xx the online
// endpoint answers), a request of more inputs than one call carries split into calls as online,
// and each output body equal to what POST /v1/embeddings answers for the same body.
func TestBatchEmbeddingsLocalEngine(t *testing.T) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := newEmbedGateway(t, newGoogleEmbed(t, false), func(o *gateway.Options) { o.Store = st })
	one := map[string]any{"model": "google/gemini-embedding-001", "input": "What is the meaning of life?"}
	many := map[string]any{"model": "text-embedding-3-small", "input": inputs(150), "dimensions": 64, "encoding_format": "base64"}
	input := embedBatchLine(t, "one", "/v1/embeddings", one) +
		embedBatchLine(t, "many", "/v1/embeddings", many) +
		embedBatchLine(t, "unknown-model", "/v1/embeddings", map[string]any{"model": "text-embedding-ada-002", "input": "x"}) +
		embedBatchLine(t, "no-input", "/v1/embeddings", map[string]any{"model": "gemini-embedding-001"}) +
		embedBatchLine(t, "wrong-url", "/v1/chat/completions", one)
	f, err := g.client.Files.New(t.Context(), oai.FileNewParams{
		File: oai.File(strings.NewReader(input), "embed.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		t.Fatalf("Files.New: %v", err)
	}
	b, err := g.client.Batches.New(t.Context(), oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1Embeddings,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatalf("Batches.New: %v", err)
	}
	if b.Endpoint != "/v1/embeddings" || b.RequestCounts.Total != 5 {
		t.Fatalf("created %s with %+v", b.Endpoint, b.RequestCounts)
	}
	b = waitEmbedBatch(t, g, b.ID)
	if b.Status != oai.BatchStatusCompleted || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 3 {
		t.Fatalf("batch ended %s with %+v", b.Status, b.RequestCounts)
	}
	g.up.mu.Lock()
	calls := append([]string(nil), g.up.paths...)
	g.up.mu.Unlock()
	// "one" is one call, "many" two (at most 100 inputs a call); refused lines none.
	if len(calls) != 3 {
		t.Errorf("upstream calls = %v, want 3", calls)
	}
	for _, p := range calls {
		if p != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
			t.Errorf("upstream path %s", p)
		}
	}

	out := fileLines(t, g.client, b.OutputFileID)
	for cid, body := range map[string]map[string]any{"one": one, "many": many} {
		var want, got any
		if err := json.Unmarshal(postEmbeddings(t, g, body), &want); err != nil {
			t.Fatal(err)
		}
		resp, _ := out[cid]["response"].(map[string]any)
		if resp == nil || resp["status_code"] != float64(200) || out[cid]["error"] != nil {
			t.Fatalf("%s: %v", cid, out[cid])
		}
		got = resp["body"]
		if d := jsonDiff(want, got); d != "" {
			t.Errorf("%s differs from the online answer:\n%s", cid, d)
		}
	}
	// The official client reads the body as an embeddings response.
	var list oai.CreateEmbeddingResponse
	raw, _ := json.Marshal(out["one"]["response"].(map[string]any)["body"])
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	checkVectors(t, &list, []string{"What is the meaning of life?"}, 3072)

	errs := fileLines(t, g.client, b.ErrorFileID)
	if len(errs) != 3 {
		t.Errorf("error file has %d lines, want 3: %v", len(errs), errs)
	}
	for cid, status := range map[string]float64{"unknown-model": 404, "no-input": 400} {
		resp, _ := errs[cid]["response"].(map[string]any)
		if resp == nil || resp["status_code"] != status {
			t.Errorf("%s: %v, want a %v response", cid, errs[cid], status)
		}
	}
	if e, _ := errs["wrong-url"]["error"].(map[string]any); e == nil || !strings.Contains(fmt.Sprint(e["message"]), "url must be") {
		t.Errorf("wrong-url: %v", errs["wrong-url"])
	}
}

// TestBatchEmbeddingsOneModel pins that a batch runs one embedding model: a line for another
// is refused at create.
func TestBatchEmbeddingsOneModel(t *testing.T) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := newEmbedGateway(t, newGoogleEmbed(t, false), func(o *gateway.Options) { o.Store = st })
	input := embedBatchLine(t, "a", "/v1/embeddings", map[string]any{"model": "gemini-embedding-001", "input": "a"}) +
		embedBatchLine(t, "b", "/v1/embeddings", map[string]any{"model": "gemini-embedding-exp-03-07", "input": "b"})
	f, err := g.client.Files.New(t.Context(), oai.FileNewParams{
		File: oai.File(strings.NewReader(input), "embed.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.client.Batches.New(t.Context(), oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1Embeddings,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b = waitEmbedBatch(t, g, b.ID)
	if b.RequestCounts.Completed != 1 || b.RequestCounts.Failed != 1 {
		t.Fatalf("counts %+v", b.RequestCounts)
	}
	errs := fileLines(t, g.client, b.ErrorFileID)
	if e, _ := errs["b"]["error"].(map[string]any); e == nil || !strings.Contains(fmt.Sprint(e["message"]), "one model") {
		t.Errorf("b: %v", errs["b"])
	}
}

func waitEmbedBatch(t *testing.T, g *embedGateway, id string) *oai.Batch {
	t.Helper()
	return waitBatch(t, g.client, id)
}
