output "url" {
  description = "HTTPS URL of the gateway. OpenAI clients use \"<url>/v1\" as their base URL."
  value       = google_cloudfunctions2_function.gateway.url
}

output "service_uri" {
  description = "URI of the Cloud Run service behind the gateway function (an alternative to url)."
  value       = google_cloudfunctions2_function.gateway.service_config[0].uri
}

output "function_names" {
  description = "Names of the deployed functions: gateway (HTTP), pubsub_job and storage_job."
  value = {
    gateway     = google_cloudfunctions2_function.gateway.name
    pubsub_job  = google_cloudfunctions2_function.pubsub_job.name
    storage_job = google_cloudfunctions2_function.storage_job.name
  }
}

output "keys_secret_id" {
  description = "Secret Manager secret id holding the client key hash document; `make key` adds versions to it."
  value       = google_secret_manager_secret.client_keys.secret_id
}

output "keys_secret_version_name" {
  description = "Version name the gateway reads (GATEWAY_KEYS_SECRET): projects/P/secrets/S/versions/latest."
  value       = local.keys_secret_version_name
}

output "gemini_api_key_secret_id" {
  description = "Secret Manager secret id for the Gemini Developer API key, or null when not created. Add the key with `gcloud secrets versions add`."
  value       = var.create_gemini_api_key_secret ? google_secret_manager_secret.gemini_api_key[0].secret_id : null
}

output "runtime_service_account_email" {
  description = "Email of the service account the functions run as."
  value       = google_service_account.runtime.email
}

output "jobs_topic_name" {
  description = "Pub/Sub topic name: publish one batch request line per message."
  value       = google_pubsub_topic.jobs.name
}

output "jobs_topic_id" {
  description = "Pub/Sub topic resource id (projects/P/topics/T)."
  value       = google_pubsub_topic.jobs.id
}

output "input_bucket" {
  description = "Cloud Storage bucket for batch input: upload *.jsonl files under input_prefix."
  value       = google_storage_bucket.input.name
}

output "store_bucket" {
  description = "Cloud Storage bucket of the gateway's object store (GATEWAY_STORE_BUCKET): files, batches, stored responses."
  value       = google_storage_bucket.store.name
}

output "output_bucket" {
  description = "Cloud Storage bucket the job functions write results to (under output_prefix)."
  value       = google_storage_bucket.output.name
}

output "source_bucket" {
  description = "Bucket holding the uploaded function source archives."
  value       = google_storage_bucket.source.name
}

output "usage_dataset_id" {
  description = "BigQuery dataset holding the request lines and the usage_daily view, or null when usage_bigquery is off."
  value       = local.usage_bigquery ? google_bigquery_dataset.usage[0].dataset_id : null
}

output "usage_daily_view" {
  description = "Fully qualified name of the usage_daily view (project.dataset.usage_daily) to query, or null when usage_bigquery is off."
  value       = local.usage_bigquery ? "${var.project_id}.${google_bigquery_dataset.usage[0].dataset_id}.${google_bigquery_table.usage_daily[0].table_id}" : null
}

output "usage_dashboard_id" {
  description = "Cloud Monitoring dashboard of the usage metrics, or null when off."
  value       = local.usage_dashboard ? google_monitoring_dashboard.usage[0].id : null
}
