# Usage and health on AWS. On Lambda every request log line is also a CloudWatch embedded metric
# format document (the Lambda runtime sets AWS_LAMBDA_FUNCTION_NAME, from which the gateway names
# the namespace GeminiGateway/<function>), so CloudWatch extracts the metrics itself:
#   requests, latency_ms (unary requests), prompt_tokens, completion_tokens, reasoning_tokens,
#   cached_tokens, upstream_throttled
# with the dimension sets [model, status_class] and [status_class]. The client key's name is a
# plain member of the line, searchable in Logs Insights but never a dimension, which bounds the
# number of (billed) metrics to models x status classes.
# This file adds a dashboard, alarms and saved Logs Insights queries over them.

data "aws_region" "current" {}

locals {
  metrics_namespace = "GeminiGateway/${local.function_name}"
  region            = data.aws_region.current.region

  # SEARCH expressions need a namespace with "/" in double quotes.
  search_by_model = "{\"${local.metrics_namespace}\",model,status_class}"

  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  # Logs Insights: the request lines only (message "request"), summed per UTC day.
  usage_query_by_key = <<-EOT
    fields @timestamp
    | filter message = "request"
    | stats count(*) as requests, count(error_code) as errors,
        sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens,
        sum(reasoning_tokens) as reasoning_tokens, sum(cached_tokens) as cached_tokens,
        pct(latency_ms, 50) as p50_latency_ms, pct(latency_ms, 95) as p95_latency_ms
        by bin(1d) as day, key
    | sort day desc, requests desc
  EOT

  usage_query_by_key_model = <<-EOT
    fields @timestamp
    | filter message = "request"
    | stats count(*) as requests, count(error_code) as errors,
        sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens,
        sum(reasoning_tokens) as reasoning_tokens, sum(cached_tokens) as cached_tokens,
        pct(latency_ms, 50) as p50_latency_ms, pct(latency_ms, 95) as p95_latency_ms
        by bin(1d) as day, key, model
    | sort day desc, requests desc
  EOT

  errors_query = <<-EOT
    fields @timestamp, status, error_code, error, key, model, trace_id
    | filter message = "request" and status >= 400
    | sort @timestamp desc
    | limit 200
  EOT
}

# -----------------------------------------------------------------------------------------------
# Dashboard
# -----------------------------------------------------------------------------------------------

resource "aws_cloudwatch_dashboard" "usage" {
  count = var.usage_dashboard ? 1 : 0

  dashboard_name = "${var.name}-usage"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Requests by status class (per 5 min)"
          region  = local.region
          view    = "timeSeries"
          stacked = true
          stat    = "Sum"
          period  = 300
          metrics = [for class in ["2xx", "4xx", "5xx"] : [local.metrics_namespace, "requests", "status_class", class]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Requests by model and status class (per 5 min)"
          region  = local.region
          view    = "timeSeries"
          stacked = true
          metrics = [[{ expression = "SEARCH('${local.search_by_model} MetricName=\"requests\"', 'Sum', 300)", id = "e1" }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Latency of successful unary requests (ms)"
          region = local.region
          view   = "timeSeries"
          period = 300
          metrics = [
            [local.metrics_namespace, "latency_ms", "status_class", "2xx", { stat = "p50", label = "p50" }],
            [local.metrics_namespace, "latency_ms", "status_class", "2xx", { stat = "p95", label = "p95" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Upstream 429s: Gemini quota exhausted (per 5 min)"
          region = local.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 300
          metrics = [
            [local.metrics_namespace, "upstream_throttled", "status_class", "4xx", { label = "upstream 429s" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "Prompt tokens by model (per hour)"
          region  = local.region
          view    = "timeSeries"
          stacked = true
          metrics = [[{ expression = "SEARCH('${local.search_by_model} MetricName=\"prompt_tokens\" status_class=\"2xx\"', 'Sum', 3600)", id = "e1" }]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title   = "Completion tokens by model (per hour)"
          region  = local.region
          view    = "timeSeries"
          stacked = true
          metrics = [[{ expression = "SEARCH('${local.search_by_model} MetricName=\"completion_tokens\" status_class=\"2xx\"', 'Sum', 3600)", id = "e1" }]]
        }
      },
      {
        type = "log", x = 0, y = 18, width = 24, height = 8
        properties = {
          title  = "Usage per client key and day"
          region = local.region
          view   = "table"
          query  = "SOURCE '${aws_cloudwatch_log_group.lambda.name}' | ${replace(trimspace(local.usage_query_by_key), "\n", " ")}"
        }
      },
    ]
  })
}

# -----------------------------------------------------------------------------------------------
# Alarms
# -----------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "errors_5xx" {
  count = var.usage_alarms ? 1 : 0

  alarm_name          = "${var.name}-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_percent}% of the ${var.name} gateway's requests were answered with a 5xx in 5 minutes. The request lines (Logs Insights: status >= 500) carry error_code, error and the trace_id the client got."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "100 * FILL(m5xx, 0) / (FILL(m2xx, 0) + FILL(m4xx, 0) + FILL(m5xx, 0))"
    label       = "5xx %"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = toset(["2xx", "4xx", "5xx"])

    content {
      id = "m${metric_query.key}"

      metric {
        namespace   = local.metrics_namespace
        metric_name = "requests"
        dimensions  = { status_class = metric_query.key }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "upstream_429" {
  count = var.usage_alarms ? 1 : 0

  alarm_name          = "${var.name}-upstream-429"
  alarm_description   = "Gemini answered 429 RESOURCE_EXHAUSTED to more than ${var.alarm_upstream_429_per_5m} requests of the ${var.name} gateway in 5 minutes, after the gateway's retries. Raise the model's Vertex AI quota or spread the load."
  namespace           = local.metrics_namespace
  metric_name         = "upstream_throttled"
  dimensions          = { status_class = "4xx" } # an upstream 429 is answered as 429
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_upstream_429_per_5m
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "latency_p95" {
  count = var.usage_alarms ? 1 : 0

  alarm_name          = "${var.name}-latency-p95"
  alarm_description   = "The 95th percentile latency of the ${var.name} gateway's successful unary requests was above ${var.alarm_p95_latency_ms} ms for 5 minutes. Most of it is Gemini's generation time: compare models on the dashboard."
  namespace           = local.metrics_namespace
  metric_name         = "latency_ms"
  dimensions          = { status_class = "2xx" }
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p95_latency_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# -----------------------------------------------------------------------------------------------
# Saved Logs Insights queries
# -----------------------------------------------------------------------------------------------

resource "aws_cloudwatch_query_definition" "usage_by_key" {
  count = var.usage_queries ? 1 : 0

  name            = "${var.name}/usage per key and day"
  log_group_names = [aws_cloudwatch_log_group.lambda.name]
  query_string    = local.usage_query_by_key
}

resource "aws_cloudwatch_query_definition" "usage_by_key_model" {
  count = var.usage_queries ? 1 : 0

  name            = "${var.name}/usage per key, model and day"
  log_group_names = [aws_cloudwatch_log_group.lambda.name]
  query_string    = local.usage_query_by_key_model
}

resource "aws_cloudwatch_query_definition" "errors" {
  count = var.usage_queries ? 1 : 0

  name            = "${var.name}/recent errors with trace ids"
  log_group_names = [aws_cloudwatch_log_group.lambda.name]
  query_string    = local.errors_query
}
