# The Google side of the AWS deployment: a workload identity pool whose AWS provider trusts this
# account, restricted to the function's role, and a service account the function impersonates.
# The audience and the principalSet below carry the project NUMBER (the pool's `name`), not the
# project ID.

locals {
  google_services = toset([
    "aiplatform.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "secretmanager.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "this" {
  for_each = var.enable_google_apis ? local.google_services : toset([])

  project = var.google_project_id
  service = each.value

  disable_on_destroy = false
}

# Pool and provider ids are soft-deleted for 30 days after a destroy, so re-creating the same
# name within that window fails; undelete them or pick another name.
resource "google_iam_workload_identity_pool" "aws" {
  project                   = var.google_project_id
  workload_identity_pool_id = "${var.name}-aws"
  display_name              = "Gemini Gateway on AWS"
  description               = "AWS Lambda identities of the ${var.name} gateway (account ${local.aws_account_id})."

  depends_on = [google_project_service.this]
}

resource "google_iam_workload_identity_pool_provider" "aws" {
  project                            = var.google_project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-lambda"
  display_name                       = "AWS account ${local.aws_account_id}"
  description                        = "Trusts only the ${aws_iam_role.lambda.name} role of AWS account ${local.aws_account_id}."

  # The provider's default AWS mapping, spelled out: attribute.aws_role is the assumed-role ARN
  # without the session name (arn:aws:sts::ACCOUNT:assumed-role/ROLE), the same for every
  # invocation of the function.
  attribute_mapping = {
    "google.subject"     = "assertion.arn"
    "attribute.aws_role" = "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"
  }

  # Any other identity of the account is refused at token exchange, before IAM is consulted.
  attribute_condition = "attribute.aws_role == \"${local.lambda_assumed_role_arn}\""

  aws {
    account_id = local.aws_account_id
  }
}

resource "google_service_account" "lambda" {
  project      = var.google_project_id
  account_id   = "${var.name}-lambda"
  display_name = "Gemini Gateway on AWS Lambda (${var.name})"
  description  = "Impersonated by the ${var.name} Lambda through workload identity federation to call Vertex AI."

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "lambda_vertex_user" {
  project = var.google_project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.lambda.email}"
}

# Lets the federated identity of the function's role (and only it) impersonate the account.
resource "google_service_account_iam_member" "lambda_workload_identity_user" {
  service_account_id = google_service_account.lambda.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.aws.name}/attribute.aws_role/${local.lambda_assumed_role_arn}"
}

# -----------------------------------------------------------------------------------------------
# Client keys
# -----------------------------------------------------------------------------------------------

# Terraform creates the secret and an empty key document; `make key NAME=...` adds versions with
# the key hashes, so no key material passes through Terraform state.
resource "google_secret_manager_secret" "client_keys" {
  project   = var.google_project_id
  secret_id = "${var.name}-client-keys"
  labels    = var.google_labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

# Holds no secret. Keep it: if it is DESTROYED outside Terraform, the next apply adds a fresh
# empty document as the newest version, which "latest" then points at. Disabling it is fine.
resource "google_secret_manager_secret_version" "client_keys_initial" {
  secret      = google_secret_manager_secret.client_keys.id
  secret_data = jsonencode({ keys = [] })

  lifecycle {
    ignore_changes = [enabled]
  }
}

resource "google_secret_manager_secret_iam_member" "lambda_client_keys" {
  project   = google_secret_manager_secret.client_keys.project
  secret_id = google_secret_manager_secret.client_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.lambda.email}"
}
