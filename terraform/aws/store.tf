# The gateway's object store (GATEWAY_STORE_BUCKET): uploaded files, batches and their output
# files (/v1/files, /v1/batches) and stored Responses API responses.
#
# An EventBridge Scheduler schedule invokes the function every five minutes with the refresh
# marker {"gateway_task":"refresh_batches"}; the function then finalizes the batches whose job
# has ended, so a batch gets its output file even when nobody polls it.

resource "aws_s3_bucket" "store" {
  bucket        = "${var.name}-${local.aws_account_id}-store"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "store" {
  bucket = aws_s3_bucket.store.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Files, batches and responses are kept store_retention_days (OpenAI keeps batch files 30 days
# by default too); uploads that never completed are cleaned up after a day.
resource "aws_s3_bucket_lifecycle_configuration" "store" {
  bucket = aws_s3_bucket.store.id

  rule {
    id     = "expire-store-objects"
    status = "Enabled"

    filter {}

    expiration {
      days = var.store_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# The function creates (If-None-Match), replaces (If-Match), reads, lists and deletes objects.
data "aws_iam_policy_document" "store" {
  statement {
    sid       = "StoreObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.store.arn}/*"]
  }

  statement {
    sid       = "ListStore"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.store.arn]
  }
}

resource "aws_iam_role_policy" "store" {
  name   = "${var.name}-store"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.store.json
}

# -----------------------------------------------------------------------------------------------
# Scheduled batch refresh
# -----------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.aws_account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = var.batch_refresh ? 1 : 0

  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeGateway"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.gateway.arn, "${aws_lambda_function.gateway.arn}:*"]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = var.batch_refresh ? 1 : 0

  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "refresh_batches" {
  count = var.batch_refresh ? 1 : 0

  name                = "${var.name}-refresh-batches"
  description         = "Gemini Gateway: finalizes the batches whose job has ended."
  schedule_expression = "rate(5 minutes)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.gateway.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode({ gateway_task = "refresh_batches" })

    # The next tick is the retry.
    retry_policy {
      maximum_retry_attempts = 0
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}
