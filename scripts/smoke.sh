#!/usr/bin/env bash
# smoke.sh checks a running gateway from the outside, as a client would, with curl:
#
#   scripts/smoke.sh URL KEY        e.g. scripts/smoke.sh "$(terraform output -raw url)" gk-…
#   make smoke URL=… KEY=…
#
# URL is the gateway's base URL (the Cloud Functions URL, the Lambda function URL — a trailing
# slash is fine — or http://127.0.0.1:8080 for `make run`); KEY a client key. It checks:
#   1. GET  /healthz                  200 {"status":"ok"} (no key)
#   2. GET  /v1/models                200, an OpenAI list
#   3. POST /v1/chat/completions      200, a chat.completion with a choice
#   4. POST /v1/chat/completions      stream: 200 text/event-stream, chunks, then data: [DONE]
#   5. GET  /v1/models with a bad key 401 with the gateway's error body (invalid_token)
# It prints what it saw for each and exits 1 if any check failed (2 on bad usage).
#
# The chat calls reach Gemini (they cost a few tokens) unless the gateway runs the emulator.
# Settings: SMOKE_MODEL (default gemini-2.5-flash), SMOKE_TIMEOUT seconds per request (default
# 120; the first request to a cold function may take a while), SMOKE_ID_TOKEN: for a Cloud
# Functions gateway whose invoker_members is not allUsers, a Google identity token
# (gcloud auth print-identity-token) sent as Authorization for Cloud Run's IAM check; the key
# then goes in x-api-key, which the gateway also reads.
set -uo pipefail

if [[ $# -ne 2 || -z $1 || -z $2 ]]; then
	echo "usage: $0 URL KEY" >&2
	exit 2
fi
command -v curl >/dev/null 2>&1 || {
	echo "smoke: curl is required" >&2
	exit 2
}

base=${1%/}
key=$2
model=${SMOKE_MODEL:-gemini-2.5-flash}
timeout=${SMOKE_TIMEOUT:-120}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "ok    $1"; }
fail() {
	echo "FAIL  $1" >&2
	failures=$((failures + 1))
}

# show FILE: the first 300 bytes of a body, on one line, for the log.
show() {
	head -c 300 "$1" | tr '\n\r' '  '
	[[ $(wc -c <"$1") -le 300 ]] || printf '…'
	echo
}

# req NAME ARGS...: curl the gateway; sets $status, $ctype, and the body in $tmp/NAME.
req() {
	local name=$1
	shift
	local meta
	meta=$(curl -sS --max-time "$timeout" -o "$tmp/$name" -D "$tmp/$name.headers" \
		-w '%{http_code} %{content_type}' ${platform[@]+"${platform[@]}"} "$@" 2>"$tmp/$name.err")
	local rc=$?
	status=${meta%% *}
	ctype=${meta#* }
	if [[ $rc -ne 0 ]]; then
		status=000
		echo "      curl: $(tr '\n' ' ' <"$tmp/$name.err")" >&2
		: >"$tmp/$name"
	fi
	echo "      $name: HTTP $status ${ctype:-} $(show "$tmp/$name")"
}

has() { grep -q -- "$2" "$1"; }

# Request headers that carry the key (good and bad), and the ones every request needs.
platform=()
if [[ -n ${SMOKE_ID_TOKEN:-} ]]; then
	platform=(-H "Authorization: Bearer $SMOKE_ID_TOKEN")
	auth=(-H "x-api-key: $key")
	badauth=(-H "x-api-key: smoke-invalid-key-0000000000")
else
	auth=(-H "Authorization: Bearer $key")
	badauth=(-H "Authorization: Bearer smoke-invalid-key-0000000000")
fi

chat_body='{"model":"'$model'","messages":[{"role":"user","content":"Reply with the single word: pong"}],"max_tokens":64}'
stream_body='{"model":"'$model'","stream":true,"messages":[{"role":"user","content":"Count from 1 to 5."}],"max_tokens":128}'

echo "smoke: $base (model $model)"

# 1. Health: no key, no upstream call. Retried a little: a new deployment may still be starting.
for attempt in 1 2 3; do
	req healthz "$base/healthz"
	[[ $status == 200 ]] && break
	[[ $attempt == 3 ]] || sleep 5
done
if [[ $status == 200 ]] && has "$tmp/healthz" '"status":"ok"'; then
	pass "GET /healthz"
else
	fail "GET /healthz: want 200 {\"status\":\"ok\"}"
fi

# 2. Models.
req models "${auth[@]}" "$base/v1/models"
if [[ $status == 200 ]] && has "$tmp/models" '"object": *"list"' && has "$tmp/models" '"data"'; then
	pass "GET /v1/models"
else
	fail "GET /v1/models: want 200 with an OpenAI list"
fi

# 3. Chat.
req chat "${auth[@]}" -H 'Content-Type: application/json' \
	-d "$chat_body" "$base/v1/chat/completions"
if [[ $status == 200 ]] && has "$tmp/chat" '"object": *"chat.completion"' && has "$tmp/chat" '"choices": *\[ *{'; then
	pass "POST /v1/chat/completions"
else
	fail "POST /v1/chat/completions: want 200 chat.completion with a choice"
fi

# 4. Stream: chunks, then the [DONE] sentinel as the last event.
req stream -N "${auth[@]}" -H 'Content-Type: application/json' \
	-d "$stream_body" "$base/v1/chat/completions"
last=$(grep '^data: ' "$tmp/stream" | tail -n 1 | tr -d '\r')
chunks=$(grep -c '"object": *"chat.completion.chunk"' "$tmp/stream")
if [[ $status == 200 && $ctype == text/event-stream* && $last == 'data: [DONE]' && $chunks -ge 1 ]]; then
	pass "POST /v1/chat/completions stream ($chunks chunks, then data: [DONE])"
else
	fail "stream: want 200 text/event-stream with chunks ending in data: [DONE] (got $chunks chunks, last event '${last:-none}')"
fi

# 5. A bad key: 401 in the gateway's error body.
req badkey "${badauth[@]}" "$base/v1/models"
if [[ $status == 401 ]] && has "$tmp/badkey" '"success": *false' && has "$tmp/badkey" '"code": *"invalid_token"'; then
	pass "bad key -> 401 invalid_token"
else
	fail "bad key: want 401 {\"success\":false,\"error\":{\"code\":\"invalid_token\",…}}"
fi

if [[ $failures -gt 0 ]]; then
	echo "smoke: $failures check(s) FAILED against $base" >&2
	exit 1
fi
echo "smoke: all 5 checks passed against $base"
