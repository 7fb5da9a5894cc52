# Secret Manager secrets of the gateway. Terraform creates the secrets and their access grants;
# key material never passes through Terraform (and so never lands in its state):
#   - client keys: `make key NAME=...` adds a new version holding the JSON document of key hashes;
#   - Gemini API key: `gcloud secrets versions add SECRET --data-file=-`.

resource "google_secret_manager_secret" "client_keys" {
  project   = var.project_id
  secret_id = "${var.name}-client-keys"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

# An empty key document, so the functions start (and reject every request with 401) before the
# first `make key`. It holds no secret, which is why it may live in Terraform state.
#
# Keep this version: if it is DESTROYED outside Terraform, the provider forgets it and the next
# apply adds a fresh empty document as the newest version, which "latest" then points at.
# Disabling it is fine (ignored below); the key tool only ever adds versions.
resource "google_secret_manager_secret_version" "client_keys_initial" {
  secret      = google_secret_manager_secret.client_keys.id
  secret_data = jsonencode({ keys = [] })

  lifecycle {
    ignore_changes = [enabled]
  }
}

resource "google_secret_manager_secret_iam_member" "runtime_client_keys" {
  project   = google_secret_manager_secret.client_keys.project
  secret_id = google_secret_manager_secret.client_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret" "gemini_api_key" {
  count = var.create_gemini_api_key_secret ? 1 : 0

  project   = var.project_id
  secret_id = "${var.name}-gemini-api-key"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_iam_member" "runtime_gemini_api_key" {
  count = var.create_gemini_api_key_secret ? 1 : 0

  project   = google_secret_manager_secret.gemini_api_key[0].project
  secret_id = google_secret_manager_secret.gemini_api_key[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

# Secrets named in var.secret_environment_variables are resolved by the platform when an
# instance starts, as the runtime account; it needs accessor on each of them.
resource "google_secret_manager_secret_iam_member" "runtime_extra" {
  for_each = local.extra_secret_ids

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
