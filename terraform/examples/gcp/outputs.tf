output "url" {
  description = "Gateway URL; point OpenAI clients at \"<url>/v1\"."
  value       = module.gateway.url
}

output "keys_secret_id" {
  description = "Secret holding the client key hashes; `make key` adds versions to it."
  value       = module.gateway.keys_secret_id
}

output "jobs_topic_name" {
  description = "Pub/Sub topic taking one batch request line per message."
  value       = module.gateway.jobs_topic_name
}

output "input_bucket" {
  description = "Bucket for *.jsonl batch files (under the requests/ prefix)."
  value       = module.gateway.input_bucket
}

output "store_bucket" {
  description = "Bucket of the object store: files, batches and stored responses."
  value       = module.gateway.store_bucket
}

output "output_bucket" {
  description = "Bucket the job functions write results to."
  value       = module.gateway.output_bucket
}

output "keys_secret_version_name" {
  description = "Secret version the gateway reads; pass it to `make key SECRET=...`."
  value       = module.gateway.keys_secret_version_name
}

output "usage_daily_view" {
  description = "BigQuery view of requests, errors, tokens and latency per day, client key and model (project.dataset.usage_daily)."
  value       = module.gateway.usage_daily_view
}
