# Validation rules of terraform/aws/variables.tf (linked here). No provider is involved.

variables {
  lambda_zip_path   = "lambda.zip"
  google_project_id = "my-project"
}

run "defaults_are_valid_and_usage_is_on" {
  command = plan

  assert {
    condition     = var.usage_dashboard && var.usage_alarms && var.usage_queries
    error_message = "Every usage piece must be on by default."
  }

  assert {
    condition     = var.alarm_sns_topic_arn == null && var.log_retention_days == 30
    error_message = "No SNS topic by default, and logs are kept 30 days."
  }
}

# Every value CloudWatch Logs accepts passes; three runs cover the ends and "never expire".
run "retention_accepts_never_expire" {
  command = plan
  variables {
    log_retention_days = 0
  }
}

run "retention_accepts_one_day" {
  command = plan
  variables {
    log_retention_days = 1
  }
}

run "retention_accepts_ten_years" {
  command = plan
  variables {
    log_retention_days = 3653
  }
}

run "retention_rejects_two_days" {
  command = plan
  variables {
    log_retention_days = 2
  }
  expect_failures = [var.log_retention_days]
}

run "retention_rejects_a_year_plus_a_day" {
  command = plan
  variables {
    log_retention_days = 366
  }
  expect_failures = [var.log_retention_days]
}

run "retention_rejects_negative" {
  command = plan
  variables {
    log_retention_days = -1
  }
  expect_failures = [var.log_retention_days]
}

run "retention_rejects_beyond_ten_years" {
  command = plan
  variables {
    log_retention_days = 4000
  }
  expect_failures = [var.log_retention_days]
}

run "sns_topic_accepts_an_arn" {
  command = plan
  variables {
    alarm_sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:gateway-alerts"
  }
}

run "sns_topic_rejects_a_name" {
  command = plan
  variables {
    alarm_sns_topic_arn = "gateway-alerts"
  }
  expect_failures = [var.alarm_sns_topic_arn]
}

run "alarm_5xx_percent_rejects_zero" {
  command = plan
  variables {
    alarm_5xx_percent = 0
  }
  expect_failures = [var.alarm_5xx_percent]
}

run "reserved_concurrency_accepts_zero" {
  command = plan
  variables {
    reserved_concurrency = 0
  }
}

run "reserved_concurrency_rejects_below_minus_one" {
  command = plan
  variables {
    reserved_concurrency = -2
  }
  expect_failures = [var.reserved_concurrency]
}

run "vertex_location_rejects_a_zone" {
  command = plan
  variables {
    vertex_location = "us-central1-a"
  }
  expect_failures = [var.vertex_location]
}

run "memory_rejects_below_128" {
  command = plan
  variables {
    memory_size = 127
  }
  expect_failures = [var.memory_size]
}

run "timeout_rejects_above_900" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "function_url_auth_rejects_unknown" {
  command = plan
  variables {
    function_url_auth_type = "PUBLIC"
  }
  expect_failures = [var.function_url_auth_type]
}

run "store_defaults_keep_thirty_days_and_refresh" {
  command = plan

  assert {
    condition     = var.store_retention_days == 30 && var.batch_refresh
    error_message = "The store keeps objects 30 days and the batch refresh is on by default."
  }
}

run "store_retention_accepts_one_day" {
  command = plan

  variables {
    store_retention_days = 1
    batch_refresh        = false
  }
}

run "store_retention_rejects_zero" {
  command = plan

  variables {
    store_retention_days = 0
  }

  expect_failures = [var.store_retention_days]
}

run "store_retention_rejects_a_fraction" {
  command = plan

  variables {
    store_retention_days = 1.5
  }

  expect_failures = [var.store_retention_days]
}

run "store_retention_rejects_beyond_ten_years" {
  command = plan

  variables {
    store_retention_days = 3651
  }

  expect_failures = [var.store_retention_days]
}

run "batch_bucket_engine_defaults_to_auto_at_500_lines" {
  command = plan

  assert {
    condition     = var.batch_bucket_engine == "auto" && var.batch_online_max_lines == 500
    error_message = "Bucket files run online up to 500 request lines, on the batch engine above, by default."
  }
}

run "batch_bucket_engine_accepts_online_and_batch" {
  command = plan
  variables {
    batch_bucket_engine    = "batch"
    batch_online_max_lines = 1000000
  }
}

run "batch_bucket_engine_rejects_unknown" {
  command = plan
  variables {
    batch_bucket_engine = "vertex"
  }
  expect_failures = [var.batch_bucket_engine]
}

run "batch_online_max_lines_rejects_zero" {
  command = plan
  variables {
    batch_online_max_lines = 0
  }
  expect_failures = [var.batch_online_max_lines]
}

run "batch_online_max_lines_rejects_a_fraction" {
  command = plan
  variables {
    batch_online_max_lines = 10.5
  }
  expect_failures = [var.batch_online_max_lines]
}

# Vertex batches from AWS: the staging bucket is on by default, in a multi-region or a region.
run "vertex_staging_is_on_by_default" {
  command = plan

  assert {
    condition     = var.vertex_staging && var.vertex_staging_location == "US"
    error_message = "The Vertex staging bucket must be on by default, in US."
  }
}

run "vertex_staging_accepts_a_region_and_off" {
  command = plan
  variables {
    vertex_staging          = false
    vertex_staging_location = "europe-west4"
  }
}

run "vertex_staging_rejects_an_empty_location" {
  command = plan
  variables {
    vertex_staging_location = ""
  }
  expect_failures = [var.vertex_staging_location]
}

run "vertex_staging_rejects_a_bucket_url" {
  command = plan
  variables {
    vertex_staging_location = "gs://my-bucket"
  }
  expect_failures = [var.vertex_staging_location]
}
