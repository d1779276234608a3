#!/usr/bin/env bash
# curl through `sagemaker-openai proxy`: a chat, a stream and a tool call, printed as the proxy answers.
#
#   sagemaker-openai proxy --outputs-file cdk-outputs.json        # in another terminal
#   bash examples/proxy_curl.sh [BASE_URL] [MODEL]
#
# BASE_URL defaults to http://127.0.0.1:8000/v1; MODEL (a key of the stack) may be left out when the
# stack serves one model. Set PROXY_API_KEY when the proxy runs with --api-key-env: curl reads the
# Authorization header from standard input (-H @-), so the key never appears in a process list, as it would
# in -H "Authorization: Bearer $PROXY_API_KEY" (any local user can read another's command line), and a
# loopback proxy is reached directly even when http_proxy is set (a forward proxy would read the key).
set -euo pipefail
BASE_URL=${1:-http://127.0.0.1:8000/v1}
MODEL=${2:-}
post() {
  curl --silent --show-error --fail-with-body --no-buffer --noproxy 127.0.0.1,localhost \
    "$BASE_URL/chat/completions" -H "Content-Type: application/json" -H @- -d "$1" \
    <<<"Authorization: Bearer ${PROXY_API_KEY:-unused}"
  echo
}
TOOLS='[{"type": "function", "function": {"name": "get_weather", "description": "The current weather in a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]'

echo "== chat"
post '{"model": "'"$MODEL"'", "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}'
echo "== stream"
post '{"model": "'"$MODEL"'", "stream": true, "messages": [{"role": "user", "content": "Count from one to five."}]}'
echo "== tool call"
post '{"model": "'"$MODEL"'", "tools": '"$TOOLS"', "messages": [{"role": "user", "content": "Paris"}]}'
