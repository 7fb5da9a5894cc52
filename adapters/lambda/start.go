package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
)

// Start builds the Config with build and runs aws-lambda-go's runtime loop with NewHandler; it
// does not return. build runs once, before the first invocation is fetched, so the Lambda init
// phase pays for it. If it fails, Start writes one line to stderr, reports the error to the
// Runtime API at runtimeAPI (the main passes AWS_LAMBDA_RUNTIME_API; aws-lambda-go never
// reports init errors) and exits with status 1: Lambda then fails the invocation with the
// message instead of a bare "Runtime exited".
func Start(runtimeAPI string, build func(context.Context) (Config, error)) {
	cfg, err := build(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: init failed: %v\n", err)
		if runtimeAPI != "" {
			if rerr := reportInitError(runtimeAPI, err); rerr != nil {
				fmt.Fprintf(os.Stderr, "gateway: reporting the init error: %v\n", rerr)
			}
		}
		os.Exit(1)
	}
	var opts []awslambda.Option
	if cfg.Close != nil {
		opts = append(opts, awslambda.WithEnableSIGTERM(cfg.Close))
	}
	awslambda.StartWithOptions(NewHandler(cfg), opts...)
}

// initErrorType is the error type reported for a failed init, as the Runtime API docs suggest
// for a function that cannot start with its configuration.
const initErrorType = "Runtime.ConfigError"

// reportInitError posts err to http://api/2018-06-01/runtime/init/error.
func reportInitError(api string, err error) error {
	body, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{err.Error(), initErrorType})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", initErrorType)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, rerr := client.Do(req)
	if rerr != nil {
		return rerr
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("runtime API answered %s", resp.Status)
	}
	return nil
}
