# Asynchronous jobs in the OpenAI Batch line format.
#
#   Pub/Sub: one request line per message on the jobs topic -> PubSubJob -> the result is
#            written to the output bucket as <output_prefix><custom_id>.json.
#   Storage: a *.jsonl file finalized under input_prefix in the input bucket -> StorageJob ->
#            <output_prefix><name>.output.jsonl (and errors) in the output bucket.
#
# Both triggers use RETRY_POLICY_RETRY: a function that returns an error (a transient upstream
# failure) gets the event again with backoff until the platform's retry window ends. The
# functions are idempotent and turn malformed lines into error lines, so only transient failures
# are retried; a permanent error returned as a failure would be retried for that whole window. Outputs go to a separate bucket, so writing a result never
# triggers another run.

resource "google_pubsub_topic" "jobs" {
  project = var.project_id
  name    = "${var.name}-jobs"
  labels  = var.labels

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket" "input" {
  project = var.project_id
  name    = "${var.project_id}-${var.name}-input"
  # A Cloud Storage trigger must be in the bucket's location.
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket" "output" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name}-output"
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  # Per-line results a batch run saves so a redelivered event re-runs only unfinished lines;
  # the final output files hold everything, so these can go after a week.
  lifecycle_rule {
    condition {
      age            = var.work_retention_days
      matches_prefix = ["${var.output_prefix}.work/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

# The job functions read batch files from the input bucket...
resource "google_storage_bucket_iam_member" "runtime_input_reader" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# ...and create, read back (to skip finished work on a redelivered event) and overwrite results.
resource "google_storage_bucket_iam_member" "runtime_output_user" {
  bucket = google_storage_bucket.output.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# Cloud Storage events reach Eventarc through Pub/Sub, published by the project's Cloud Storage
# service agent.
data "google_storage_project_service_account" "this" {
  project = var.project_id

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "storage_agent_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.this.email_address}"
}

# Note: in projects created before 8 April 2021 the Pub/Sub service agent also needs
# roles/iam.serviceAccountTokenCreator to mint the push tokens Eventarc uses; newer projects
# have it. It is not granted here because that agent may not exist yet at plan time.

resource "google_cloudfunctions2_function" "pubsub_job" {
  project     = var.project_id
  location    = var.region
  name        = local.pubsub_function_name
  description = "Gemini Gateway: runs one batch request line per Pub/Sub message."
  labels      = var.labels

  build_config {
    runtime         = "go126"
    entry_point     = "PubSubJob"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.event_timeout_seconds
    available_memory                 = var.event_memory
    available_cpu                    = "1"
    max_instance_request_concurrency = var.event_concurrency
    min_instance_count               = 0
    max_instance_count               = var.event_max_instances
    # Eventarc delivers from inside Google; nothing else needs to reach the job functions.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables          = local.environment_variables

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.jobs.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    google_project_iam_member.trigger_event_receiver,
    google_project_iam_member.runtime_vertex_user,
    google_secret_manager_secret_iam_member.runtime_client_keys,
    google_secret_manager_secret_iam_member.runtime_gemini_api_key,
    google_secret_manager_secret_iam_member.runtime_extra,
    google_storage_bucket_iam_member.runtime_output_user,
    google_storage_bucket_iam_member.runtime_store_user,
  ]
}

resource "google_cloudfunctions2_function" "storage_job" {
  project     = var.project_id
  location    = var.region
  name        = local.storage_function_name
  description = "Gemini Gateway: runs the batch files finalized in the input bucket."
  labels      = var.labels

  build_config {
    runtime         = "go126"
    entry_point     = "StorageJob"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.event_timeout_seconds
    available_memory                 = var.event_memory
    available_cpu                    = "1"
    max_instance_request_concurrency = var.event_concurrency
    min_instance_count               = 0
    max_instance_count               = var.event_max_instances
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    environment_variables            = local.environment_variables

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  # Cloud Storage triggers filter on the bucket only; the function skips objects outside
  # GATEWAY_INPUT_PREFIX and names that do not end in .jsonl.
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email

    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.input.name
    }
  }

  depends_on = [
    google_project_iam_member.trigger_event_receiver,
    google_project_iam_member.storage_agent_pubsub_publisher,
    google_project_iam_member.runtime_vertex_user,
    google_secret_manager_secret_iam_member.runtime_client_keys,
    google_secret_manager_secret_iam_member.runtime_gemini_api_key,
    google_secret_manager_secret_iam_member.runtime_extra,
    google_storage_bucket_iam_member.runtime_input_reader,
    google_storage_bucket_iam_member.runtime_output_user,
    # Bucket jobs keep their records and the batch engine's files in the store bucket.
    google_storage_bucket_iam_member.runtime_store_user,
  ]
}

# Eventarc invokes the job functions' Cloud Run services as the trigger service account.
resource "google_cloud_run_service_iam_member" "trigger_invokes_pubsub_job" {
  project  = google_cloudfunctions2_function.pubsub_job.project
  location = google_cloudfunctions2_function.pubsub_job.location
  service  = google_cloudfunctions2_function.pubsub_job.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_service_iam_member" "trigger_invokes_storage_job" {
  project  = google_cloudfunctions2_function.storage_job.project
  location = google_cloudfunctions2_function.storage_job.location
  service  = google_cloudfunctions2_function.storage_job.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}
