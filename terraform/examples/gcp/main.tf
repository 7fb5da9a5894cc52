# Minimal deployment of Gemini Gateway on Google Cloud Functions (2nd gen).
#
#   make package                       # builds dist/gcf-source.zip
#   cd terraform/examples/gcp
#   cp terraform.tfvars.example terraform.tfvars   # and fill it in
#   terraform init && terraform apply
#   make key NAME=my-app               # adds a client key to the secret printed as keys_secret_id
#
# To use it outside this repository, copy this directory, point `source` at a pinned Git
# reference of terraform/gcp and the archive path at your build output.

provider "google" {
  project = var.project_id
  region  = var.region
}

# For the Vertex AI service agent (google_project_service_identity is a beta resource).
provider "google-beta" {
  project = var.project_id
  region  = var.region
}

module "gateway" {
  source = "../../gcp"

  project_id          = var.project_id
  region              = var.region
  name                = var.name
  source_archive_path = "${path.module}/../../../dist/gcf-source.zip"
}
