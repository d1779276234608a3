"""The limits both servers (the proxy and local-runtime) hold connections to, without a server library, so
that the CLI can state them in its flags."""

from __future__ import annotations

# Seconds a request's head has to arrive once its connection opens (or its previous answer ends), and its
# body once its head is in (the answer is then a 408); a kept-alive connection idle this long is closed.
DEFAULT_READ_TIMEOUT = 30.0
# Requests served at once; one more is answered 503. Connections that have not sent a whole head take no
# place (the read timeout closes them).
DEFAULT_MAX_CONNECTIONS = 1000


def check_limits(read_timeout: float, max_connections: int) -> None:
    """ValueError naming the flag when a limit is out of range."""
    if not read_timeout > 0:
        raise ValueError("--read-timeout must be a positive number of seconds")
    if max_connections < 1:
        raise ValueError("--max-connections must be at least 1")
