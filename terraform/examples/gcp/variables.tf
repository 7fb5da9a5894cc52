variable "project_id" {
  description = "Google Cloud project ID to deploy the gateway into."
  type        = string
}

variable "region" {
  description = "Region of the functions and job buckets, e.g. us-central1."
  type        = string
}

variable "name" {
  description = "Short name that prefixes every resource (3-20 lowercase letters, digits, hyphens), e.g. gemini-gateway."
  type        = string
}
