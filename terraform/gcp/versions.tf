terraform {
  # optional() object attributes need 1.3; the project lints and tests with 1.8.5.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    # google_project_service_identity (the Vertex AI service agent, store.tf) is beta-only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
  }
}
