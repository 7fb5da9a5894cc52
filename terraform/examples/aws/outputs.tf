output "url" {
  description = "Function URL of the gateway; point OpenAI clients at \"<url>v1\"."
  value       = module.gateway.url
}

output "keys_secret_id" {
  description = "Secret (in the Google project) holding the client key hashes; `make key` adds versions to it."
  value       = module.gateway.keys_secret_id
}

output "jobs_queue_url" {
  description = "SQS queue taking one batch request line per message."
  value       = module.gateway.jobs_queue_url
}

output "input_bucket" {
  description = "S3 bucket for *.jsonl batch files (under the requests/ prefix)."
  value       = module.gateway.input_bucket
}

output "store_bucket" {
  description = "S3 bucket of the object store: files, batches and stored responses."
  value       = module.gateway.store_bucket
}

output "output_bucket" {
  description = "S3 bucket the function writes results to."
  value       = module.gateway.output_bucket
}

output "keys_secret_version_name" {
  description = "Secret version the gateway reads; pass it to `make key SECRET=...`."
  value       = module.gateway.keys_secret_version_name
}

output "usage_dashboard_name" {
  description = "CloudWatch dashboard of requests, latency, tokens and upstream 429s."
  value       = module.gateway.usage_dashboard_name
}
