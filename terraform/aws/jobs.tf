# Asynchronous jobs in the OpenAI Batch line format.
#
#   SQS: one request line per message -> the function -> <output_prefix><custom_id>.json in the
#        output bucket. Failed messages are reported individually (ReportBatchItemFailures) and
#        come back after the visibility timeout; after queue_max_receive_count deliveries they
#        move to the dead-letter queue.
#   S3:  a *.jsonl object created under input_prefix in the input bucket -> the function ->
#        <output_prefix><name>.output.jsonl in the output bucket. Results go to a separate
#        bucket, so writing them never triggers another run.

resource "aws_sqs_queue" "jobs_dlq" {
  name                      = "${var.name}-jobs-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to inspect and redrive
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "jobs" {
  name = "${var.name}-jobs"
  # AWS recommends six times the function timeout, so a message is not handed out again while a
  # batch that holds it (plus retries of throttled invocations) is still running.
  visibility_timeout_seconds = 6 * var.timeout
  message_retention_seconds  = 345600 # 4 days
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.jobs_dlq.arn
    maxReceiveCount     = var.queue_max_receive_count
  })

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "jobs" {
  event_source_arn                   = aws_sqs_queue.jobs.arn
  function_name                      = aws_lambda_function.gateway.arn
  batch_size                         = var.queue_batch_size
  maximum_batching_window_in_seconds = var.queue_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.queue_max_concurrency == null ? [] : [var.queue_max_concurrency]

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.queue_batch_size <= 10 || var.queue_batching_window_seconds >= 1
      error_message = "A queue_batch_size above 10 needs queue_batching_window_seconds of at least 1."
    }
  }

  # The role must be able to read the queue before Lambda starts polling it.
  depends_on = [aws_iam_role_policy.lambda]
}

# -----------------------------------------------------------------------------------------------
# Buckets
# -----------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "input" {
  bucket        = "${var.name}-${local.aws_account_id}-input"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "input" {
  bucket = aws_s3_bucket.input.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket" "output" {
  bucket        = "${var.name}-${local.aws_account_id}-output"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

# Per-line results a batch run saves so a redelivered event re-runs only unfinished lines; the
# final output files hold everything, so these can go after a while.
resource "aws_s3_bucket_lifecycle_configuration" "output" {
  bucket = aws_s3_bucket.output.id

  rule {
    id     = "expire-batch-work"
    status = "Enabled"

    filter {
      prefix = "${var.output_prefix}.work/"
    }

    expiration {
      days = var.work_retention_days
    }
  }
}

resource "aws_s3_bucket_public_access_block" "output" {
  bucket = aws_s3_bucket.output.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_lambda_permission" "s3_input" {
  statement_id   = "AllowInputBucketNotifications"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.gateway.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.input.arn
  source_account = local.aws_account_id
}

# A bucket has exactly one notification configuration; this resource owns the input bucket's.
resource "aws_s3_bucket_notification" "input" {
  bucket = aws_s3_bucket.input.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.gateway.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.input_prefix
    filter_suffix       = ".jsonl"
  }

  # S3 checks that it may invoke the function when the configuration is saved.
  depends_on = [aws_lambda_permission.s3_input]
}
