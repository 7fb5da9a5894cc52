// Command testbootstrap is the Lambda bootstrap the adapter's tests build and run against a fake
// Runtime API: the real adapter and aws-lambda-go runtime loop, serving a stand-in handler and
// fake jobs instead of the gateway, so the tests need neither the core nor a network.
//
// The stand-in routes:
//
//	/v1/chat/completions  three SSE events then [DONE]; after event i it calls GET $GATE_URL/i
//	                      (when set) and waits for the answer, so a test can prove each event
//	                      left the process before the next was written
//	/panic                panics before writing anything
//	/panic-mid            writes one event, then panics
//	anything else         200 {"path": ...}
//
// Every response carries X-Deadline: the request context's deadline in Unix milliseconds.
//
// Settings come from shared/config (GATEWAY_LAMBDA_MODE). Fake jobs: a message or file named
// "transient…" is to be redelivered; anything else is done.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/config"
)

func main() {
	lambda.Start(os.Getenv("AWS_LAMBDA_RUNTIME_API"), func(context.Context) (lambda.Config, error) {
		cfg, err := config.Load(os.Getenv)
		if err != nil {
			return lambda.Config{}, err
		}
		return lambda.Config{
			Handler: standIn{gate: os.Getenv("GATE_URL")},
			Mode:    lambda.Mode(cfg.LambdaMode),
			Jobs:    fakeJobs{},
		}, nil
	})
}

type standIn struct{ gate string }

func (s standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d, ok := r.Context().Deadline(); ok {
		w.Header().Set("X-Deadline", strconv.FormatInt(d.UnixMilli(), 10))
	}
	rc := http.NewResponseController(w)
	switch r.URL.Path {
	case "/v1/chat/completions":
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			_ = rc.Flush()
			if s.gate != "" {
				resp, err := http.Get(s.gate + "/" + strconv.Itoa(i))
				if err != nil {
					panic(err)
				}
				resp.Body.Close()
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	case "/panic":
		w.Header().Set("Content-Type", "text/event-stream")
		panic("boom")
	case "/panic-mid":
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"n\":1}\n\n")
		_ = rc.Flush()
		panic("boom mid-stream")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}
}

// fakeJobs answers by name: "transient…" is Redeliver, anything else Ack.
type fakeJobs struct{}

func (fakeJobs) Handle(_ context.Context, j batch.Job) batch.Outcome {
	if strings.HasPrefix(string(j.Message), "transient") || strings.HasPrefix(j.Name, "transient") {
		return batch.Redeliver
	}
	return batch.Ack
}
