# Usage and health from the gateway's request log lines, with Google's managed services only:
#   - a log sink streams the request lines into a BigQuery dataset (a table partitioned by day
#     with an expiry) under a view usage_daily (usage_bigquery);
#   - log-based metrics count requests by key, model and status class, record token and latency
#     distributions and count upstream 429s (usage_metrics), shown on a Cloud Monitoring
#     dashboard (usage_dashboard) and watched by alert policies (usage_alerts).
# Each switch is on by default; dashboard and alerts need the metrics.

locals {
  usage_bigquery  = var.usage_bigquery
  usage_metrics   = var.usage_metrics
  usage_dashboard = var.usage_metrics && var.usage_dashboard
  usage_alerts    = var.usage_metrics && var.usage_alerts

  # The request lines of this deployment's functions. Cloud Run functions write stdout to the
  # log run.googleapis.com/stdout of their Cloud Run service (same name as the function); the
  # gateway's JSON line becomes jsonPayload, less the fields Logging lifts into the LogEntry.
  usage_log_name = "projects/${var.project_id}/logs/run.googleapis.com%2Fstdout"
  request_log_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=(\"${local.gateway_function_name}\" OR \"${local.pubsub_function_name}\" OR \"${local.storage_function_name}\")",
    "logName=\"${local.usage_log_name}\"",
    "jsonPayload.message=\"request\"",
  ])

  # BigQuery names allow letters, digits and underscores only.
  usage_dataset_id = "${replace(var.name, "-", "_")}_usage"
  # The sink names a log's table after the log: run.googleapis.com/stdout -> run_googleapis_com_stdout.
  usage_table_id = "run_googleapis_com_stdout"

  usage_metric_prefix = "logging.googleapis.com/user/${var.name}"
  token_fields        = ["prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"]
}

# -----------------------------------------------------------------------------------------------
# BigQuery: sink, table, view
# -----------------------------------------------------------------------------------------------

resource "google_bigquery_dataset" "usage" {
  count = local.usage_bigquery ? 1 : 0

  project       = var.project_id
  dataset_id    = local.usage_dataset_id
  friendly_name = "Gemini Gateway usage (${var.name})"
  description   = "Request log lines of the ${var.name} gateway (no prompts, no media, no key material) and the usage_daily view."
  location      = coalesce(var.usage_dataset_location, var.region)
  labels        = var.labels

  # Partitions (one per UTC day) older than this are deleted.
  default_partition_expiration_ms = var.usage_retention_days * 86400000
  delete_contents_on_destroy      = var.usage_force_destroy

  depends_on = [google_project_service.this]
}

# Created here, with the columns the view reads, so that the view can be created before the
# first request; the sink streams into it and adds the columns of other LogEntry fields.
resource "google_bigquery_table" "requests" {
  count = local.usage_bigquery ? 1 : 0

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.usage[0].dataset_id
  table_id            = local.usage_table_id
  description         = "Request log lines streamed by the ${var.name}-usage log sink."
  labels              = var.labels
  schema              = file("${path.module}/usage/requests_schema.json")
  deletion_protection = !var.usage_force_destroy

  time_partitioning {
    type          = "DAY"
    field         = "timestamp"
    expiration_ms = var.usage_retention_days * 86400000
  }

  lifecycle {
    # Logging adds columns as new LogEntry fields arrive; they are not Terraform's to remove.
    ignore_changes = [schema]
  }
}

resource "google_bigquery_table" "usage_daily" {
  count = local.usage_bigquery ? 1 : 0

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.usage[0].dataset_id
  table_id            = "usage_daily"
  description         = "Requests, errors, tokens and latency per UTC day, client key and model."
  labels              = var.labels
  deletion_protection = false

  view {
    query = templatefile("${path.module}/usage/usage_daily.sql", {
      project = var.project_id
      dataset = google_bigquery_dataset.usage[0].dataset_id
      table   = google_bigquery_table.requests[0].table_id
    })
    use_legacy_sql = false
  }
}

resource "google_logging_project_sink" "usage" {
  count = local.usage_bigquery ? 1 : 0

  project     = var.project_id
  name        = "${var.name}-usage"
  description = "Request log lines of the ${var.name} gateway into BigQuery."
  destination = "bigquery.googleapis.com/projects/${var.project_id}/datasets/${google_bigquery_dataset.usage[0].dataset_id}"
  filter      = local.request_log_filter

  # A service account of this sink only, granted on this dataset only (below).
  unique_writer_identity = true

  bigquery_options {
    use_partitioned_tables = true
  }

  depends_on = [google_bigquery_table.requests]
}

# The sink's writer identity may write to this dataset and nothing else.
resource "google_bigquery_dataset_iam_member" "usage_sink_writer" {
  count = local.usage_bigquery ? 1 : 0

  project    = var.project_id
  dataset_id = google_bigquery_dataset.usage[0].dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_logging_project_sink.usage[0].writer_identity
}

# -----------------------------------------------------------------------------------------------
# Log-based metrics
# -----------------------------------------------------------------------------------------------

resource "google_logging_metric" "requests" {
  count = local.usage_metrics ? 1 : 0

  project     = var.project_id
  name        = "${var.name}/requests"
  description = "Gateway requests by client key name, model and status class."
  filter      = local.request_log_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "${var.name} requests"

    labels {
      key         = "key"
      value_type  = "STRING"
      description = "Client key name (empty before authentication)."
    }
    labels {
      key         = "model"
      value_type  = "STRING"
      description = "Model the client asked for."
    }
    labels {
      key         = "status_class"
      value_type  = "STRING"
      description = "2xx, 4xx or 5xx."
    }
  }

  label_extractors = {
    key          = "EXTRACT(jsonPayload.key)"
    model        = "EXTRACT(jsonPayload.model)"
    status_class = "EXTRACT(jsonPayload.status_class)"
  }
}

resource "google_logging_metric" "tokens" {
  for_each = local.usage_metrics ? toset(local.token_fields) : toset([])

  project     = var.project_id
  name        = "${var.name}/${each.key}"
  description = "Distribution of ${replace(each.key, "_", " ")} per request, by client key name and model."
  filter      = "${local.request_log_filter} AND jsonPayload.${each.key}:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "${var.name} ${replace(each.key, "_", " ")}"

    labels {
      key         = "key"
      value_type  = "STRING"
      description = "Client key name."
    }
    labels {
      key         = "model"
      value_type  = "STRING"
      description = "Model the client asked for."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.${each.key})"
  label_extractors = {
    key   = "EXTRACT(jsonPayload.key)"
    model = "EXTRACT(jsonPayload.model)"
  }

  # 1, 2, 4, ... 2^31 tokens.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "latency" {
  count = local.usage_metrics ? 1 : 0

  project     = var.project_id
  name        = "${var.name}/latency"
  description = "Distribution of request latency (arrival to last byte) by model, status class and whether the response was streamed."
  filter      = local.request_log_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "${var.name} latency"

    labels {
      key         = "model"
      value_type  = "STRING"
      description = "Model the client asked for."
    }
    labels {
      key         = "status_class"
      value_type  = "STRING"
      description = "2xx, 4xx or 5xx."
    }
    labels {
      key         = "stream"
      value_type  = "STRING"
      description = "\"true\" for streamed responses, whose latency is the whole stream."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.latency_ms)"
  label_extractors = {
    model        = "EXTRACT(jsonPayload.model)"
    status_class = "EXTRACT(jsonPayload.status_class)"
    stream       = "EXTRACT(jsonPayload.stream)"
  }

  # 1 ms, 1.5 ms, ... about 18 hours.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 42
      growth_factor      = 1.5
      scale              = 1
    }
  }
}

resource "google_logging_metric" "upstream_429" {
  count = local.usage_metrics ? 1 : 0

  project     = var.project_id
  name        = "${var.name}/upstream_429"
  description = "Requests that ended with Gemini answering 429 (quota exhausted), by model. The per-key rate limit's own 429s are not counted."
  filter      = "${local.request_log_filter} AND jsonPayload.upstream_status=429"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "${var.name} upstream 429s"

    labels {
      key         = "model"
      value_type  = "STRING"
      description = "Model the client asked for."
    }
  }

  label_extractors = {
    model = "EXTRACT(jsonPayload.model)"
  }
}
