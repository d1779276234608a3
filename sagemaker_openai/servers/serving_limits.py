"""The limits both servers (the proxy and local-runtime) hold connections to, without a server library, so
that the CLI can state them in its flags."""

from __future__ import annotations

# Seconds a request's body has to arrive, once its head is in (the answer is then a 408).
DEFAULT_READ_TIMEOUT = 30.0
# Connections served at once; a request on one more is answered 503. Above a few hundred, so that idle or
# half-sent connections (whose heads no deadline bounds: see serving.py) do not lock callers out at once.
DEFAULT_MAX_CONNECTIONS = 1000


def check_limits(read_timeout: float, max_connections: int) -> None:
    """ValueError naming the flag when a limit is out of range."""
    if not read_timeout > 0:
        raise ValueError("--read-timeout must be a positive number of seconds")
    if max_connections < 1:
        raise ValueError("--max-connections must be at least 1")
