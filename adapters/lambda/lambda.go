// Package lambda runs the gateway on AWS Lambda: one handler takes every event the function is
// wired to (a Function URL or an API Gateway HTTP API request, an SQS batch, an S3 notification)
// and hands it to the core — the http.Handler for requests, the batch jobs for the rest.
//
// The event kind is told apart by looking at the raw event JSON, not by configuration:
// Records[0].eventSource is "aws:sqs" or "aws:s3"; a requestContext.http object marks a payload
// v2 HTTP request (Function URL or HTTP API). Every other event is refused.
//
// It holds no gateway logic: requests become *http.Request values, responses are streamed
// (Function URL RESPONSE_STREAM) or buffered (HTTP API, BUFFERED URLs), and the batch runner's
// outcome for each job becomes the platform's answer (an SQS batch item failure, an error for
// an S3 event).
package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/geminigateway/gateway/shared/batch"
)

// Mode says how HTTP responses go back to Lambda.
type Mode string

const (
	// Stream writes the response as the handler produces it, for a Function URL with
	// invoke mode RESPONSE_STREAM. Requests that came through API Gateway, which cannot take
	// a stream, are still answered buffered.
	Stream Mode = "stream"
	// Buffered returns the whole response at once, for API Gateway HTTP APIs (payload format
	// 2.0) and Function URLs in BUFFERED mode. Lambda caps such responses at 6 MB.
	Buffered Mode = "buffered"
)

// Config is what the Lambda handler serves with.
type Config struct {
	// Handler serves HTTP requests (the gateway).
	Handler http.Handler
	// Mode picks streamed or buffered HTTP responses (GATEWAY_LAMBDA_MODE); empty means Stream.
	Mode Mode
	// Jobs takes SQS and S3 jobs: the batch runner, which refuses them (Redeliver) when batch
	// jobs are not configured. It must be set.
	Jobs batch.Jobs
	// Concurrency bounds how many messages of one SQS batch run at once; 0 means 4.
	// Messages of a FIFO queue always run one at a time, in order.
	Concurrency int
	// Logger gets one line per recovered panic and ignored S3 record; nil means slog.Default().
	Logger *slog.Logger
	// Refresh, when set, is the scheduled refresh of running batches (the gateway's
	// RefreshBatches), run for the event {"gateway_task":"refresh_batches"} (refresh.go).
	Refresh func(context.Context) (int, error)
	// Close, when set, runs on SIGTERM (sent to the runtime when an extension is registered).
	Close func()
}

// Handler is the function given to aws-lambda-go's lambda.Start.
type Handler func(ctx context.Context, event json.RawMessage) (any, error)

// NewHandler returns the handler that tells the event kinds apart and dispatches them.
//
// Its results are: *events.LambdaFunctionURLStreamingResponse (Stream) or
// events.LambdaFunctionURLResponse (Buffered) for HTTP requests, events.SQSEventResponse for
// SQS, and nil for S3. An error return goes to the Runtime API's /error: Lambda then fails the
// request, or redelivers the SQS batch or S3 event.
func NewHandler(cfg Config) Handler {
	if cfg.Mode == "" {
		cfg.Mode = Stream
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return (&adapter{cfg}).handle
}

// adapter is the handler's state: its Config with the defaults filled in.
type adapter struct{ Config }

// kind is the kind of an incoming event.
type kind int

const (
	unknownEvent kind = iota
	httpEvent         // Function URL or API Gateway HTTP API, payload format 2.0
	sqsEvent          // SQS batch
	s3Event           // S3 event notification
	taskEvent         // a scheduled task: {"gateway_task": ...} (refresh.go)
)

// probe holds the few fields that tell the event kinds apart.
type probe struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	RequestContext struct {
		HTTP json.RawMessage `json:"http"`
	} `json:"requestContext"`
	Task string `json:"gateway_task"`
}

// kindOf tells which kind of event raw is. Records[0].eventSource names SQS ("aws:sqs") and S3
// ("aws:s3"); an object at requestContext.http is a payload v2 HTTP request. An API Gateway
// REST (v1) event has requestContext.httpMethod instead, and is unknown.
func kindOf(raw []byte) kind {
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return unknownEvent
	}
	if len(p.Records) > 0 {
		switch p.Records[0].EventSource {
		case "aws:sqs":
			return sqsEvent
		case "aws:s3":
			return s3Event
		}
		return unknownEvent
	}
	if len(p.RequestContext.HTTP) > 0 && p.RequestContext.HTTP[0] == '{' {
		return httpEvent
	}
	if p.Task != "" {
		return taskEvent
	}
	return unknownEvent
}

var errUnsupported = errors.New("unsupported event")

func (a *adapter) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	switch kindOf(raw) {
	case httpEvent:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding HTTP request event: %w", err)
		}
		return a.serveHTTP(ctx, &ev)
	case sqsEvent:
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding SQS event: %w", err)
		}
		return a.sqs(ctx, &ev), nil
	case s3Event:
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding S3 event: %w", err)
		}
		return nil, a.s3(ctx, &ev)
	case taskEvent:
		var t struct {
			Task string `json:"gateway_task"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("decoding task event: %w", err)
		}
		return a.refresh(ctx, t.Task)
	}
	return nil, fmt.Errorf("%w: not a Function URL/HTTP API v2 request, SQS batch or S3 notification (%.80s)", errUnsupported, raw)
}
