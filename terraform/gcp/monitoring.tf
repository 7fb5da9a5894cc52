# Cloud Monitoring dashboard and alert policies over the log-based metrics of usage.tf.

locals {
  requests_metric = "metric.type=\"${local.usage_metric_prefix}/requests\" AND resource.type=\"cloud_run_revision\""
  latency_metric  = "metric.type=\"${local.usage_metric_prefix}/latency\" AND resource.type=\"cloud_run_revision\""
  upstream_metric = "metric.type=\"${local.usage_metric_prefix}/upstream_429\" AND resource.type=\"cloud_run_revision\""

  # One xyChart tile of the dashboard per entry.
  dashboard_charts = [
    { title = "Requests/s by status class", filter = local.requests_metric, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.status_class"], plot = "STACKED_AREA" },
    { title = "Requests/s by model", filter = local.requests_metric, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.model"], plot = "STACKED_AREA" },
    { title = "Requests/s by client key", filter = local.requests_metric, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.key"], plot = "STACKED_AREA" },
    { title = "Upstream 429s (Gemini quota) by model", filter = local.upstream_metric, aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group_by = ["metric.label.model"], plot = "STACKED_BAR" },
    { title = "Latency p50 (ms), unary", filter = "${local.latency_metric} AND metric.label.stream=\"false\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_50", group_by = ["metric.label.model"], plot = "LINE" },
    { title = "Latency p95 (ms), unary", filter = "${local.latency_metric} AND metric.label.stream=\"false\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group_by = ["metric.label.model"], plot = "LINE" },
    { title = "Prompt tokens per request, p95", filter = "metric.type=\"${local.usage_metric_prefix}/prompt_tokens\" AND resource.type=\"cloud_run_revision\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group_by = ["metric.label.model"], plot = "LINE" },
    { title = "Completion tokens per request, p95", filter = "metric.type=\"${local.usage_metric_prefix}/completion_tokens\" AND resource.type=\"cloud_run_revision\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group_by = ["metric.label.model"], plot = "LINE" },
  ]
}

resource "google_monitoring_dashboard" "usage" {
  count = local.usage_dashboard ? 1 : 0

  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "Gemini Gateway (${var.name})"
    mosaicLayout = {
      columns = 48
      tiles = [for i, c in local.dashboard_charts : {
        xPos   = (i % 2) * 24
        yPos   = floor(i / 2) * 16
        width  = 24
        height = 16
        widget = {
          title = c.title
          xyChart = {
            dataSets = [{
              plotType = c.plot
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = c.filter
                  aggregation = {
                    alignmentPeriod    = "60s"
                    perSeriesAligner   = c.aligner
                    crossSeriesReducer = c.reducer
                    groupByFields      = c.group_by
                  }
                }
              }
            }]
          }
        }
      }]
    }
  })

  depends_on = [google_logging_metric.requests, google_logging_metric.tokens, google_logging_metric.latency, google_logging_metric.upstream_429]
}

# -----------------------------------------------------------------------------------------------
# Alert policies. Without notification channels an incident still opens in the console.
# -----------------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "errors_5xx" {
  count = local.usage_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: 5xx responses above ${var.alert_5xx_ratio * 100}%"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "5xx responses / all responses over 5 minutes"

    condition_threshold {
      filter             = "${local.requests_metric} AND metric.label.status_class=\"5xx\""
      denominator_filter = local.requests_metric
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_5xx_ratio
      duration           = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The ${var.name} gateway answered more than ${var.alert_5xx_ratio * 100}% of its requests with a 5xx in 5 minutes. Find the lines with `jsonPayload.status_class=\"5xx\"` in Logs Explorer; each carries error_code, error and the trace_id that the client got in its error body."
  }

  depends_on = [google_logging_metric.requests]
}

resource "google_monitoring_alert_policy" "upstream_429" {
  count = local.usage_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: Gemini quota exhausted (upstream 429s)"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "More than ${var.alert_upstream_429_per_5m} upstream 429s in 5 minutes"

    condition_threshold {
      filter          = local.upstream_metric
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_upstream_429_per_5m
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Gemini answered 429 RESOURCE_EXHAUSTED to more than ${var.alert_upstream_429_per_5m} requests of the ${var.name} gateway in 5 minutes, after the gateway's retries. Raise the Vertex AI / Gemini API quota of the model, or spread the load."
  }

  depends_on = [google_logging_metric.upstream_429]
}

resource "google_monitoring_alert_policy" "latency_p95" {
  count = local.usage_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: p95 latency above ${var.alert_p95_latency_ms} ms"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "p95 latency of unary successful requests over 5 minutes"

    condition_threshold {
      # Streams last as long as the answer is long, so only unary requests are watched.
      filter          = "${local.latency_metric} AND metric.label.stream=\"false\" AND metric.label.status_class=\"2xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_p95_latency_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The 95th percentile latency of the ${var.name} gateway's unary requests stayed above ${var.alert_p95_latency_ms} ms for 5 minutes. Most of it is Gemini's generation time: compare by model on the dashboard."
  }

  depends_on = [google_logging_metric.latency]
}
