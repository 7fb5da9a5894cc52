# Vertex AI batch prediction from AWS: Vertex reads a batch's requests from Cloud Storage and
# writes its answers there, so with vertex_staging (the default) the module creates a Cloud
# Storage staging bucket (GATEWAY_VERTEX_STAGING_BUCKET). The function copies each batch's
# requests from the S3 store into it and reads the answers back with its federated Google
# identity (the service account it impersonates), then deletes both; the lifecycle rule is the
# backstop. Without it, batches run on the function itself (the local engine).

resource "google_storage_bucket" "vertex_staging" {
  count = var.vertex_staging ? 1 : 0

  project  = var.google_project_id
  name     = "${var.google_project_id}-${var.name}-staging"
  location = var.vertex_staging_location
  labels   = var.google_labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  lifecycle_rule {
    condition {
      age = var.store_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

# The function creates (with a does-not-exist precondition), reads, lists and deletes objects.
resource "google_storage_bucket_iam_member" "lambda_staging_user" {
  count = var.vertex_staging ? 1 : 0

  bucket = google_storage_bucket.vertex_staging[0].name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.lambda.email}"
}

# Vertex AI batch prediction runs as the Vertex AI service agent: it lists the bucket, reads a
# batch's input and writes the prediction output. The agent exists once created (the resource
# is a no-op on destroy); google_project_service_identity is a google-beta resource.
resource "google_project_service_identity" "aiplatform" {
  count    = var.vertex_staging ? 1 : 0
  provider = google-beta

  project = var.google_project_id
  service = "aiplatform.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_iam_member" "vertex_agent_staging" {
  for_each = var.vertex_staging ? toset([
    "roles/storage.objectViewer",
    "roles/storage.objectCreator",
    "roles/storage.legacyBucketReader",
  ]) : toset([])

  bucket = google_storage_bucket.vertex_staging[0].name
  role   = each.value
  member = "serviceAccount:${google_project_service_identity.aiplatform[0].email}"
}
