"""Redacts credentials from the debug records of the libraries that sign and send requests.

At DEBUG, botocore.auth logs each SigV4 canonical request (with the session token) and signature, and
botocore.endpoint, botocore.parsers and urllib3 log signed headers, presigned URLs and credential-provider
responses. A filter on a logger sees only the records created on that logger, not the ones propagated to
it, so the filter sits on each emitting logger rather than on a handler (handlers belong to the
application). Only the secret parts of a record are replaced: the rest of the debug output stays.
"""

from __future__ import annotations

import logging
import threading

from sagemaker_openai.client.redaction import redact

# The loggers of libraries that see signed requests, tokens or credentials. Loggers created later under
# these prefixes are covered when `protect_library_loggers` runs again (at each BearerTokenAuth and CLI run).
_LOGGERS = (
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.client",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.retryhandler",
    "botocore.signers",
    "botocore.tokens",
    "botocore.utils",
    "urllib3.connection",
    "urllib3.connectionpool",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "openai._base_client",
    "sagemaker.core.token_generator",
)
_PREFIXES = (
    "botocore",
    "boto3",
    "urllib3",
    "httpx",
    "httpcore",
    "openai",
    "sagemaker.core",
    "s3transfer",
    "sagemaker_openai",
)


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record whose text holds a credential; every record passes (none is dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: a traceback quoting a credential is redacted too.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()
_FILTER = SecretRedactingFilter()
_install_lock = threading.Lock()


def protect_library_loggers() -> None:
    """Put the redacting filter on every signing/sending logger (idempotent, cheap to repeat)."""
    with _install_lock:
        names = set(_LOGGERS)
        known = dict(logging.root.manager.loggerDict)
        names.update(
            name
            for name, logger in known.items()
            if name.startswith(_PREFIXES) and isinstance(logger, logging.Logger)
        )
        for name in names:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
