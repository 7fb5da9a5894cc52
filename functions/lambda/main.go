// Command lambda is the AWS Lambda bootstrap (runtime provided.al2023): one binary for every
// event the function is wired to. Build it as deployed:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./functions/lambda
//
// The gateway is built from the settings (config.Load with os.Getenv) during the Lambda init
// phase; a bad setting is reported to the Runtime API's /runtime/init/error and the process
// exits. Function URL responses are streamed (invoke mode RESPONSE_STREAM) unless
// GATEWAY_LAMBDA_MODE=buffered (a BUFFERED URL); API Gateway HTTP API responses are always
// buffered. SQS and S3 jobs run when GATEWAY_OUTPUT_BUCKET is set. On the vertex backend,
// GATEWAY_VERTEX_STAGING_BUCKET names the Cloud Storage bucket Vertex AI batch prediction reads
// and writes, opened with the function's federated Google credentials (the ones Vertex calls
// use), so batches run on Vertex rather than on the function.
//
// Besides the settings it reads what Lambda itself sets: AWS_LAMBDA_RUNTIME_API, and the
// region and execution-role credentials for the S3 client, and the SDK's standard S3 endpoint
// override (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, path-style) for a local or compatible S3.
package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/option"

	"github.com/geminigateway/gateway/adapters/gcsstore"
	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/adapters/s3store"
	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/store"
)

func main() { lambda.Start(os.Getenv("AWS_LAMBDA_RUNTIME_API"), build) }

func build(ctx context.Context) (lambda.Config, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return lambda.Config{}, err
	}
	var client *s3.Client
	if cfg.Batch.OutputBucket != "" || cfg.StoreBucket != "" {
		if client, err = s3Client(os.Getenv); err != nil {
			return lambda.Config{}, err
		}
	}
	return assemble(ctx, cfg, client)
}

// assemble builds the Config on client (nil when no bucket is set): the object store on
// GATEWAY_STORE_BUCKET, the job runner's buckets and, when Vertex batch prediction needs it, the
// Cloud Storage staging bucket (GATEWAY_VERTEX_STAGING_BUCKET) through a Cloud Storage client
// made with gcsOpts besides the credentials. Tests call it with clients on an S3 and a GCS fake.
func assemble(ctx context.Context, cfg config.Config, client *s3.Client, gcsOpts ...option.ClientOption) (lambda.Config, error) {
	var o app.Options
	if cfg.StoreBucket != "" {
		o.Store = s3store.New(client, cfg.StoreBucket)
	}
	if cfg.Batch.OutputBucket != "" {
		o.Open = func(bucket string) store.Store { return s3store.New(client, bucket) }
	}
	o.OpenStaging = func(ctx context.Context, creds *auth.Credentials, bucket string) (store.Store, func(), error) {
		gcs, err := storage.NewClient(ctx, append([]option.ClientOption{option.WithAuthCredentials(creds)}, gcsOpts...)...)
		if err != nil {
			return nil, nil, err
		}
		return gcsstore.New(gcs, bucket), func() { _ = gcs.Close() }, nil
	}
	a, err := app.NewWith(ctx, cfg, o)
	if err != nil {
		return lambda.Config{}, err
	}
	return lambda.Config{Handler: a.Handler, Mode: lambda.Mode(cfg.LambdaMode), Jobs: a.Jobs,
		Concurrency: cfg.Batch.Concurrency, Logger: a.Logger, Close: a.Close, Refresh: a.Refresh}, nil
}

// s3Client builds the S3 client from what Lambda puts in the environment: the region and the
// execution role's credentials. This skips the SDK's config package (shared config files, SSO,
// IMDS), which Lambda does not need and which would grow the binary. It honours the standard
// endpoint override as that package would (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL), with
// path-style addressing, so the job paths run against a local S3 or an S3-compatible store.
func s3Client(getenv func(string) string) (*s3.Client, error) {
	region := getenv("AWS_REGION")
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return nil, errors.New("GATEWAY_OUTPUT_BUCKET or GATEWAY_STORE_BUCKET is set but AWS_REGION, AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not (Lambda sets them)")
	}
	creds := credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	opts := s3.Options{Region: region, Credentials: aws.NewCredentialsCache(creds)}
	if ep := s3Endpoint(getenv); ep != "" {
		opts.BaseEndpoint, opts.UsePathStyle = aws.String(ep), true
	}
	return s3.New(opts), nil
}

// s3Endpoint is the S3 endpoint override the SDK's config loader reads: the service-specific
// AWS_ENDPOINT_URL_S3 first, then the global AWS_ENDPOINT_URL ("" when neither is set).
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
func s3Endpoint(getenv func(string) string) string {
	if ep := strings.TrimSpace(getenv("AWS_ENDPOINT_URL_S3")); ep != "" {
		return ep
	}
	return strings.TrimSpace(getenv("AWS_ENDPOINT_URL"))
}
