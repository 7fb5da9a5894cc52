// Command lambda is the AWS Lambda bootstrap (runtime provided.al2023): one binary for every
// event the function is wired to. Build it as deployed:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./functions/lambda
//
// The gateway is built from the environment during the Lambda init phase; a bad setting is
// reported to the Runtime API's /runtime/init/error and the process exits. Function URL
// responses are streamed (invoke mode RESPONSE_STREAM) unless GATEWAY_LAMBDA_MODE=buffered (a
// BUFFERED URL); API Gateway HTTP API responses are always buffered. SQS and S3 jobs run when
// GATEWAY_OUTPUT_BUCKET is set.
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
)

func main() { lambda.Start(build) }

func build(ctx context.Context) (lambda.Config, error) {
	mode, err := lambda.ModeFromEnv(os.Getenv)
	if err != nil {
		return lambda.Config{}, err
	}
	bcfg, err := batch.ConfigFromEnv(os.Getenv)
	if err != nil {
		return lambda.Config{}, err
	}
	a, err := app.New(ctx, os.Getenv)
	if err != nil {
		return lambda.Config{}, err
	}
	cfg := lambda.Config{Handler: a.Handler, Mode: mode, Transient: batch.Transient,
		Concurrency: bcfg.Concurrency, Logger: a.Logger, Close: a.Close}
	if bcfg.OutputBucket != "" {
		client, err := s3Client(os.Getenv)
		if err != nil {
			a.Close()
			return lambda.Config{}, err
		}
		cfg.Jobs = jobs{batch.NewRunner(a.Handler, s3store.New(client, bcfg.OutputBucket), bcfg, a.Logger), client}
	}
	return cfg, nil
}

// s3Client builds the S3 client from what Lambda puts in the environment: the region and the
// execution role's credentials. This skips the SDK's config package (shared config files, SSO,
// IMDS), which Lambda does not need and which would grow the binary.
func s3Client(getenv func(string) string) (*s3.Client, error) {
	region := getenv("AWS_REGION")
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return nil, errors.New("GATEWAY_OUTPUT_BUCKET is set but AWS_REGION, AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not (Lambda sets them)")
	}
	creds := credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	return s3.New(s3.Options{Region: region, Credentials: aws.NewCredentialsCache(creds)}), nil
}

// jobs runs files from the bucket named by each S3 record.
type jobs struct {
	runner *batch.Runner
	client *s3.Client
}

func (j jobs) RunMessage(ctx context.Context, msg []byte) error { return j.runner.RunMessage(ctx, msg) }

func (j jobs) RunFile(ctx context.Context, bucket, name string) error {
	return j.runner.RunFile(ctx, s3store.New(j.client, bucket), name)
}
