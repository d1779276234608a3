"""LiteLLM's SDK, as a gateway uses it, through `sagemaker-openai proxy`: a chat, a stream and a tool call.

    sagemaker-openai proxy --outputs-file cdk-outputs.json        # in another terminal
    python examples/proxy_litellm.py [BASE_URL] [MODEL]

LiteLLM reaches the proxy as a generic OpenAI-compatible server: model `openai/<MODEL>` with `api_base`
set to the proxy. BASE_URL defaults to http://127.0.0.1:8000/v1 and MODEL to the proxy's first model. Set
PROXY_API_KEY when the proxy runs with --api-key-env.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

# Otherwise LiteLLM downloads its model cost map from the internet when imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def get_weather(city: str) -> str:
    return f"18 C and sunny in {city}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    base_url = args[0] if args else "http://127.0.0.1:8000/v1"
    api_key = os.environ.get("PROXY_API_KEY", "unused")
    if len(args) > 1:
        name = args[1]
    else:
        listed = httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"}).json()
        name = listed["data"][0]["id"]
    settings: dict[str, Any] = {"model": f"openai/{name}", "api_base": base_url, "api_key": api_key}

    chat = litellm.completion(
        messages=[{"role": "user", "content": "Say hello in one short sentence."}], **settings
    )
    print(f"chat: {chat.choices[0].message.content}")

    stream = litellm.completion(
        messages=[{"role": "user", "content": "Count from one to five."}], stream=True, **settings
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    print(f"stream: {streamed}")

    messages: list[dict[str, Any]] = [{"role": "user", "content": "Paris"}]
    asked = litellm.completion(messages=messages, tools=TOOLS, **settings)
    message = asked.choices[0].message
    call = message.tool_calls[0]
    messages.append(message.model_dump(exclude_none=True))
    result = get_weather(**json.loads(call.function.arguments))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    answered = litellm.completion(messages=messages, tools=TOOLS, **settings)
    print(f"tool {call.function.name}: {answered.choices[0].message.content}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
