// Command lambda is the AWS Lambda bootstrap (runtime provided.al2023): one binary for every
// event the function is wired to. Build it as deployed:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./functions/lambda
//
// The gateway is built from the settings (config.Load with os.Getenv) during the Lambda init
// phase; a bad setting is reported to the Runtime API's /runtime/init/error and the process
// exits. Function URL responses are streamed (invoke mode RESPONSE_STREAM) unless
// GATEWAY_LAMBDA_MODE=buffered (a BUFFERED URL); API Gateway HTTP API responses are always
// buffered. SQS and S3 jobs run when GATEWAY_OUTPUT_BUCKET is set.
//
// Besides the settings it reads what Lambda itself sets: AWS_LAMBDA_RUNTIME_API, and the
// region and execution-role credentials for the S3 client.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/geminigateway/gateway/adapters/lambda"
	"github.com/geminigateway/gateway/adapters/s3store"
	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/config"
)

func main() { lambda.Start(os.Getenv("AWS_LAMBDA_RUNTIME_API"), build) }

func build(ctx context.Context) (lambda.Config, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return lambda.Config{}, err
	}
	var client *s3.Client
	if cfg.Batch.OutputBucket != "" || cfg.StoreBucket != "" {
		if client, err = s3Client(); err != nil {
			return lambda.Config{}, err
		}
	}
	return assemble(ctx, cfg, client)
}

// assemble builds the Config on client (nil when no bucket is set): the object store on
// GATEWAY_STORE_BUCKET and the job runner's buckets. Tests call it with a client on an S3 fake.
func assemble(ctx context.Context, cfg config.Config, client *s3.Client) (lambda.Config, error) {
	var o app.Options
	if cfg.StoreBucket != "" {
		o.Store = s3store.New(client, cfg.StoreBucket)
	}
	a, err := app.NewWith(ctx, cfg, o)
	if err != nil {
		return lambda.Config{}, err
	}
	var open func(string) batch.Store
	if cfg.Batch.OutputBucket != "" {
		open = func(bucket string) batch.Store { return s3store.New(client, bucket) }
	}
	return lambda.Config{Handler: a.Handler, Mode: lambda.Mode(cfg.LambdaMode), Jobs: batch.NewRunner(a.Handler, open, cfg.Batch, a.Logger),
		Concurrency: cfg.Batch.Concurrency, Logger: a.Logger, Close: a.Close, Refresh: a.Handler.RefreshBatches}, nil
}

// s3Client builds the S3 client from what Lambda puts in the environment: the region and the
// execution role's credentials. This skips the SDK's config package (shared config files, SSO,
// IMDS), which Lambda does not need and which would grow the binary.
func s3Client() (*s3.Client, error) {
	region := os.Getenv("AWS_REGION")
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return nil, errors.New("GATEWAY_OUTPUT_BUCKET or GATEWAY_STORE_BUCKET is set but AWS_REGION, AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not (Lambda sets them)")
	}
	creds := credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	return s3.New(s3.Options{Region: region, Credentials: aws.NewCredentialsCache(creds)}), nil
}
