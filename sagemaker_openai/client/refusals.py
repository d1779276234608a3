"""Which answers mean "this token was refused", so the auth renews it once and resends.

AWS documents no status code for a missing, expired or foreign token on the OpenAI route. AWS's common
errors answer 403 for an expired security token (`ExpiredTokenException`) and 400 for an expired
pre-signed request (`RequestExpired`), and some gateways answer 401; so any 401 or 403 counts, and a 400
only when its body says a token, signature or request expired (a 400 is otherwise the caller's own).
"""

from __future__ import annotations

import re

RENEW_ON_STATUS = frozenset({401, 403})
EXPIRED_TOKEN_STATUS = 400
# Only the start of a 400 body is read for the reason: error bodies are short, a model's answer is not.
MAX_REASON_BYTES = 4096

_EXPIRED = re.compile(
    r"expiredtoken|requestexpired|request\s+expiration\s+date"
    r"|expired\s+(?:security\s+|bearer\s+)?(?:token|signature)"
    r"|(?:token|signature|request)(?:'s)?\b[^.\n]{0,60}?\b(?:has\s+|is\s+|was\s+)?expired\b",
    re.IGNORECASE,
)


def says_token_expired(body: bytes) -> bool:
    """Whether an error body reports an expired token, signature or pre-signed request."""
    return _EXPIRED.search(body[:MAX_REASON_BYTES].decode("utf-8", "replace")) is not None
