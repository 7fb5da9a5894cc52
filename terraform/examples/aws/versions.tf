terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.28, < 7.0"
    }
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
  # backend "s3" {
  #   bucket = "my-terraform-state"
  #   key    = "gemini-gateway/terraform.tfstate"
  #   region = "us-east-1"
  # }
}
