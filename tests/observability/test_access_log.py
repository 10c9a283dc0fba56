"""The access log never carries a buyer's data (issue 13, item 9): the sandbox window's URL holds
the buyer's name and email in its query, and the log names the route without it."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.checkout.test_flow import open_window, params
from tests.conftest import MerchantFixture


async def test_the_window_url_with_buyer_data_is_logged_without_it(
    live: str, merchant: MerchantFixture, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    buyer = {"buyer_name": "김비밀", "buyer_email": "secret-buyer@example.com", "buyer_tel": "010-9876-5432"}
    _, call = await open_window(live, merchant, params("log-1", **buyer))
    query = {
        "clientKey": call["clientKey"],
        "kind": call["kind"],
        "method": call["method"],
        "params": json.dumps(call["params"], ensure_ascii=False),
    }
    assert "secret-buyer@example.com" in query["params"]  # the window's URL does carry them
    caplog.clear()
    capfd.readouterr()  # from here: the window's request only
    async with httpx.AsyncClient(base_url=live) as browser:
        assert (await browser.get("/sandbox/toss/_sandbox/window", params=query)).status_code == 200
    out, err = capfd.readouterr()
    gateway = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # not this test's client
    logged = "\n".join(gateway) + out + err
    assert "/sandbox/toss/_sandbox/window" in logged  # the request is logged ...
    for value in ("김비밀", "secret-buyer@example.com", "secret-buyer%40example.com", "9876"):
        assert value not in logged, value  # ... without the buyer
