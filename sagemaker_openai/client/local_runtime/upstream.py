"""Forwarding chat completions to an OpenAI-compatible server (a local vLLM, for example)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class Upstream:
    """Posts request bodies to `<base_url>/chat/completions`; the caller's bearer token is never forwarded."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 300.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0)
        )

    def __repr__(self) -> str:
        return f"Upstream({self.base_url!r})"

    @contextmanager
    def chat_completion(self, body: bytes) -> Iterator[httpx.Response]:
        """The upstream's response, not yet read, so streams can be relayed chunk by chunk."""
        with self._client.stream(
            "POST", "/chat/completions", content=body, headers={"Content-Type": "application/json"}
        ) as response:
            yield response

    def close(self) -> None:
        self._client.close()
