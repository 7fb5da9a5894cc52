# The HTTP gateway: the OpenAI-compatible API. Every path reaches the one function (the
# framework mounts the target at "/"); the gateway routes /v1/chat/completions, /v1/models,
# /healthz itself and streams server-sent events through the real ResponseWriter.

resource "google_cloudfunctions2_function" "gateway" {
  project     = var.project_id
  location    = var.region
  name        = local.gateway_function_name
  description = "Gemini Gateway: OpenAI Chat Completions API served by Gemini."
  labels      = var.labels

  build_config {
    runtime         = "go126" # must be >= the go directive in go.mod
    entry_point     = "Gateway"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.timeout_seconds
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    max_instance_request_concurrency = var.concurrency
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    environment_variables            = local.environment_variables

    # Resolved by the platform at instance start. The client keys are NOT among them: the
    # gateway reads GATEWAY_KEYS_SECRET through the API so that new keys work without a restart.
    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.backend != "gemini" || var.create_gemini_api_key_secret || contains(keys(var.secret_environment_variables), "GEMINI_API_KEY") || contains(keys(var.extra_environment_variables), "GEMINI_API_KEY")
      error_message = "The gemini backend needs an API key: set create_gemini_api_key_secret = true, or pass GEMINI_API_KEY through secret_environment_variables."
    }

    precondition {
      condition     = var.concurrency == 1 || try(tonumber(var.cpu), 0) >= 1
      error_message = "A concurrency above 1 needs at least 1 vCPU (cpu >= \"1\")."
    }

    precondition {
      condition     = var.min_instances <= var.max_instances
      error_message = "min_instances must not exceed max_instances."
    }
  }

  depends_on = [
    google_project_iam_member.runtime_vertex_user,
    google_secret_manager_secret_iam_member.runtime_client_keys,
    google_secret_manager_secret_iam_member.runtime_gemini_api_key,
    google_secret_manager_secret_iam_member.runtime_extra,
    google_secret_manager_secret_version.client_keys_initial,
    google_storage_bucket_iam_member.runtime_store_user,
  ]
}

# Invocation is gated by Cloud Run's run.invoker on the function's service (same name as the
# function). With "allUsers" the gateway is public and its own API keys are the only gate.
resource "google_cloud_run_service_iam_member" "gateway_invoker" {
  for_each = toset(var.invoker_members)

  project  = google_cloudfunctions2_function.gateway.project
  location = google_cloudfunctions2_function.gateway.location
  service  = google_cloudfunctions2_function.gateway.name
  role     = "roles/run.invoker"
  member   = each.value
}
