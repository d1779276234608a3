"""openai_client and friends: the token replaces the SDK's api key; a stack's models share one pool."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from openai import AsyncOpenAI

from sagemaker_openai.client import BearerTokenAuth, async_openai_client, openai_client, openai_clients
from sagemaker_openai.client.auth import sagemaker_generate_token
from sagemaker_openai.client.credentials import SessionCredentials
from sagemaker_openai.client.errors import RegionError
from sagemaker_openai.client.factories import API_KEY_PLACEHOLDER, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from sagemaker_openai.client.stack_outputs import StackOutputs
from sagemaker_openai.servers.local_runtime import (
    EndpointLayout,
    LocalRuntimeServer,
    RuntimeSettings,
    TokenVerifier,
)

from .conftest import RuntimeFactory
from .helpers import REGION, CountingTokenFactory, client_config

RUNTIME_URL = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1"


def _capturing(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
            ],
        }
        return httpx.Response(200, json=body)

    return httpx.MockTransport(answer)


def test_the_bearer_token_replaces_the_placeholder_api_key(counting_factory: CountingTokenFactory) -> None:
    seen: list[httpx.Request] = []
    auth = BearerTokenAuth(REGION, token_factory=counting_factory)
    pool = httpx.Client(auth=auth, transport=_capturing(seen))
    client = openai_client(RUNTIME_URL, http_client=pool)
    client.chat.completions.create(model="", messages=[{"role": "user", "content": "hi"}])
    (request,) = seen
    assert str(request.url) == f"{RUNTIME_URL}/chat/completions"
    assert request.headers.get_list("Authorization") == [f"Bearer {auth.token()}"]
    assert API_KEY_PLACEHOLDER not in str(request.headers)
    assert json.loads(request.content)["model"] == ""


def test_defaults_suit_llm_calls() -> None:
    client = openai_client(RUNTIME_URL)
    assert client.timeout == DEFAULT_TIMEOUT == httpx.Timeout(70.0, connect=10.0)
    assert client.max_retries == DEFAULT_MAX_RETRIES == 3
    assert client.base_url == httpx.URL(f"{RUNTIME_URL}/")


def test_a_real_token_is_accepted_by_the_local_runtime(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep", served_model_name="Qwen/Qwen3-4B")
    client = openai_client(f"{server.origin}/endpoints/ep/openai/v1", region=REGION)
    completion = client.chat.completions.create(
        model="", messages=[{"role": "user", "content": "hello there"}]
    )
    assert completion.choices[0].message.content == "local-runtime ep: hello there"
    assert completion.model == "Qwen/Qwen3-4B"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 4


def test_async_client_streams_from_the_local_runtime(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep", ("ic-a",))

    async def main() -> str:
        client: AsyncOpenAI = async_openai_client(
            f"{server.origin}/endpoints/ep/inference-components/ic-a/openai/v1", region=REGION
        )
        async with client:
            stream = await client.chat.completions.create(
                model="", messages=[{"role": "user", "content": "stream me"}], stream=True
            )
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

    assert asyncio.run(main()) == "local-runtime ic-a: stream me"


def test_a_stacks_models_share_one_connection_and_one_token() -> None:
    settings = RuntimeSettings(
        layout=EndpointLayout("ep", ("ic-a", "ic-b")),
        verifier=TokenVerifier(SessionCredentials(), region=REGION),
    )
    with LocalRuntimeServer(settings).running() as server:
        base = f"{server.origin}/endpoints/ep/inference-components"
        models = {
            key: {
                "base_url": f"{base}/ic-{key}/openai/v1",
                "inference_component_name": f"ic-{key}",
                "served_model_name": "",
            }
            for key in ("a", "b")
        }
        config = client_config(mode="inference_component", models=models)
        stack = StackOutputs.from_outputs("Demo", {"ClientConfig": config}, source="test")
        factory = CountingTokenFactory(sign=sagemaker_generate_token)
        clients = openai_clients(stack, auth=BearerTokenAuth(REGION, token_factory=factory))
        answers = [
            clients[key]
            .chat.completions.create(model="", messages=[{"role": "user", "content": key}])
            .choices[0]
            .message.content
            for key in ("a", "b", "a", "b")
        ]
        connections = server.connections_accepted
    assert answers == ["local-runtime ic-a: a", "local-runtime ic-b: b"] * 2
    assert connections == 1
    assert len(factory.calls) == 1


def test_option_conflicts_name_both_options() -> None:
    stack = StackOutputs.from_outputs("Demo", {"ClientConfig": client_config()}, source="test")
    with pytest.raises(ValueError, match=r"Provide either base_url or stack, not both\."):
        openai_client(RUNTIME_URL, stack=stack)
    with pytest.raises(
        ValueError, match=r"Provide either auth or http_client \(carrying its own auth\), not both."
    ):
        openai_client(RUNTIME_URL, auth=BearerTokenAuth(REGION), http_client=httpx.Client())
    with pytest.raises(ValueError, match="model_key picks a model of a stack"):
        openai_client(RUNTIME_URL, model_key="default")
    with pytest.raises(ValueError, match=r"Provide base_url or stack\."):
        openai_client()


def test_region_mismatches_are_refused_before_any_request() -> None:
    stack = StackOutputs.from_outputs("Demo", {"ClientConfig": client_config()}, source="test")
    with pytest.raises(RegionError, match="region eu-west-1 does not match stack Demo's region us-east-1"):
        openai_client(stack=stack, region="eu-west-1")
    with pytest.raises(RegionError, match=r"auth signs for eu-west-1 but .* is in us-east-1"):
        openai_client(RUNTIME_URL, auth=BearerTokenAuth("eu-west-1"))
    with pytest.raises(RegionError, match="auth signs for eu-west-1 but stack Demo is in us-east-1"):
        openai_clients(stack, auth=BearerTokenAuth("eu-west-1"))


def test_auth_refuses_to_send_a_token_to_another_regions_runtime(
    counting_factory: CountingTokenFactory,
) -> None:
    auth = BearerTokenAuth("eu-west-1", token_factory=counting_factory)
    with (
        httpx.Client(auth=auth, transport=_capturing([])) as pool,
        pytest.raises(
            RegionError, match=r"signs for eu-west-1 but the request goes to runtime\.sagemaker\.us-east-1"
        ),
    ):
        pool.get(RUNTIME_URL)
    assert counting_factory.calls == []


def test_stack_client_uses_the_stack_region_for_a_local_url(local_runtime: RuntimeFactory) -> None:
    server = local_runtime("ep")
    models = {
        "default": {
            "base_url": f"{server.origin}/endpoints/ep/openai/v1",
            "inference_component_name": None,
            "served_model_name": "m",
        }
    }
    stack = StackOutputs.from_outputs("Demo", {"ClientConfig": client_config(models=models)}, source="test")
    client = openai_client(stack=stack)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ok"}])
    assert reply.choices[0].message.content == "local-runtime ep: ok"
