output "url" {
  description = "HTTPS function URL of the gateway (streaming). OpenAI clients use \"<url>v1\" as their base URL (the URL ends in a slash)."
  value       = aws_lambda_function_url.gateway.function_url
}

output "function_name" {
  description = "Name of the Lambda function that serves HTTP, SQS and S3 events."
  value       = aws_lambda_function.gateway.function_name
}

output "function_role_arn" {
  description = "ARN of the function's execution role, the identity Google trusts."
  value       = aws_iam_role.lambda.arn
}

output "jobs_queue_url" {
  description = "SQS queue URL: send one batch request line per message."
  value       = aws_sqs_queue.jobs.url
}

output "jobs_dead_letter_queue_url" {
  description = "SQS dead-letter queue URL for messages that failed queue_max_receive_count times."
  value       = aws_sqs_queue.jobs_dlq.url
}

output "input_bucket" {
  description = "S3 bucket for batch input: upload *.jsonl files under input_prefix."
  value       = aws_s3_bucket.input.bucket
}

output "store_bucket" {
  description = "S3 bucket of the gateway's object store (GATEWAY_STORE_BUCKET): files, batches, stored responses."
  value       = aws_s3_bucket.store.bucket
}

output "output_bucket" {
  description = "S3 bucket the function writes job results to (under output_prefix)."
  value       = aws_s3_bucket.output.bucket
}

output "keys_secret_id" {
  description = "Secret Manager secret id (in the Google project) holding the client key hash document; `make key` adds versions to it."
  value       = google_secret_manager_secret.client_keys.secret_id
}

output "keys_secret_version_name" {
  description = "Version name the gateway reads (GATEWAY_KEYS_SECRET): projects/P/secrets/S/versions/latest."
  value       = local.keys_secret_version_name
}

output "google_service_account_email" {
  description = "Google service account the function impersonates (holds roles/aiplatform.user)."
  value       = google_service_account.lambda.email
}

output "workload_identity_provider" {
  description = "Full resource name of the workload identity pool provider (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)."
  value       = google_iam_workload_identity_pool_provider.aws.name
}

output "google_external_account_json" {
  description = "The external_account credential configuration given to the function as GOOGLE_EXTERNAL_ACCOUNT_JSON. It contains no secret."
  value       = local.google_external_account_json
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the metrics the request log lines embed (GeminiGateway/<function name>)."
  value       = local.metrics_namespace
}

output "usage_dashboard_name" {
  description = "CloudWatch dashboard of usage and health, or null when usage_dashboard is off."
  value       = var.usage_dashboard ? aws_cloudwatch_dashboard.usage[0].dashboard_name : null
}

output "vertex_staging_bucket" {
  description = "The Cloud Storage bucket Vertex AI batch prediction reads and writes (GATEWAY_VERTEX_STAGING_BUCKET); null when vertex_staging is off."
  value       = var.vertex_staging ? google_storage_bucket.vertex_staging[0].name : null
}
