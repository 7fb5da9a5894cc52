# ---------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project ID that hosts the functions, secrets, buckets and topic."
  type        = string
}

variable "region" {
  description = "Region of the functions, the Eventarc triggers and the input/output buckets (e.g. us-central1). The Cloud Storage trigger must be in the bucket's region, so both use this."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west4, not a zone or a multi-region."
  }
}

variable "name" {
  description = "Short name that prefixes every resource (functions, service accounts, secrets, buckets, topic). 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."
  type        = string
  default     = "gemini-gateway"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "The name must be 3-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "source_archive_path" {
  description = "Path to the Cloud Functions source zip built by `make package` (dist/gcf-source.zip). Its SHA-256 is part of the uploaded object's name, so a changed archive redeploys the functions."
  type        = string
}

variable "labels" {
  description = "Labels added to the functions, buckets, secrets and topic."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Whether this module enables the Google APIs it needs. Set to false when the project's APIs are managed elsewhere."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Gateway settings (environment of every function)
# ---------------------------------------------------------------------------------------------

variable "backend" {
  description = "Upstream the gateway calls: \"vertex\" (Vertex AI with the runtime service account's identity) or \"gemini\" (Gemini Developer API with an API key from Secret Manager)."
  type        = string
  default     = "vertex"

  validation {
    condition     = contains(["vertex", "gemini"], var.backend)
    error_message = "The backend must be \"vertex\" or \"gemini\"."
  }
}

variable "vertex_location" {
  description = "Vertex AI location the gateway calls (GOOGLE_CLOUD_LOCATION). \"global\" uses the global endpoint; a region such as us-central1 uses the regional host."
  type        = string
  default     = "global"

  validation {
    condition     = var.vertex_location == "global" || can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.vertex_location))
    error_message = "vertex_location must be \"global\" or a Google Cloud region such as us-central1."
  }
}

variable "create_gemini_api_key_secret" {
  description = "Whether to create a Secret Manager secret for the Gemini Developer API key (needed when backend is \"gemini\"). Terraform creates the secret only; add the key as a version with `gcloud secrets versions add` so it never enters Terraform state. The functions get GEMINI_API_KEY as a projects/P/secrets/S/versions/latest reference, which the gateway resolves."
  type        = bool
  default     = false
}

variable "model_aliases" {
  description = "Model alias table passed as GATEWAY_MODEL_ALIASES (JSON), e.g. { \"gemini-3.1-pro\" = \"gemini-3.1-pro-preview\" }. Empty keeps the gateway's built-in table."
  type        = map(string)
  default     = {}
}

variable "cors_origins" {
  description = "Browser origins allowed by CORS (GATEWAY_CORS_ORIGINS, comma-joined). Empty disables CORS."
  type        = list(string)
  default     = []
}

variable "max_body_bytes" {
  description = "Largest request body the gateway accepts, in bytes (GATEWAY_MAX_BODY_BYTES). null keeps the gateway default. Cloud Functions itself caps requests at 32 MiB."
  type        = number
  default     = null

  validation {
    condition     = var.max_body_bytes == null || try(var.max_body_bytes > 0 && var.max_body_bytes <= 33554432, false)
    error_message = "max_body_bytes must be between 1 and 33554432 (32 MiB, the Cloud Functions request limit)."
  }
}

variable "upstream_timeout" {
  description = "Timeout of one upstream Gemini call as a Go duration such as \"300s\" or \"10m\" (GATEWAY_UPSTREAM_TIMEOUT). Empty keeps the gateway default."
  type        = string
  default     = ""
}

variable "output_prefix" {
  description = "Object name prefix for job results in the output bucket (GATEWAY_OUTPUT_PREFIX)."
  type        = string
  default     = "results/"
}

variable "input_prefix" {
  description = "Object name prefix under which uploaded *.jsonl batch files are processed (GATEWAY_INPUT_PREFIX). The Cloud Storage trigger fires for every object in the input bucket; the function skips objects outside this prefix."
  type        = string
  default     = "requests/"
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
  description = "More plain environment variables for every function, merged over the ones this module sets. Never put a secret here; use secret_environment_variables."
  type        = map(string)
  default     = {}
}

variable "secret_environment_variables" {
  description = "Environment variables filled from Secret Manager secrets of this project when an instance starts, keyed by variable name: { VAR = { secret = \"secret-id\", version = \"3\" } }. The runtime service account is granted accessor on each secret. Pin a version: env secrets are read once at instance start."
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  default = {}
}

# ---------------------------------------------------------------------------------------------
# HTTP gateway function
# ---------------------------------------------------------------------------------------------

variable "timeout_seconds" {
  description = "Request timeout of the HTTP gateway in seconds (1-3600). Long streamed completions need minutes."
  type        = number
  default     = 3600

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "An HTTP function's timeout must be between 1 and 3600 seconds."
  }
}

variable "memory" {
  description = "Memory of one gateway instance (Cloud Functions syntax, e.g. \"512Mi\", \"1Gi\")."
  type        = string
  default     = "512Mi"
}

variable "cpu" {
  description = "vCPUs of one gateway instance (e.g. \"1\", \"2\"). Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"
}

variable "concurrency" {
  description = "Requests one gateway instance serves at the same time (max_instance_request_concurrency, 1-1000). Streams spend most of their time waiting on Gemini, so this can be high."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "min_instances" {
  description = "Instances kept warm (min_instance_count). 0 scales to zero; 1 removes most cold starts at the cost of an idle instance."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && var.min_instances <= 1000 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number between 0 and 1000."
  }
}

variable "max_instances" {
  description = "Upper bound on gateway instances (max_instance_count)."
  type        = number
  default     = 20

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number between 1 and 1000."
  }
}

variable "ingress_settings" {
  description = "Who can reach the gateway over the network: ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "invoker_members" {
  description = "IAM members allowed to invoke the HTTP gateway (roles/run.invoker). [\"allUsers\"] makes it public and leaves authentication to the gateway's own API keys; list users, groups or service accounts (\"serviceAccount:ci@p.iam.gserviceaccount.com\") to require a Google identity token as well. Organisation policies may forbid allUsers."
  type        = list(string)
  default     = ["allUsers"]
}

variable "build_service_account" {
  description = "Service account Cloud Build uses to build the functions, as a full resource name (projects/PROJECT/serviceAccounts/EMAIL). null uses the project's default build account, which in projects created since mid-2024 may lack build permissions."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Event functions (Pub/Sub topic and Cloud Storage input bucket)
# ---------------------------------------------------------------------------------------------

variable "event_timeout_seconds" {
  description = "Timeout of the event-triggered job functions in seconds (1-540, the event-driven maximum)."
  type        = number
  default     = 540

  validation {
    condition     = var.event_timeout_seconds >= 1 && var.event_timeout_seconds <= 540
    error_message = "An event-driven function's timeout must be between 1 and 540 seconds."
  }
}

variable "event_memory" {
  description = "Memory of one job-function instance (e.g. \"512Mi\")."
  type        = string
  default     = "512Mi"
}

variable "event_concurrency" {
  description = "Events one job-function instance handles at the same time (1-1000). A batch file already runs its lines concurrently (batch_concurrency)."
  type        = number
  default     = 1

  validation {
    condition     = var.event_concurrency >= 1 && var.event_concurrency <= 1000
    error_message = "event_concurrency must be between 1 and 1000."
  }
}

variable "event_max_instances" {
  description = "Upper bound on instances of each job function; it also bounds the load jobs put on the Gemini quota."
  type        = number
  default     = 10

  validation {
    condition     = var.event_max_instances >= 1 && var.event_max_instances <= 1000 && floor(var.event_max_instances) == var.event_max_instances
    error_message = "event_max_instances must be a whole number between 1 and 1000."
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

variable "batch_refresh" {
  description = "Whether a Cloud Scheduler job publishes the batch refresh marker to the jobs topic every 5 minutes, so that ended batches get their output files without being polled."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Usage and health (usage.tf, monitoring.tf)
# ---------------------------------------------------------------------------------------------

variable "usage_bigquery" {
  description = "Whether a log sink streams the gateway's request log lines into a BigQuery dataset with the view usage_daily (requests, errors, tokens and latency per day, key and model)."
  type        = bool
  default     = true
}

variable "usage_retention_days" {
  description = "Days BigQuery keeps each daily partition of request lines (1-3650)."
  type        = number
  default     = 400

  validation {
    condition     = var.usage_retention_days >= 1 && var.usage_retention_days <= 3650 && floor(var.usage_retention_days) == var.usage_retention_days
    error_message = "usage_retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "usage_dataset_location" {
  description = "BigQuery location of the usage dataset (e.g. \"US\", \"EU\", \"us-central1\"). null uses the region."
  type        = string
  default     = null
}

variable "usage_force_destroy" {
  description = "Whether `terraform destroy` may delete the usage dataset while it holds request lines."
  type        = bool
  default     = false
}

variable "usage_metrics" {
  description = "Whether to create log-based metrics from the request lines: requests by key, model and status class; token and latency distributions; upstream 429s. The dashboard and the alerts need them."
  type        = bool
  default     = true
}

variable "usage_dashboard" {
  description = "Whether to create the Cloud Monitoring dashboard of the usage metrics (needs usage_metrics)."
  type        = bool
  default     = true
}

variable "usage_alerts" {
  description = "Whether to create the alert policies: 5xx rate, upstream 429s, p95 latency (needs usage_metrics)."
  type        = bool
  default     = true
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channels the alert policies notify, as projects/P/notificationChannels/ID. Empty: incidents open in the console only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel must be a resource name: projects/PROJECT/notificationChannels/ID."
  }
}

variable "alert_5xx_ratio" {
  description = "Share of requests answered with a 5xx over 5 minutes above which the 5xx alert fires (0-1)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_5xx_ratio > 0 && var.alert_5xx_ratio <= 1
    error_message = "alert_5xx_ratio must be above 0 and at most 1."
  }
}

variable "alert_upstream_429_per_5m" {
  description = "Requests ending with a Gemini 429 in 5 minutes above which the upstream quota alert fires."
  type        = number
  default     = 10

  validation {
    condition     = var.alert_upstream_429_per_5m >= 0
    error_message = "alert_upstream_429_per_5m must not be negative."
  }
}

variable "alert_p95_latency_ms" {
  description = "p95 latency of unary successful requests, in milliseconds, above which (for 5 minutes) the latency alert fires."
  type        = number
  default     = 30000

  validation {
    condition     = var.alert_p95_latency_ms > 0
    error_message = "alert_p95_latency_ms must be positive."
  }
}
