"""Keeping secrets out of other libraries' log lines.

Toss puts the billing key in the URL path (``/v1/billing/{billingKey}``), and both httpx (the
connector's "HTTP Request: …" line) and uvicorn (the sandbox's access log) log URLs. A filter on
those loggers masks the key before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

_BILLING_PATH = re.compile(r"(/v1/billing/)(?!authorizations\b)([^/\s?\"']+)")
LOGGERS = ("httpx", "uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _BILLING_PATH.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Idempotent: adds the filter once to each logger that may print a billing key."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
