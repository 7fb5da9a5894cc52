variable "aws_region" {
  description = "AWS region of the Lambda function, queue and buckets, e.g. us-east-1."
  type        = string
}

variable "google_project_id" {
  description = "Google Cloud project the gateway calls Vertex AI in (it also holds the workload identity pool and the client-key secret)."
  type        = string
}

variable "name" {
  description = "Short name that prefixes every resource (3-20 lowercase letters, digits, hyphens), e.g. gemini-gateway."
  type        = string
}
