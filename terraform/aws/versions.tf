terraform {
  # optional() object attributes need 1.3; the project lints and tests with 1.8.5.
  required_version = ">= 1.5"

  required_providers {
    # 6.28 added aws_lambda_permission.invoked_via_function_url, without which the second
    # permission a public function URL has needed since October 2025 (lambda:InvokeFunction)
    # could only be granted to every AWS principal for every kind of invocation.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.28, < 7.0"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    # google_project_service_identity (the Vertex AI service agent, staging.tf) is beta-only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
  }
}
