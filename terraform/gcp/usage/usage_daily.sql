-- usage_daily: one row per UTC day, client key and model, from the gateway's request log lines
-- that the log sink streams into ${table}. Tokens are summed; latency percentiles are
-- approximate (APPROX_QUANTILES). Rows without a key are requests refused before a key was
-- known (401) or, with GATEWAY_AUTH=none, every request.
SELECT
  DATE(timestamp) AS day,
  IFNULL(jsonPayload.key, '') AS key,
  IFNULL(jsonPayload.model, '') AS model,
  COUNT(*) AS requests,
  COUNTIF(jsonPayload.status >= 400) AS errors,
  CAST(IFNULL(SUM(jsonPayload.prompt_tokens), 0) AS INT64) AS prompt_tokens,
  CAST(IFNULL(SUM(jsonPayload.completion_tokens), 0) AS INT64) AS completion_tokens,
  CAST(IFNULL(SUM(jsonPayload.reasoning_tokens), 0) AS INT64) AS reasoning_tokens,
  CAST(IFNULL(SUM(jsonPayload.cached_tokens), 0) AS INT64) AS cached_tokens,
  APPROX_QUANTILES(jsonPayload.latency_ms, 100)[OFFSET(50)] AS p50_latency_ms,
  APPROX_QUANTILES(jsonPayload.latency_ms, 100)[OFFSET(95)] AS p95_latency_ms
FROM `${project}.${dataset}.${table}`
WHERE jsonPayload.message = 'request'
GROUP BY day, key, model
