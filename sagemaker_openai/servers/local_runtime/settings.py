"""What local-runtime serves, and its limits (no server library is needed to describe them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagemaker_openai.servers.local_runtime.completions import StreamPacer
from sagemaker_openai.servers.local_runtime.routes import EndpointLayout
from sagemaker_openai.servers.local_runtime.token_verifier import TokenVerifier
from sagemaker_openai.servers.serving_limits import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_READ_TIMEOUT,
    check_limits,
)

if TYPE_CHECKING:
    from sagemaker_openai.servers.local_runtime.upstream import Upstream

LOOPBACK = "127.0.0.1"
# SageMaker's InvokeEndpoint payload limit.
MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_MODEL_NAME = "local-runtime"
__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_READ_TIMEOUT",
    "LOOPBACK",
    "MAX_BODY_BYTES",
    "RuntimeSettings",
]


@dataclass(frozen=True)
class RuntimeSettings:
    """What the stand-in serves. `verifier` None means no authentication (for benchmarks)."""

    layout: EndpointLayout
    verifier: TokenVerifier | None
    # Given, a request naming another (non-empty) model gets vLLM's 404; None accepts any name.
    served_model_name: str | None = None
    upstream: Upstream | None = None
    # The status of every token refusal (AWS documents none for the route); None: 401, or 403 for a
    # token that is well formed but not accepted.
    refusal_status: int | None = None
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Seconds between streamed chunks (the first comes after one), as a model generating tokens would
    # take (for benchmarks).
    token_delay: float = 0.0
    # Given, the first token of a streamed answer comes this long after its turn, later ones token_delay
    # apart (completions.StreamPacer); None keeps every chunk token_delay apart.
    first_token_delay: float | None = None
    # Given, at most this many streamed answers generate at once; the rest queue, as beyond vLLM's
    # --max-num-seqs.
    max_num_seqs: int | None = None
    # False: streams carry no usage chunk even when asked (as servers without stream_options support).
    stream_usage: bool = True

    def __post_init__(self) -> None:
        if self.refusal_status not in (None, 400, 401, 403):
            raise ValueError("refusal_status must be 401, 403 or 400.")
        check_limits(self.read_timeout, self.max_connections)
        if self.max_num_seqs is not None and self.max_num_seqs < 1:
            raise ValueError("max_num_seqs must be at least 1.")

    def stream_pacer(self) -> StreamPacer:
        return StreamPacer(
            token_delay=self.token_delay,
            first_token_delay=self.first_token_delay,
            max_num_seqs=self.max_num_seqs,
        )
