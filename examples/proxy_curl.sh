#!/usr/bin/env bash
# curl through `sagemaker-openai proxy`: a chat, a stream and a tool call, printed as the proxy answers.
#
#   sagemaker-openai proxy --outputs-file cdk-outputs.json        # in another terminal
#   bash examples/proxy_curl.sh [BASE_URL] [MODEL]
#
# BASE_URL defaults to http://127.0.0.1:8000/v1; MODEL (a key of the stack) may be left out when the
# stack serves one model. Set PROXY_API_KEY when the proxy runs with --api-key-env.
set -euo pipefail
BASE_URL=${1:-http://127.0.0.1:8000/v1}
MODEL=${2:-}
post() {
  curl --silent --show-error --fail-with-body --no-buffer "$BASE_URL/chat/completions" \
    -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${PROXY_API_KEY:-unused}" \
    -d "$1"
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
