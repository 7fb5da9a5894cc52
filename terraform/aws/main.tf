# Gemini Gateway on AWS Lambda, calling Vertex AI through workload identity federation.
#
# ONE function handles every event kind. The `bootstrap` binary tells the events apart by their
# shape: Function URL requests (HTTP, streamed back with invoke mode RESPONSE_STREAM), SQS
# batches (one request line per message, partial failures reported through batchItemFailures)
# and S3 ObjectCreated notifications (a *.jsonl batch file). One function means one IAM role, so
# the Google side trusts exactly one assumed-role identity; the SQS event source is capped
# (queue_max_concurrency) so queued jobs cannot starve HTTP traffic of concurrency.
#
# Files: main.tf (function, role, logs, URL), jobs.tf (SQS and S3), google.tf (workload identity
# pool and provider, service account, client-key secret).
#
# No Google key file exists anywhere: the function's AWS credentials (from its role) sign an STS
# GetCallerIdentity request, Google STS exchanges it for a federated token, and that token
# impersonates the gateway's service account. The credential configuration below holds no secret.
#
# `terraform validate` needs the provider plugins, which this repository's CI cannot download:
# argument names follow the hashicorp/aws 6.x and hashicorp/google 6.x/7.x documentation.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  aws_account_id = data.aws_caller_identity.current.account_id
  function_name  = var.name
  log_group_name = "/aws/lambda/${local.function_name}"

  # What Google STS sees for the function: the role's assumed-role ARN without the session name
  # (the default AWS attribute mapping strips it, see google.tf).
  lambda_assumed_role_arn = "arn:${data.aws_partition.current.partition}:sts::${local.aws_account_id}:assumed-role/${aws_iam_role.lambda.name}"

  keys_secret_version_name = "${google_secret_manager_secret.client_keys.id}/versions/latest"

  # external_account credential configuration, as `gcloud iam workload-identity-pools
  # create-cred-config --aws` writes it. On Lambda the AWS credentials and region come from the
  # environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION), so the
  # metadata URLs are never called; they are kept for fidelity with the generated file.
  google_external_account_json = jsonencode({
    universe_domain                   = "googleapis.com"
    type                              = "external_account"
    audience                          = "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.aws.name}"
    subject_token_type                = "urn:ietf:params:aws:token-type:aws4_request"
    token_url                         = "https://sts.googleapis.com/v1/token"
    service_account_impersonation_url = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${google_service_account.lambda.email}:generateAccessToken"
    credential_source = {
      environment_id                 = "aws1"
      region_url                     = "http://169.254.169.254/latest/meta-data/placement/availability-zone"
      url                            = "http://169.254.169.254/latest/meta-data/iam/security-credentials"
      regional_cred_verification_url = "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
    }
  })

  environment_variables = {
    for key, value in merge(
      {
        GATEWAY_BACKEND               = "vertex"
        GOOGLE_CLOUD_PROJECT          = var.google_project_id
        GOOGLE_CLOUD_LOCATION         = var.vertex_location
        GOOGLE_EXTERNAL_ACCOUNT_JSON  = local.google_external_account_json
        GATEWAY_KEYS_SECRET           = local.keys_secret_version_name
        GATEWAY_OUTPUT_BUCKET         = aws_s3_bucket.output.bucket
        GATEWAY_STORE_BUCKET          = aws_s3_bucket.store.bucket
        GATEWAY_VERTEX_STAGING_BUCKET = var.vertex_staging ? google_storage_bucket.vertex_staging[0].name : null
        GATEWAY_OUTPUT_PREFIX         = var.output_prefix
        GATEWAY_INPUT_PREFIX          = var.input_prefix
        GATEWAY_BATCH_CONCURRENCY     = tostring(var.batch_concurrency)
        GATEWAY_MODEL_ALIASES         = length(var.model_aliases) > 0 ? jsonencode(var.model_aliases) : null
        GATEWAY_CORS_ORIGINS          = join(",", var.cors_origins)
        GATEWAY_MAX_BODY_BYTES        = var.max_body_bytes == null ? null : tostring(var.max_body_bytes)
        GATEWAY_UPSTREAM_TIMEOUT      = var.upstream_timeout
      },
      {
        # Which engine runs a bucket file: online, or the batch engine above the threshold.
        GATEWAY_BATCH_BUCKET_ENGINE    = var.batch_bucket_engine
        GATEWAY_BATCH_ONLINE_MAX_LINES = tostring(var.batch_online_max_lines)
      },
      var.extra_environment_variables,
    ) : key => value if value != null && value != ""
  }
}

# -----------------------------------------------------------------------------------------------
# Role
# -----------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.name}-lambda"
  description        = "Execution role of the ${var.name} Lambda; Google trusts its assumed-role identity."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    sid = "ConsumeJobQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.jobs.arn]
  }

  statement {
    sid       = "ReadBatchInput"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.input.arn}/${var.input_prefix}*"]
  }

  # GetObject and ListBucket let a redelivered event find a finished result (and tell a missing
  # object from a forbidden one) instead of running and billing the request again.
  statement {
    sid       = "WriteResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] # DeleteObject: release claims and remove work objects once the final files exist
    resources = ["${aws_s3_bucket.output.arn}/${var.output_prefix}*"]
  }

  statement {
    sid       = "ListResults"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.output.arn]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${var.name}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# -----------------------------------------------------------------------------------------------
# Function
# -----------------------------------------------------------------------------------------------

# Created before the function so Lambda does not create it without a retention.
resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "gateway" {
  function_name = local.function_name
  description   = "Gemini Gateway: OpenAI Chat Completions API served by Gemini (HTTP, SQS and S3 jobs)."
  role          = aws_iam_role.lambda.arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"

  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment_variables
  }

  tags = var.tags

  lifecycle {
    precondition {
      # Lambda's limit is 4 KB for all variables together; the JSON form slightly overcounts.
      condition     = length(jsonencode(local.environment_variables)) <= 4096
      error_message = "The function's environment variables exceed Lambda's 4 KB limit; shorten model_aliases or extra_environment_variables."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.store,
  ]
}

# -----------------------------------------------------------------------------------------------
# Function URL (HTTP API, streamed)
# -----------------------------------------------------------------------------------------------

# CORS is left to the gateway (GATEWAY_CORS_ORIGINS): a URL-level CORS block would add its own
# headers and answer preflights before the gateway sees them.
resource "aws_lambda_function_url" "gateway" {
  function_name      = aws_lambda_function.gateway.function_name
  authorization_type = var.function_url_auth_type
  invoke_mode        = "RESPONSE_STREAM"
}

# A public URL (auth type NONE) needs two resource-policy statements since October 2025:
# lambda:InvokeFunctionUrl for auth type NONE, and lambda:InvokeFunction limited to invocations
# that come through a function URL. The provider also adds statements of its own when it creates
# a NONE URL ("FunctionURLAllowPublicAccess", and on 6.28+ "FunctionURLAllowInvokeAction"), which
# are not tracked in state; these statement ids differ from those so neither side collides with
# the other whatever the order, and these two stay under Terraform's control.
resource "aws_lambda_permission" "url_public_invoke_url" {
  count = var.function_url_auth_type == "NONE" ? 1 : 0

  statement_id           = "GatewayFunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.gateway.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "url_public_invoke_function" {
  count = var.function_url_auth_type == "NONE" ? 1 : 0

  statement_id             = "GatewayFunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.gateway.function_name
  principal                = "*"
  invoked_via_function_url = true
}
