package batch_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/batch/batchtest"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/translate"
)

// TestSlowMediaIsAPermanentLineError pins issue 12 item 4 in batch jobs, through the real
// gateway handler: a line whose image_url is slower than the media timeout gets a 400 result
// line naming the part and the event is done (no redelivery), instead of a 504 that asks the
// platform to retry the same slow URL again and again.
func TestSlowMediaIsAPermanentLineError(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(slow.Close)
	var upCalls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP"}]}`))
	}))
	t.Cleanup(up.Close)
	client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: up.URL, APIKey: "k", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	models, _ := translate.NewModels("")
	h := gateway.New(gateway.Options{Client: client, Models: models, FetchHTTPMedia: true,
		Fetcher: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: 200 * time.Millisecond})})

	s := batchtest.NewMemStore()
	r := batch.NewRunner(h, s.Bucket, testConfig, batchtest.Logger(t))
	line := `{"custom_id":"slow-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[` +
		`{"role":"user","content":[{"type":"text","text":"what is it"},{"type":"image_url","image_url":{"url":"` + slow.URL + `/cat.png"}}]}]}}`
	if err := r.RunMessage(t.Context(), "m1", []byte(line)); err != nil {
		t.Fatalf("RunMessage = %v (transient %v), want nil: the line failed for good", err, batch.Transient(err))
	}
	out, ok := s.Object("output/messages/slow-1/m1.json")
	if !ok {
		t.Fatalf("no result written; objects: %v", s.Names(""))
	}
	var res struct {
		Response struct {
			StatusCode int `json:"status_code"`
			Body       struct {
				Error struct{ Code, Param, Message string }
			}
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Response.StatusCode != http.StatusBadRequest || res.Response.Body.Error.Param != "messages[0].content[1]" ||
		!strings.Contains(res.Response.Body.Error.Message, "in time") {
		t.Errorf("result line = %s", out)
	}
	if n := upCalls.Load(); n != 0 {
		t.Errorf("Gemini was called %d times", n)
	}
}
