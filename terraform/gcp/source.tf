# The functions' source: the archive `make package` stages (go.mod at the root plus a generated
# root package that imports the function package), uploaded to a private bucket. The object name
# carries the archive's SHA-256, so a changed archive is a new object, the functions' build_config
# changes and Cloud Functions rebuilds and redeploys them; an unchanged archive changes nothing.

locals {
  source_archive_sha256 = filesha256(var.source_archive_path)
}

resource "google_storage_bucket" "source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name}-gcf-source"
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Holds only build inputs that `make package` can recreate.
  force_destroy = true

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.source.name
  name         = "gcf-source-${local.source_archive_sha256}.zip"
  source       = var.source_archive_path
  content_type = "application/zip"
}
