# ---------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Short name that prefixes every resource on both clouds (Lambda function, IAM role, queues, buckets, Google service account, secret, workload identity pool). 3-20 characters: lowercase letters, digits and hyphens, starting with a letter. Use a different name than a terraform/gcp deployment in the same Google project."
  type        = string
  default     = "gemini-gateway"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "The name must be 3-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "lambda_zip_path" {
  description = "Path to the Lambda deployment zip built by `make package` (dist/lambda.zip); it contains the `bootstrap` executable (linux/arm64). Its hash is the function's source_code_hash, so a new build updates the code."
  type        = string
}

variable "google_project_id" {
  description = "Google Cloud project the gateway calls Vertex AI in; it also holds the workload identity pool, the gateway's service account and the client-key secret."
  type        = string
}

variable "vertex_location" {
  description = "Vertex AI location the gateway calls (GOOGLE_CLOUD_LOCATION). \"global\" uses the global endpoint."
  type        = string
  default     = "global"

  validation {
    condition     = var.vertex_location == "global" || can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.vertex_location))
    error_message = "vertex_location must be \"global\" or a Google Cloud region such as us-central1."
  }
}

variable "enable_google_apis" {
  description = "Whether this module enables the Google APIs it needs (IAM, IAM Credentials, STS, Vertex AI, Secret Manager)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every AWS resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "google_labels" {
  description = "Labels added to the Google secret."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Gateway settings (environment of the function)
# ---------------------------------------------------------------------------------------------

variable "model_aliases" {
  description = "Model alias table passed as GATEWAY_MODEL_ALIASES (JSON). Empty keeps the gateway's built-in table. Lambda caps all environment variables together at 4 KB."
  type        = map(string)
  default     = {}
}

variable "cors_origins" {
  description = "Browser origins allowed by CORS (GATEWAY_CORS_ORIGINS, comma-joined). The gateway answers CORS itself; the function URL's own CORS setting is left off so the two never disagree."
  type        = list(string)
  default     = []
}

variable "max_body_bytes" {
  description = "Largest request body the gateway accepts, in bytes (GATEWAY_MAX_BODY_BYTES). null keeps the gateway default. Lambda function URLs cap requests at 6 MB."
  type        = number
  default     = null

  validation {
    condition     = var.max_body_bytes == null || try(var.max_body_bytes > 0, false)
    error_message = "max_body_bytes must be positive."
  }
}

variable "upstream_timeout" {
  description = "Timeout of one upstream Gemini call as a Go duration such as \"300s\" (GATEWAY_UPSTREAM_TIMEOUT). Empty keeps the gateway default."
  type        = string
  default     = ""
}

variable "input_prefix" {
  description = "Key prefix in the input bucket under which new *.jsonl batch files start a job (GATEWAY_INPUT_PREFIX and the S3 notification filter)."
  type        = string
  default     = "requests/"
}

variable "output_prefix" {
  description = "Key prefix for job results in the output bucket (GATEWAY_OUTPUT_PREFIX)."
  type        = string
  default     = "results/"
}

variable "batch_concurrency" {
  description = "How many lines of one batch file run at the same time (GATEWAY_BATCH_CONCURRENCY)."
  type        = number
  default     = 8

  validation {
    condition     = var.batch_concurrency >= 1 && var.batch_concurrency <= 256
    error_message = "batch_concurrency must be between 1 and 256."
  }
}

variable "batch_bucket_engine" {
  description = "Which engine runs a batch file dropped in the bucket (GATEWAY_BATCH_BUCKET_ENGINE): auto (online up to batch_online_max_lines request lines, the batch engine above), online, or batch."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "online", "batch"], var.batch_bucket_engine)
    error_message = "batch_bucket_engine must be auto, online or batch."
  }
}

variable "batch_online_max_lines" {
  description = "Request lines a bucket batch file may hold and still run online, inside its event, when batch_bucket_engine is auto (GATEWAY_BATCH_ONLINE_MAX_LINES); a larger file goes to the batch engine."
  type        = number
  default     = 500

  validation {
    condition     = var.batch_online_max_lines >= 1 && var.batch_online_max_lines <= 1000000 && floor(var.batch_online_max_lines) == var.batch_online_max_lines
    error_message = "batch_online_max_lines must be a whole number from 1 to 1000000."
  }
}

variable "extra_environment_variables" {
  description = "More environment variables for the function, merged over the ones this module sets. Never put a secret here."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------

variable "memory_size" {
  description = "Memory of the function in MB (128-10240); Lambda allots CPU in proportion."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (1-900). It bounds a streamed completion, and the SQS visibility timeout is set to six times it."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "A Lambda timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; -1 leaves it unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 0 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be -1 (unreserved) or a whole number of at least 0 (0 stops the function)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs, which are also the request history the saved Logs Insights queries read. One of the values CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, or 0 to keep them forever."
  type        = number
  default     = 30

  validation {
    # The values PutRetentionPolicy accepts; anything else fails only at apply.
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "function_url_auth_type" {
  description = "\"NONE\": the function URL is public and the gateway's API keys are the gate. \"AWS_IAM\": callers must also sign requests with SigV4 (grant them lambda:InvokeFunctionUrl and lambda:InvokeFunction yourself)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.function_url_auth_type)
    error_message = "function_url_auth_type must be \"NONE\" or \"AWS_IAM\"."
  }
}

# ---------------------------------------------------------------------------------------------
# Jobs: SQS queue and S3 buckets
# ---------------------------------------------------------------------------------------------

variable "queue_batch_size" {
  description = "Most SQS messages (one request line each) handed to one invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.queue_batch_size >= 1 && var.queue_batch_size <= 10000
    error_message = "queue_batch_size must be between 1 and 10000."
  }
}

variable "queue_batching_window_seconds" {
  description = "Seconds Lambda may wait to fill a batch from the queue (0-300). Must be at least 1 when queue_batch_size is above 10."
  type        = number
  default     = 0

  validation {
    condition     = var.queue_batching_window_seconds >= 0 && var.queue_batching_window_seconds <= 300
    error_message = "queue_batching_window_seconds must be between 0 and 300."
  }
}

variable "queue_max_concurrency" {
  description = "Most concurrent invocations the SQS event source may use (2-1000), so queued jobs cannot take all of the function's concurrency from HTTP traffic. null removes the cap."
  type        = number
  default     = 10

  validation {
    condition     = var.queue_max_concurrency == null || try(var.queue_max_concurrency >= 2 && var.queue_max_concurrency <= 1000, false)
    error_message = "queue_max_concurrency must be null or between 2 and 1000."
  }
}

variable "queue_max_receive_count" {
  description = "Deliveries of one message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000
    error_message = "queue_max_receive_count must be between 1 and 1000."
  }
}

variable "force_destroy_buckets" {
  description = "Whether `terraform destroy` may delete the input and output buckets while they still hold objects."
  type        = bool
  default     = false
}

variable "work_retention_days" {
  description = "Days to keep the per-line batch results saved under <output_prefix>.work/ for redelivery."
  type        = number
  default     = 7
}

variable "store_retention_days" {
  description = "Days the object store (GATEWAY_STORE_BUCKET) keeps uploaded files, batches, their output files and stored responses before its lifecycle rule deletes them."
  type        = number
  default     = 30

  validation {
    condition     = var.store_retention_days >= 1 && var.store_retention_days <= 3650 && floor(var.store_retention_days) == var.store_retention_days
    error_message = "store_retention_days must be a whole number of days from 1 to 3650."
  }
}

variable "vertex_staging" {
  description = "Whether the module creates a Cloud Storage staging bucket for Vertex AI batch prediction (GATEWAY_VERTEX_STAGING_BUCKET, granted to the function's Google service account and to the Vertex AI service agent), so that batches run on Vertex at batch prices. Off, batches run on the function itself (the local engine)."
  type        = bool
  default     = true
}

variable "vertex_staging_location" {
  description = "Cloud Storage location of the Vertex staging bucket: a region (us-central1) or a multi-region (US, EU). Use one that holds vertex_location when that is a region."
  type        = string
  default     = "US"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$", var.vertex_staging_location))
    error_message = "vertex_staging_location must be a Cloud Storage location such as US, EU or us-central1."
  }
}

variable "batch_refresh" {
  description = "Whether an EventBridge Scheduler schedule invokes the function with the batch refresh marker every 5 minutes, so that ended batches get their output files without being polled."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Usage and health (usage.tf). The metrics themselves come from the request log lines, which
# carry CloudWatch embedded metric format on Lambda: there are no metric filters to keep.
# ---------------------------------------------------------------------------------------------

variable "usage_dashboard" {
  description = "Whether to create the CloudWatch dashboard of the gateway's metrics (requests, latency, tokens, upstream 429s) and usage per client key."
  type        = bool
  default     = true
}

variable "usage_alarms" {
  description = "Whether to create the CloudWatch alarms: 5xx rate, upstream 429s, p95 latency."
  type        = bool
  default     = true
}

variable "usage_queries" {
  description = "Whether to save the CloudWatch Logs Insights queries of usage per client key and day."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic the alarms notify when they fire and when they recover. null: the alarms only change state."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) or null."
  }
}

variable "alarm_5xx_percent" {
  description = "Percentage of requests answered with a 5xx over 5 minutes above which the 5xx alarm fires (0-100)."
  type        = number
  default     = 5

  validation {
    condition     = var.alarm_5xx_percent > 0 && var.alarm_5xx_percent <= 100
    error_message = "alarm_5xx_percent must be above 0 and at most 100."
  }
}

variable "alarm_upstream_429_per_5m" {
  description = "Requests ending with a Gemini 429 in 5 minutes above which the upstream quota alarm fires."
  type        = number
  default     = 10

  validation {
    condition     = var.alarm_upstream_429_per_5m >= 0
    error_message = "alarm_upstream_429_per_5m must not be negative."
  }
}

variable "alarm_p95_latency_ms" {
  description = "p95 latency of unary successful requests, in milliseconds, above which (for 5 minutes) the latency alarm fires."
  type        = number
  default     = 30000

  validation {
    condition     = var.alarm_p95_latency_ms > 0
    error_message = "alarm_p95_latency_ms must be positive."
  }
}
