package app_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
)

// batchLines is an input file of n chat requests.
func batchLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"custom_id":"req-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question %d"}]}}`+"\n", i, i)
	}
	return b.String()
}

// runBatch uploads input, creates a batch and polls it to its end through the official client.
func runBatch(tb testing.TB, c oai.Client, input string) *oai.Batch {
	ctx := tb.Context()
	f, err := c.Files.New(ctx, oai.FileNewParams{File: oai.File(strings.NewReader(input), "input.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := c.Batches.New(ctx, oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		tb.Fatal(err)
	}
	for b.Status == oai.BatchStatusInProgress || b.Status == oai.BatchStatusFinalizing || b.Status == oai.BatchStatusValidating {
		time.Sleep(2 * time.Millisecond)
		if b, err = c.Batches.Get(ctx, b.ID); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

func localApp(tb testing.TB) (*app.App, oai.Client) {
	cfg, err := config.Load(env(map[string]string{"GATEWAY_STORE_DIR": tb.TempDir()}))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Local = true // as functions/local (`make run`) sets it
	a, err := app.New(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler)
	tb.Cleanup(srv.Close)
	return a, oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(a.LocalKey), option.WithMaxRetries(0))
}

// TestBatchOnEmulator pins that `make run` (GATEWAY_LOCAL, the emulator, a local store) serves
// the whole Files and Batches flow offline: upload, create, poll, download the output.
func TestBatchOnEmulator(t *testing.T) {
	_, c := localApp(t)
	b := runBatch(t, c, batchLines(5))
	if b.Status != oai.BatchStatusCompleted || b.RequestCounts.Completed != 5 || b.OutputFileID == "" || b.ErrorFileID != "" {
		t.Fatalf("batch = %+v", b)
	}
	resp, err := c.Files.Content(t.Context(), b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if n := strings.Count(string(out), "\n"); n != 5 || !strings.Contains(string(out), `"custom_id":"req-3"`) || !strings.Contains(string(out), `question 3`) {
		t.Errorf("output (%d lines):\n%s", n, out)
	}
}

// BenchmarkBatch1000OnEmulator measures a 1,000-line batch through the local engine on the
// emulator, from upload to the completed batch (the closing note's number).
func BenchmarkBatch1000OnEmulator(b *testing.B) {
	_, c := localApp(b)
	input := batchLines(1000)
	b.ResetTimer()
	for range b.N {
		bt := runBatch(b, c, input)
		if bt.Status != oai.BatchStatusCompleted || bt.RequestCounts.Completed != 1000 {
			b.Fatalf("batch = %s %+v", bt.Status, bt.RequestCounts)
		}
	}
}
