# The gateway's object store (GATEWAY_STORE_BUCKET): uploaded files, batches and their output
# files (/v1/files, /v1/batches) and stored Responses API responses. On the vertex backend it
# is also where Vertex AI batch prediction reads a batch's input and writes its output.
#
# A Cloud Scheduler job publishes the refresh marker to the jobs topic every five minutes; the
# PubSubJob function then finalizes the batches whose job has ended, so a batch gets its output
# file even when nobody polls it.

resource "google_storage_bucket" "store" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name}-store"
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  # Files, batches and responses are kept store_retention_days (OpenAI keeps batch files 30
  # days by default too); a client that needs them longer copies them out.
  lifecycle_rule {
    condition {
      age = var.store_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  depends_on = [google_project_service.this]
}

# The functions create, read, replace (with generation preconditions), list and delete objects.
resource "google_storage_bucket_iam_member" "runtime_store_user" {
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# Vertex AI batch prediction runs as the Vertex AI service agent: it lists the bucket, reads a
# batch's input and writes the prediction output. The agent exists once created (the resource
# is a no-op on destroy); google_project_service_identity is a google-beta resource.
resource "google_project_service_identity" "aiplatform" {
  count    = var.backend == "vertex" ? 1 : 0
  provider = google-beta

  project = var.project_id
  service = "aiplatform.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_iam_member" "vertex_agent_store" {
  for_each = var.backend == "vertex" ? toset([
    "roles/storage.objectViewer",
    "roles/storage.objectCreator",
    "roles/storage.legacyBucketReader",
  ]) : toset([])

  bucket = google_storage_bucket.store.name
  role   = each.value
  member = "serviceAccount:${google_project_service_identity.aiplatform[0].email}"
}

resource "google_cloud_scheduler_job" "refresh_batches" {
  count = var.batch_refresh ? 1 : 0

  project     = var.project_id
  region      = var.region
  name        = "${var.name}-refresh-batches"
  description = "Gemini Gateway: finalizes the batches whose job has ended (the refresh marker on the jobs topic)."
  schedule    = "*/5 * * * *"
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.jobs.id
    data       = base64encode(jsonencode({ gateway_task = "refresh_batches" }))
    attributes = {
      gateway_task = "refresh_batches"
    }
  }

  depends_on = [google_project_service.this]
}
