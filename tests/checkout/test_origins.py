"""Allowed origins and the redirects of the window (issue 13, item 4): a merchant's windows open
only from its origins and send buyers only there; an expired window is a page, never a redirect;
an abandoned window does not leave a ``ready`` payment behind."""

from __future__ import annotations

from typing import Any

import httpx

from tests.checkout.test_flow import SHOP, approve_in_window, open_window, params, rest_payment
from tests.conftest import MerchantFixture, count_rows
from tollway.checkout.flow import expire_stale
from tollway.clock import ManualClock
from tollway.merchants.origins import add_origins
from tollway.services import Services

EVIL = "https://evil.example"


async def _allow(services: Services, merchant: MerchantFixture, *origins: str) -> None:
    async with services.sessions() as session:
        await add_origins(session, services.clock, merchant.id, list(origins))
        await session.commit()


async def _session(
    live: str, merchant: MerchantFixture, request: dict[str, Any], origin: str, mode: str = "iframe"
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live) as http:
        return await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "params": request, "mode": mode},
            headers={"Origin": origin},
        )


async def test_with_allowed_origins_other_sites_and_targets_are_refused(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    await _allow(services, merchant, SHOP + "/", "https://m.shop.example:443")
    refused = {
        "INVALID_ORIGIN": await _session(live, merchant, params("o-1"), EVIL),
        "INVALID_REDIRECT_URL": await _session(
            live, merchant, params("o-2", m_redirect_url=f"{EVIL}/steal"), SHOP, mode="redirect"
        ),
        "INVALID_NOTICE_URL": await _session(live, merchant, params("o-3", notice_url="http://169.254.169.254/"), SHOP),
    }
    for code, answer in refused.items():
        assert answer.status_code == 400 and answer.json()["response"]["error_code"] == code, answer.text
    assert await count_rows(services, "payments") == 0  # nothing refused leaves a payment behind
    ok = await _session(
        live, merchant, params("o-4", m_redirect_url="https://m.shop.example/done", notice_url=f"{SHOP}/hook"), SHOP
    )
    assert ok.status_code == 200 and ok.json()["code"] == 0, ok.text


async def test_without_allowed_origins_any_site_may_open_a_window(live: str, merchant: MerchantFixture) -> None:
    answer = await _session(live, merchant, params("o-5", m_redirect_url=f"{EVIL}/x"), EVIL, mode="redirect")
    assert answer.status_code == 200  # i'mport's behaviour while a merchant sets none


async def test_an_expired_window_shows_a_page_never_a_redirect(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    first = await _session(live, merchant, params("o-6", m_redirect_url=f"{EVIL}/a"), EVIL, mode="redirect")
    second = await _session(live, merchant, params("o-7", m_redirect_url=f"{EVIL}/b"), EVIL, mode="redirect")
    unused_url, used_url = (a.json()["response"]["checkout_url"] for a in (first, second))
    async with httpx.AsyncClient() as http:
        while_valid = await http.get(f"{used_url}/fail?code=PAY_PROCESS_CANCELED&message=x")
        assert while_valid.status_code == 303  # the buyer goes back to the shop while the window is valid
        clock.advance(seconds=31 * 60)
        for url in (unused_url, f"{unused_url}/fail", f"{unused_url}/success", used_url, f"{used_url}/fail"):
            answer = await http.get(url)
            assert answer.status_code == 200 and "location" not in answer.headers, (url, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")


async def test_an_abandoned_window_ends_failed_with_its_reason(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    abandoned = await _session(live, merchant, params("o-8"), SHOP)
    imp_uid = abandoned.json()["response"]["imp_uid"]
    _, call = await open_window(live, merchant, params("o-9"))
    await approve_in_window(live, call)  # at the PG, never returned: Tollway never confirmed it
    clock.advance(seconds=10 * 60)
    assert await expire_stale(services) == 0  # still valid
    clock.advance(seconds=30 * 60)
    assert await expire_stale(services) == 2
    for uid in (imp_uid, call["params"]["orderId"]):
        payment = await rest_payment(live, merchant, uid)
        assert payment["status"] == "failed" and "WINDOW_EXPIRED" in payment["fail_reason"], payment
    assert await expire_stale(services) == 0
