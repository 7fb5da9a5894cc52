# Validation rules of terraform/gcp/variables.tf (linked here). No provider is involved.

variables {
  project_id          = "my-project"
  region              = "us-central1"
  source_archive_path = "gcf-source.zip"
}

run "defaults_are_valid_and_usage_is_on" {
  command = plan

  assert {
    condition     = var.usage_bigquery && var.usage_metrics && var.usage_dashboard && var.usage_alerts
    error_message = "Every usage piece must be on by default."
  }

  assert {
    condition     = length(var.alert_notification_channels) == 0
    error_message = "No notification channel is configured by default."
  }

  assert {
    condition     = var.usage_retention_days == 400 && !var.usage_force_destroy
    error_message = "Usage data is kept 400 days and protected from destroy by default."
  }
}

run "good_values_are_accepted" {
  command = plan

  variables {
    region                      = "northamerica-northeast1"
    vertex_location             = "europe-west4"
    usage_retention_days        = 3650
    min_instances               = 0
    max_instances               = 1000
    event_max_instances         = 1
    alert_notification_channels = ["projects/my-project/notificationChannels/1234567890"]
    alert_5xx_ratio             = 1
  }
}

run "region_rejects_a_zone" {
  command = plan
  variables {
    region = "us-central1-a"
  }
  expect_failures = [var.region]
}

run "region_rejects_a_multi_region" {
  command = plan
  variables {
    region = "US"
  }
  expect_failures = [var.region]
}

run "vertex_location_rejects_a_zone" {
  command = plan
  variables {
    vertex_location = "us-central1-b"
  }
  expect_failures = [var.vertex_location]
}

run "retention_rejects_zero" {
  command = plan
  variables {
    usage_retention_days = 0
  }
  expect_failures = [var.usage_retention_days]
}

run "retention_rejects_more_than_ten_years" {
  command = plan
  variables {
    usage_retention_days = 3651
  }
  expect_failures = [var.usage_retention_days]
}

run "retention_rejects_a_fraction" {
  command = plan
  variables {
    usage_retention_days = 1.5
  }
  expect_failures = [var.usage_retention_days]
}

run "max_instances_rejects_zero" {
  command = plan
  variables {
    max_instances = 0
  }
  expect_failures = [var.max_instances]
}

run "max_instances_rejects_above_1000" {
  command = plan
  variables {
    max_instances = 1001
  }
  expect_failures = [var.max_instances]
}

run "min_instances_rejects_negative" {
  command = plan
  variables {
    min_instances = -1
  }
  expect_failures = [var.min_instances]
}

run "event_max_instances_rejects_zero" {
  command = plan
  variables {
    event_max_instances = 0
  }
  expect_failures = [var.event_max_instances]
}

run "concurrency_rejects_above_1000" {
  command = plan
  variables {
    concurrency = 1001
  }
  expect_failures = [var.concurrency]
}

run "notification_channel_must_be_a_resource_name" {
  command = plan
  variables {
    alert_notification_channels = ["my-email-channel"]
  }
  expect_failures = [var.alert_notification_channels]
}

run "alert_5xx_ratio_rejects_a_percentage" {
  command = plan
  variables {
    alert_5xx_ratio = 5
  }
  expect_failures = [var.alert_5xx_ratio]
}

run "name_rejects_uppercase_and_underscores" {
  command = plan
  variables {
    name = "Gemini_Gateway"
  }
  expect_failures = [var.name]
}

run "backend_rejects_unknown" {
  command = plan
  variables {
    backend = "openai"
  }
  expect_failures = [var.backend]
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
