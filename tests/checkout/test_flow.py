"""The hosted window over plain HTTP (no browser), on SQLite and PostgreSQL: what a return may do."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.api.routes.pg_helpers import HANG, sandbox_ledger
from tests.conftest import MerchantFixture, token_for
from tollway.clock import ManualClock
from tollway.services import Services

SHOP = "http://shop.example"


def params(merchant_uid: str, **extra: Any) -> dict[str, Any]:
    return {"pg": "tosspayments", "merchant_uid": merchant_uid, "name": "테스트 상품", "amount": 15000, **extra}


async def open_window(
    live: str, merchant: MerchantFixture, request: dict[str, Any], mode: str = "iframe"
) -> tuple[str, dict[str, Any]]:
    """What the SDK does: the session, then the window page; returns (checkout URL, the PG call)."""
    async with httpx.AsyncClient(base_url=live) as http:
        answer = await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "params": request, "mode": mode},
            headers={"Origin": SHOP},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == SHOP
        url = answer.json()["response"]["checkout_url"]
        page = await http.get(url)
    found = re.search(r'<script type="application/json" id="call">(.*?)</script>', page.text)
    assert found is not None, page.text
    call: dict[str, Any] = json.loads(found.group(1))
    return url, call


def window_form(call: dict[str, Any], **choices: str) -> dict[str, str]:
    """The sandbox window's form as the buyer submits it: the PG call it carries, and the choices."""
    return {
        "clientKey": call["clientKey"],
        "kind": call["kind"],
        "method": call["method"],
        "params": json.dumps(call["params"]),
        "action": "pay",
        **choices,
    }


async def approve_in_window(live: str, call: dict[str, Any], outcome: str = "approve") -> str:
    """The buyer approves in the sandbox window; returns the success URL it redirects to."""
    form = window_form(call, company="41", months="0", outcome=outcome)
    async with httpx.AsyncClient(base_url=live) as http:
        answer = await http.post("/sandbox/toss/_sandbox/window", data=form)
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def posted_result(page: httpx.Response) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="result-data">(.*?)</script>', page.text)
    assert found is not None, page.text
    result: dict[str, Any] = json.loads(found.group(1))["result"]
    return result


async def rest(live: str, merchant: MerchantFixture, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live) as http:
        token = await token_for(http, merchant)
        answer = await http.request(method, path, headers={"Authorization": token}, **kwargs)
    body: dict[str, Any] = answer.json()
    return body


async def rest_payment(live: str, merchant: MerchantFixture, imp_uid: str) -> dict[str, Any]:
    found: dict[str, Any] = (await rest(live, merchant, "GET", f"/payments/{imp_uid}"))["response"]
    return found


async def test_a_return_loaded_twice_confirms_once(live: str, merchant: MerchantFixture) -> None:
    _, call = await open_window(live, merchant, params("order-twice-1"))
    success = await approve_in_window(live, call)
    async with httpx.AsyncClient() as http:
        first, second = await asyncio.gather(http.get(success), http.get(success))
        third = await http.get(success)
    results = [posted_result(page) for page in (first, second, third)]
    imp_uid = call["params"]["orderId"]
    assert {r["imp_uid"] for r in results} == {imp_uid}
    assert results[2]["status"] == "paid" and results[2]["success"] is True
    assert all(r["status"] in ("paid", "ready") for r in results)  # one may see it while it is confirmed
    ledger = await sandbox_ledger(live)
    assert [(p["orderId"], p["status"]) for p in ledger] == [(imp_uid, "DONE")]
    assert (await rest_payment(live, merchant, imp_uid))["status"] == "paid"


async def test_a_tampered_amount_is_never_confirmed(live: str, merchant: MerchantFixture) -> None:
    _, call = await open_window(live, merchant, params("order-tamper-1"))
    success = await approve_in_window(live, call)
    async with httpx.AsyncClient() as http:
        result = posted_result(await http.get(success.replace("amount=15000", "amount=100")))
    assert result["success"] is False and result["error_code"] == "AMOUNT_MISMATCH"
    ledger = await sandbox_ledger(live)
    assert [p["status"] for p in ledger] == ["IN_PROGRESS"]  # left unconfirmed: it expires at the PG
    assert (await rest_payment(live, merchant, call["params"]["orderId"]))["status"] == "failed"


async def test_a_window_past_its_time_ends_failed_without_a_charge(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    url, call = await open_window(live, merchant, params("order-late-1"))
    success = await approve_in_window(live, call)
    clock.advance(seconds=31 * 60)
    async with httpx.AsyncClient() as http:
        result = posted_result(await http.get(success))
        again = posted_result(await http.get(url))  # the window page now shows the same result
    assert result["error_code"] == "WINDOW_EXPIRED" and result["status"] == "failed"
    assert again == result
    assert [p["status"] for p in await sandbox_ledger(live)] == ["IN_PROGRESS"]


async def test_a_window_opened_too_late_shows_the_expiry(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with httpx.AsyncClient(base_url=live) as http:
        answer = await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "params": params("order-late-2"), "mode": "iframe"},
            headers={"Origin": SHOP},
        )
        clock.advance(seconds=31 * 60)
        page = await http.get(answer.json()["response"]["checkout_url"])
    result = posted_result(page)
    assert result["error_code"] == "WINDOW_EXPIRED"
    assert (await rest_payment(live, merchant, result["imp_uid"]))["status"] == "failed"


async def test_a_confirm_that_times_out_is_reconciled_not_charged_twice(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    from tollway.payments.reconcile import reconcile

    _, call = await open_window(live, merchant, params("order-hang-1"))
    imp_uid = call["params"]["orderId"]
    auth = "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss") as http:
        opened = await http.post(
            "/_sandbox/checkout-sessions",
            json={"orderId": imp_uid, "orderName": "테스트 상품", "amount": 15000, "cardNumber": HANG.replace("-", "")},
            headers={"Authorization": auth},
        )
    assert opened.status_code == 200, opened.text
    success = f"{call['params']['successUrl']}?paymentKey={opened.json()['paymentKey']}&orderId={imp_uid}&amount=15000"
    async with httpx.AsyncClient(timeout=10) as http:
        result = posted_result(await http.get(success))
        reload = posted_result(await http.get(success))
    assert result["error_code"] == "PG_RESULT_PENDING" and imp_uid in result["error_msg"]
    assert result["status"] == "ready"
    assert reload["error_code"] == "PG_RESULT_PENDING"  # a reload never confirms a second time
    clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
    await reconcile(services)
    assert (await rest_payment(live, merchant, imp_uid))["status"] == "paid"
    assert [p["status"] for p in await sandbox_ledger(live)] == ["DONE"]


async def test_redirect_mode_returns_to_m_redirect_url(live: str, merchant: MerchantFixture) -> None:
    _, call = await open_window(
        live, merchant, params("order-redirect-1", m_redirect_url=f"{SHOP}/done?x=1"), mode="redirect"
    )
    success = await approve_in_window(live, call, outcome="decline")
    async with httpx.AsyncClient() as http:
        answer = await http.get(success)
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{SHOP}/done"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["x"] == "1" and query["merchant_uid"] == "order-redirect-1"
    assert query["imp_uid"] == call["params"]["orderId"] and query["imp_success"] == "false"
    assert query["error_code"] == "REJECT_CARD_COMPANY" and query["error_msg"]


async def test_session_requests_are_checked(live: str, merchant: MerchantFixture) -> None:
    async with httpx.AsyncClient(base_url=live) as http:
        no_origin = await http.post("/checkout/sessions", json={"user_code": merchant.user_code, "params": params("o")})
        unknown = await http.post(
            "/checkout/sessions", json={"user_code": "imp00000000", "params": params("o-1")}, headers={"Origin": SHOP}
        )
        tier = await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "tier_code": "T01", "params": params("o-2")},
            headers={"Origin": SHOP},
        )
        preflight = await http.options(
            "/checkout/sessions",
            headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"},
        )
        sdk = await http.get("/v1/iamport.js")
        missing = await http.get("/checkout/not-a-token")
    assert no_origin.status_code == 400 and no_origin.json()["response"]["error_code"] == "INVALID_ORIGIN"
    assert unknown.status_code == 400 and unknown.json()["response"]["error_code"] == "INVALID_USER_CODE"
    assert "imp00000000" in unknown.json()["message"] and unknown.json()["code"] != 0
    assert tier.status_code == 400 and "tier" in tier.json()["message"]
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == SHOP
    assert sdk.status_code == 200 and "request_pay" in sdk.text
    assert sdk.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404


async def test_a_prepared_amount_must_match(live: str, merchant: MerchantFixture) -> None:
    async with httpx.AsyncClient(base_url=live) as http:
        token = await token_for(http, merchant)
        prepared = await http.post(
            "/payments/prepare",
            json={"merchant_uid": "order-prep-1", "amount": 20000},
            headers={"Authorization": token},
        )
        assert prepared.json()["code"] == 0
        answer = await http.post(
            "/checkout/sessions",
            json={"user_code": merchant.user_code, "params": params("order-prep-1")},
            headers={"Origin": SHOP},
        )
    assert answer.status_code == 400
    assert answer.json()["response"]["error_code"] == "AMOUNT_NOT_PREPARED" and "20000" in answer.json()["message"]
    _, call = await open_window(live, merchant, params("order-prep-1", amount=20000))
    assert call["params"]["amount"] == 20000


async def test_a_billing_window_key_never_appears_in_clear(
    live: str,
    merchant: MerchantFixture,
    services: Services,
    monkeypatch: Any,
    caplog: Any,
    capfd: Any,
) -> None:
    import logging
    from pathlib import Path

    from tests.test_card_data_scan import dump_rows, read_sqlite_files
    from tollway.pg.toss.connector import TossConnector

    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    real = TossConnector.issue_billing_key_from_auth

    async def spy(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        result = await real(self, *args, **kwargs)
        issued.append(result.billing_key.reveal())
        return result

    monkeypatch.setattr(TossConnector, "issue_billing_key_from_auth", spy)
    url, call = await open_window(live, merchant, params("issue-scan-1", amount=0, customer_uid="cu-scan-1"))
    form = window_form(call, cardNumber="4330-1234-1234-0005", smsCode="000000")
    texts = []
    async with httpx.AsyncClient(base_url=live) as http:
        approved = await http.post("/sandbox/toss/_sandbox/window", data=form)
        assert approved.status_code == 303, approved.text
        done = await http.get(approved.headers["location"])
        texts += [approved.text, done.text, (await http.get(url)).text]
    result = posted_result(done)
    assert result["success"] is True and result["customer_uid"] == "cu-scan-1"
    assert len(issued) == 1 and len(issued[0]) >= 40
    haystacks = {"rows": await dump_rows(services), "logs": caplog.text, "responses": "\n".join(texts)}
    out, err = capfd.readouterr()
    haystacks["output"] = out + err
    database = services.settings.resolved_database_url()
    if database.startswith("sqlite"):
        haystacks.update(read_sqlite_files(Path(database.split(":///", 1)[1])))
    assert "cu-scan-1" in haystacks["rows"]  # the scan sees the stored customer
    for where, haystack in haystacks.items():
        assert issued[0] not in haystack and issued[0].rstrip("=") not in haystack, f"a billing key in {where}"
        for form_of_number in ("4330-1234-1234-0005", "4330123412340005"):
            assert form_of_number not in haystack, f"a card number in {where}"


async def test_a_live_channel_hands_off_to_tosss_own_sdk(live: str, services: Services) -> None:
    from tests.conftest import add_live_channel, make_merchant

    shop = await make_merchant(services, "Live shop", mid="livemid")
    await add_live_channel(services, shop.id, "tlivemid01")
    request = params(
        "order-live-1", pg="tosspayments.tlivemid01", card={"detail": [{"card_code": "366", "enabled": False}]}
    )
    url, call = await open_window(live, shop, request)
    async with httpx.AsyncClient() as http:
        page = (await http.get(url)).text
    assert '<script src="https://js.tosspayments.com/v1">' in page
    assert call["clientKey"] == "live_ck_tlivemid01" and call["method"] == "카드"
    assert call["params"]["successUrl"] == f"{url}/success" and call["params"]["failUrl"] == f"{url}/fail"
    assert "tollway" not in call["params"]  # Toss's public SDK takes no Tollway extras
    assert "live_sk_tlivemid01" not in page


async def test_a_virtual_account_is_notified_when_issued_and_when_paid_by_tosss_webhook(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    from sqlalchemy import select

    from tollway.db.models import PgChannel, WebhookNotification

    hook = f"{SHOP}/hooks/payment"
    _, call = await open_window(live, merchant, params("order-va-1", pay_method="vbank", notice_url=hook))
    imp_uid = call["params"]["orderId"]
    form = window_form(call, bank="20")
    async with httpx.AsyncClient(base_url=live) as http:
        approved = await http.post("/sandbox/toss/_sandbox/window", data=form)
        result = posted_result(await http.get(approved.headers["location"]))
        assert result["status"] == "ready" and result["vbank_name"] == "우리은행"
        # the deposit happens at the PG (Toss's 입금처리); Toss tells Tollway by DEPOSIT_CALLBACK
        payment_key = (await rest_payment(live, merchant, imp_uid))["pg_tid"]
        auth = "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()
        deposited = await http.post(
            f"/sandbox/toss/_sandbox/virtual-accounts/{payment_key}/deposit", headers={"Authorization": auth}
        )
        assert deposited.json()["status"] == "DONE"
        async with services.sessions() as session:
            channel_key = await session.scalar(select(PgChannel.channel_key).where(PgChannel.id == merchant.channel_id))
        callback = {
            "createdAt": "2026-11-28T10:00:00.000000",
            "secret": "forged",
            "status": "DONE",
            "transactionKey": "x",
            "orderId": imp_uid,
        }
        applied = await http.post(f"/webhooks/toss/{channel_key}", json=callback)
        assert applied.status_code == 200 and applied.content == b""
    stored = await rest_payment(live, merchant, imp_uid)
    assert stored["status"] == "paid" and stored["vbank_num"] == result["vbank_num"]
    async with services.sessions() as session:
        sent = list(await session.scalars(select(WebhookNotification).order_by(WebhookNotification.id)))
    assert [(n.imp_uid, n.status, n.url) for n in sent] == [(imp_uid, "ready", hook), (imp_uid, "paid", hook)]
