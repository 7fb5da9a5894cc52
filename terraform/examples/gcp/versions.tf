terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
  }

  # Keep state somewhere shared and durable for anything beyond a trial, e.g.:
  # backend "gcs" {
  #   bucket = "my-terraform-state"
  #   prefix = "gemini-gateway"
  # }
}
