# Minimal deployment of Gemini Gateway on AWS Lambda, calling Vertex AI through workload
# identity federation (no Google key file anywhere).
#
#   make package                       # builds dist/lambda.zip (bootstrap, linux/arm64)
#   cd terraform/examples/aws
#   cp terraform.tfvars.example terraform.tfvars   # and fill it in
#   terraform init && terraform apply  # needs AWS and Google credentials
#   make key NAME=my-app               # adds a client key to the secret printed as keys_secret_id
#
# To use it outside this repository, copy this directory, point `source` at a pinned Git
# reference of terraform/aws and the archive path at your build output.

provider "aws" {
  region = var.aws_region
}

provider "google" {
  project = var.google_project_id
}

# For the Vertex AI service agent the staging bucket is granted to (google_project_service_identity
# is a beta resource).
provider "google-beta" {
  project = var.google_project_id
}

module "gateway" {
  source = "../../aws"

  name              = var.name
  google_project_id = var.google_project_id
  lambda_zip_path   = "${path.module}/../../../dist/lambda.zip"
}
