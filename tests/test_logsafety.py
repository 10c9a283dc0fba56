"""Billing keys in URL paths are masked in httpx's and uvicorn's log lines."""

from __future__ import annotations

import logging

import pytest

from tollway import logsafety

KEY = "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0="


def test_redact_masks_billing_keys_but_not_other_paths() -> None:
    assert logsafety.redact(f"POST /v1/billing/{KEY} 200") == "POST /v1/billing/*** 200"
    assert logsafety.redact("POST /v1/billing/authorizations/card") == "POST /v1/billing/authorizations/card"
    assert logsafety.redact("GET /v1/payments/abc") == "GET /v1/payments/abc"


@pytest.mark.parametrize("name", ["httpx", "uvicorn.access"])
def test_the_filter_sits_on_the_loggers_that_print_urls(name: str, caplog: pytest.LogCaptureFixture) -> None:
    logsafety.install()
    logsafety.install()  # idempotent
    logger = logging.getLogger(name)
    # uvicorn's own logging config stops its loggers from propagating: listen on the logger itself
    caplog.set_level(logging.INFO, logger=name)
    logger.addHandler(caplog.handler)
    assert sum(isinstance(f, logsafety.RedactSecrets) for f in logger.filters) == 1
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "DELETE", f"/sandbox/toss/v1/billing/{KEY}", "1.1", 200)
    logger.removeHandler(caplog.handler)
    assert KEY not in caplog.text and "/v1/billing/***" in caplog.text
