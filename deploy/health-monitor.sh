#!/usr/bin/env bash
# Probe the API's readiness route; alert a Slack channel when it fails.
# Meant for cron or a systemd timer on a machine outside the platform, e.g.:
#
#   * * * * * API_URL=https://market-ai-api.onrender.com \
#       SLACK_WEBHOOK=https://hooks.slack.com/services/... /opt/market-ai/health-monitor.sh
#
# Environment:
#   API_URL          base URL of the API, e.g. https://market-ai-api.onrender.com (required)
#   SLACK_WEBHOOK    Slack incoming-webhook URL; unset: failures are only printed
#   HEALTH_PATH      route to probe (default /health/ready: 503 when DB or Redis is down)
#   CONNECT_TIMEOUT  seconds allowed to connect (default 5)
#   MAX_TIME         seconds allowed per attempt, connect included (default 10)
#   RETRIES          extra attempts on timeouts and 5xx before alerting (default 2)
#
# Exit status: 0 healthy, 1 unhealthy, 2 misconfigured.
set -euo pipefail

HEALTH_PATH="${HEALTH_PATH:-/health/ready}"
CONNECT_TIMEOUT="${CONNECT_TIMEOUT:-5}"
MAX_TIME="${MAX_TIME:-10}"
RETRIES="${RETRIES:-2}"
SLACK_WEBHOOK="${SLACK_WEBHOOK:-}"

if [[ -z "${API_URL:-}" ]]; then
    echo "health-monitor: API_URL is not set (e.g. https://market-ai-api.onrender.com)" >&2
    exit 2
fi
if ! command -v curl > /dev/null 2>&1; then
    echo "health-monitor: curl is required" >&2
    exit 2
fi

url="${API_URL%/}${HEALTH_PATH}"

# Escape a string for use inside a JSON string literal.
json_escape() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/}
    s=${s//$'\t'/\\t}
    printf '%s' "${s}"
}

alert() {
    local text=$1
    echo "health-monitor: ${text}" >&2
    if [[ -z "${SLACK_WEBHOOK}" ]]; then
        return 0
    fi
    local escaped payload
    escaped=$(json_escape ":warning: market-ai ${text}")
    payload=$(printf '{"text":"%s"}' "${escaped}")
    if ! curl --silent --show-error --fail \
        --connect-timeout "${CONNECT_TIMEOUT}" --max-time "${MAX_TIME}" \
        --header 'Content-Type: application/json' \
        --data "${payload}" \
        --output /dev/null \
        "${SLACK_WEBHOOK}"; then
        echo "health-monitor: could not post the alert to Slack" >&2
    fi
}

# --write-out appends the status on its own line after the body; curl prints 000
# when no response arrived (refused, DNS failure, timeout).
curl_status=0
response=$(curl --silent --show-error \
    --connect-timeout "${CONNECT_TIMEOUT}" --max-time "${MAX_TIME}" \
    --retry "${RETRIES}" --retry-delay 2 \
    --header 'Accept: application/json' \
    --write-out '\n%{http_code}' \
    "${url}") || curl_status=$?

http_code=${response##*$'\n'}
body=${response%$'\n'*}
body=${body:0:500}

if [[ "${curl_status}" -eq 0 && "${http_code}" == "200" ]]; then
    echo "health-monitor: ${url} is ready"
    exit 0
fi

if [[ "${curl_status}" -ne 0 ]]; then
    alert "health check failed: ${url} gave no answer (curl exit ${curl_status}, HTTP ${http_code})"
else
    alert "health check failed: ${url} returned HTTP ${http_code}: ${body}"
fi
exit 1
