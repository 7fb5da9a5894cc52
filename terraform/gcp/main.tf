# Gemini Gateway on Google Cloud Functions (2nd gen).
#
# What this module creates:
#   - the Google APIs it needs (optional, enable_apis);
#   - a runtime service account (roles/aiplatform.user for the vertex backend) shared by the
#     three functions, and a trigger service account that Eventarc uses to invoke the job functions;
#   - Secret Manager secrets: client API key hashes (and optionally the Gemini API key), readable
#     by the runtime service account only (secrets.tf);
#   - the source archive, uploaded under a content-hashed name so a new build redeploys (source.tf);
#   - the HTTP gateway function and who may invoke it (gateway.tf);
#   - a Pub/Sub topic and an input/output bucket pair with their event-triggered job functions
#     (events.tf);
#   - usage reporting from the request log lines: a BigQuery sink and view, log-based metrics
#     (usage.tf), a dashboard and alert policies (monitoring.tf).
#
# `terraform validate` needs the provider plugins, which this repository's CI cannot download:
# argument names follow the hashicorp/google 6.x/7.x provider documentation.

locals {
  # Function names double as the Cloud Run service names, so they stay lowercase kebab-case.
  gateway_function_name = var.name
  pubsub_function_name  = "${var.name}-pubsub-job"
  storage_function_name = "${var.name}-storage-job"

  services = setunion([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    ],
    var.usage_bigquery ? ["bigquery.googleapis.com"] : [],
    var.usage_metrics ? ["monitoring.googleapis.com"] : [],
  )

  # Version names the gateway reads through the Secret Manager API (it re-reads them to pick up
  # new keys without a redeploy), so they are passed as plain environment variables.
  keys_secret_version_name = "${google_secret_manager_secret.client_keys.id}/versions/latest"
  gemini_api_key_reference = var.create_gemini_api_key_secret ? "${google_secret_manager_secret.gemini_api_key[0].id}/versions/latest" : null

  # Settings shared by every function. Empty and null values are dropped so the gateway's own
  # defaults apply.
  environment_variables = {
    for key, value in merge(
      {
        GATEWAY_BACKEND           = var.backend
        GOOGLE_CLOUD_PROJECT      = var.project_id
        GOOGLE_CLOUD_LOCATION     = var.vertex_location
        GATEWAY_KEYS_SECRET       = local.keys_secret_version_name
        GEMINI_API_KEY            = local.gemini_api_key_reference
        GATEWAY_OUTPUT_BUCKET     = google_storage_bucket.output.name
        GATEWAY_STORE_BUCKET      = google_storage_bucket.store.name
        GATEWAY_OUTPUT_PREFIX     = var.output_prefix
        GATEWAY_INPUT_PREFIX      = var.input_prefix
        GATEWAY_BATCH_CONCURRENCY = tostring(var.batch_concurrency)
        GATEWAY_MODEL_ALIASES     = length(var.model_aliases) > 0 ? jsonencode(var.model_aliases) : null
        GATEWAY_CORS_ORIGINS      = join(",", var.cors_origins)
        GATEWAY_MAX_BODY_BYTES    = var.max_body_bytes == null ? null : tostring(var.max_body_bytes)
        GATEWAY_UPSTREAM_TIMEOUT  = var.upstream_timeout
      },
      {
        # Which engine runs a bucket file: online, or the batch engine above the threshold.
        GATEWAY_BATCH_BUCKET_ENGINE    = var.batch_bucket_engine
        GATEWAY_BATCH_ONLINE_MAX_LINES = tostring(var.batch_online_max_lines)
      },
      var.extra_environment_variables,
    ) : key => value if value != null && value != ""
  }

  # Distinct secrets behind secret_environment_variables: each gets an accessor binding.
  extra_secret_ids = toset([for env in values(var.secret_environment_variables) : env.secret])
}

resource "google_project_service" "this" {
  for_each = var.enable_apis ? local.services : toset([])

  project = var.project_id
  service = each.value

  # Other workloads in the project may use these APIs; destroying the gateway leaves them on.
  disable_on_destroy = false
}

# -----------------------------------------------------------------------------------------------
# Service accounts
# -----------------------------------------------------------------------------------------------

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-runtime"
  display_name = "Gemini Gateway runtime (${var.name})"
  description  = "Identity of the ${var.name} functions: calls Vertex AI, reads the gateway's secrets and job buckets."

  depends_on = [google_project_service.this]
}

# The only project-level role of the runtime account. The Developer API backend uses an API key
# instead, so the grant is made for the vertex backend only.
resource "google_project_iam_member" "runtime_vertex_user" {
  count = var.backend == "vertex" ? 1 : 0

  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name}-trigger"
  display_name = "Gemini Gateway event triggers (${var.name})"
  description  = "Identity Eventarc uses to deliver Pub/Sub and Cloud Storage events to the ${var.name} job functions."

  depends_on = [google_project_service.this]
}

# Eventarc requires the trigger's service account to hold Event Receiver on the project.
resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}
