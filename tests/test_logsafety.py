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


def test_uvicorn_s_access_formatter_still_formats_a_masked_record() -> None:
    import httpx
    from uvicorn.logging import AccessFormatter

    logsafety.install()
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "POST", f"/sandbox/toss/v1/billing/{KEY}", "1.1", 200),
        None,
    )
    assert logsafety.RedactSecrets().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:1 - "POST /sandbox/toss/v1/billing/*** HTTP/1.1" 200 OK'
    # httpx logs the URL as an object: it is masked as text, and numbers stay numbers
    url_record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s %d %s"',
        ("DELETE", httpx.URL(f"http://t/v1/billing/{KEY}"), "HTTP/1.1", 200, "OK"),
        None,
    )
    assert logsafety.RedactSecrets().filter(url_record)
    assert url_record.getMessage() == 'HTTP Request: DELETE http://t/v1/billing/*** "HTTP/1.1 200 OK"'
