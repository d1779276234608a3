"""OpenAI SDK clients for a SageMaker endpoint or a deployed stack's model, authenticated by bearer token."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from openai import AsyncOpenAI, DefaultAsyncHttpxClient, DefaultHttpxClient, OpenAI

from sagemaker_openai.client.auth import BearerTokenAuth
from sagemaker_openai.client.capacity import AsyncCapacityWaitTransport, CapacityWaitTransport
from sagemaker_openai.client.destinations import check_token_destination
from sagemaker_openai.client.direct_http import async_direct_plain_http, direct_plain_http
from sagemaker_openai.client.errors import RegionError
from sagemaker_openai.client.region import resolve_region
from sagemaker_openai.client.stack_outputs import StackOutputs
from sagemaker_openai.client.urls import region_from_host

# SageMaker gives a container 60 s to answer and AWS suggests a 70 s socket timeout; for streams the read
# timeout bounds the gap between chunks, not the whole answer.
DEFAULT_TIMEOUT = httpx.Timeout(70.0, connect=10.0)
# Retries cover 429/5xx and dropped connections (the SDK backs off exponentially). A scale-to-zero model
# answers 400 "no capacity" for minutes while a copy starts: that takes wait_for_capacity, not retries.
DEFAULT_MAX_RETRIES = 3
# The SDK's own pool limits (DefaultHttpxClient), set again where the pool gets its own transport.
POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
# The SDK requires an api_key and sends it as a bearer header; the client's httpx auth replaces it.
API_KEY_PLACEHOLDER = "replaced-by-sagemaker-bearer-token-auth"


def connection_pool(
    *,
    auth: httpx.Auth | None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    wait_for_capacity: float = 0.0,
    transport: httpx.BaseTransport | None = None,
    notify: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> httpx.Client:
    """An httpx pool with the SDK's defaults and `auth`. With `wait_for_capacity` seconds, requests to a
    model scaled to zero are resent until a copy answers, each pause announced through `notify` (default:
    a warning log); see sagemaker_openai.client.capacity.

    A token never goes through a forward proxy in clear: plain-HTTP (loopback) requests ignore HTTP_PROXY
    and ALL_PROXY; HTTPS follows them (see sagemaker_openai.client.direct_http). A given `transport`
    replaces the network and its proxy settings altogether, as in httpx."""
    if wait_for_capacity > 0:
        inner = transport or httpx.HTTPTransport(limits=POOL_LIMITS)
        transport = CapacityWaitTransport(
            inner, max_wait=wait_for_capacity, sleep=sleep, clock=clock, notify=notify
        )
    if transport is not None:  # httpx reads no proxy from the environment then
        return DefaultHttpxClient(auth=auth, timeout=timeout, transport=transport)
    return DefaultHttpxClient(auth=auth, timeout=timeout, mounts=direct_plain_http(POOL_LIMITS))


def async_connection_pool(
    *,
    auth: httpx.Auth | None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    wait_for_capacity: float = 0.0,
    transport: httpx.AsyncBaseTransport | None = None,
    notify: Callable[[str], None] | None = None,
) -> httpx.AsyncClient:
    """The asyncio twin of connection_pool."""
    if wait_for_capacity > 0:
        inner = transport or httpx.AsyncHTTPTransport(limits=POOL_LIMITS)
        transport = AsyncCapacityWaitTransport(inner, max_wait=wait_for_capacity, notify=notify)
    if transport is not None:
        return DefaultAsyncHttpxClient(auth=auth, timeout=timeout, transport=transport)
    return DefaultAsyncHttpxClient(auth=auth, timeout=timeout, mounts=async_direct_plain_http(POOL_LIMITS))


def openai_client(
    base_url: str | None = None,
    *,
    stack: StackOutputs | None = None,
    model_key: str | None = None,
    region: str | None = None,
    auth: BearerTokenAuth | None = None,
    http_client: httpx.Client | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    wait_for_capacity: float = 0.0,
    **kwargs: Any,
) -> OpenAI:
    """An OpenAI client for `base_url`, or for the model `model_key` of `stack`.

    `wait_for_capacity` (seconds) keeps resending while a scaled-to-zero model answers 400 "no capacity".
    Pass `http_client` to share one pool (made by `connection_pool`, carrying its own auth and waiting).
    """
    url, auth = _target(
        base_url, stack, model_key, region, auth, http_client=http_client, waits=wait_for_capacity
    )
    if http_client is None:
        http_client = connection_pool(auth=auth, timeout=timeout, wait_for_capacity=wait_for_capacity)
    return OpenAI(
        base_url=url,
        api_key=API_KEY_PLACEHOLDER,
        http_client=http_client,
        timeout=timeout,
        max_retries=max_retries,
        **kwargs,
    )


def async_openai_client(
    base_url: str | None = None,
    *,
    stack: StackOutputs | None = None,
    model_key: str | None = None,
    region: str | None = None,
    auth: BearerTokenAuth | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    wait_for_capacity: float = 0.0,
    **kwargs: Any,
) -> AsyncOpenAI:
    """An AsyncOpenAI client for `base_url`, or for the model `model_key` of `stack`."""
    url, auth = _target(
        base_url, stack, model_key, region, auth, http_client=http_client, waits=wait_for_capacity
    )
    if http_client is None:
        http_client = async_connection_pool(auth=auth, timeout=timeout, wait_for_capacity=wait_for_capacity)
    return AsyncOpenAI(
        base_url=url,
        api_key=API_KEY_PLACEHOLDER,
        http_client=http_client,
        timeout=timeout,
        max_retries=max_retries,
        **kwargs,
    )


def openai_clients(
    stack: StackOutputs,
    *,
    auth: BearerTokenAuth | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    wait_for_capacity: float = 0.0,
    **kwargs: Any,
) -> dict[str, OpenAI]:
    """One OpenAI client per model of `stack`, all on one connection pool and one token.

    Closing any of them closes the shared pool.
    """
    pool = connection_pool(
        auth=_stack_auth(stack, auth), timeout=timeout, wait_for_capacity=wait_for_capacity
    )
    return {
        key: openai_client(
            stack=stack, model_key=key, http_client=pool, timeout=timeout, max_retries=max_retries, **kwargs
        )
        for key in stack.models
    }


def async_openai_clients(
    stack: StackOutputs,
    *,
    auth: BearerTokenAuth | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    wait_for_capacity: float = 0.0,
    **kwargs: Any,
) -> dict[str, AsyncOpenAI]:
    """One AsyncOpenAI client per model of `stack`, all on one connection pool and one token."""
    pool = async_connection_pool(
        auth=_stack_auth(stack, auth), timeout=timeout, wait_for_capacity=wait_for_capacity
    )
    return {
        key: async_openai_client(
            stack=stack, model_key=key, http_client=pool, timeout=timeout, max_retries=max_retries, **kwargs
        )
        for key in stack.models
    }


def _target(
    base_url: str | None,
    stack: StackOutputs | None,
    model_key: str | None,
    region: str | None,
    auth: BearerTokenAuth | None,
    *,
    http_client: object,
    waits: float,
) -> tuple[str, BearerTokenAuth | None]:
    """The base URL to call, and the auth to put on a new pool (None when the caller brings a pool)."""
    owns_auth = http_client is None
    if not owns_auth and auth is not None:
        raise ValueError("Provide either auth or http_client (carrying its own auth), not both.")
    if not owns_auth and waits:
        raise ValueError(
            "Provide either wait_for_capacity or http_client "
            "(made by connection_pool(wait_for_capacity=...)), not both."
        )
    if stack is not None:
        if base_url is not None:
            raise ValueError("Provide either base_url or stack, not both.")
        if region is not None and region != stack.region:
            raise RegionError(
                f"region {region} does not match stack {stack.stack_name}'s region {stack.region}; "
                "drop the region setting"
            )
        url, region = stack.target(model_key).base_url, stack.region
    elif base_url is None:
        raise ValueError("Provide base_url or stack.")
    elif model_key is not None:
        raise ValueError("model_key picks a model of a stack; pass stack= as well, or only base_url.")
    else:
        url = base_url
    # A URL the token must not reach is refused now, before any request is built.
    if not owns_auth:
        pool_auth = getattr(http_client, "auth", None)
        if isinstance(pool_auth, BearerTokenAuth):  # a pool without it sends no token of ours
            pool_auth.check_url(url)
        return url, None
    if auth is None:
        check_token_destination(url)
        return url, BearerTokenAuth(resolve_region(region, base_url=url))
    target_region = resolve_region(region, base_url=url) if region else region_from_host(url)
    if target_region is not None and target_region != auth.region:
        raise RegionError(f"auth signs for {auth.region} but {url} is in {target_region}; use one region")
    auth.check_url(url)
    return url, auth


def _stack_auth(stack: StackOutputs, auth: BearerTokenAuth | None) -> BearerTokenAuth:
    if auth is None:
        return BearerTokenAuth(stack.region)
    if auth.region != stack.region:
        raise RegionError(
            f"auth signs for {auth.region} but stack {stack.stack_name} is in {stack.region}; use one region"
        )
    return auth
