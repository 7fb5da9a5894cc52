terraform {
  # optional() object attributes need 1.3; the project lints and tests with 1.8.5.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}
