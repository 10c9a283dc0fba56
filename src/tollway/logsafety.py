"""Keeping secrets out of other libraries' log lines.

Toss puts the billing key in the URL path (``/v1/billing/{billingKey}``), and httpx (its clients'
"HTTP Request: …" line), aiohttp (the outgoing client, see ``tollway.http``) and uvicorn (the
sandbox's access log) may log URLs. A filter on those loggers masks the key before any handler
sees the record.
"""

from __future__ import annotations

import logging
import re

_BILLING_PATH = re.compile(r"(/v1/billing/)(?!authorizations\b)([^/\s?\"']+)")
LOGGERS = ("httpx", "aiohttp.client", "aiohttp.internal", "uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _BILLING_PATH.sub(r"\1***", text)


def _clean(value: object) -> object:
    if isinstance(value, int | float) or value is None:
        return value  # keep numbers numbers: formats such as %d need them
    text = str(value)
    cleaned = redact(text)
    return cleaned if cleaned != text else value


class RedactSecrets(logging.Filter):
    """Masks inside the message and each argument, keeping the record's shape: uvicorn's access
    formatter reads ``record.args`` as (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(arg) for key, arg in record.args.items()}
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Idempotent: adds the filter once to each logger that may print a billing key."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
