"""``/vbanks`` end to end: V1 client → gateway → connector → sandbox PG, deposits and webhooks."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.routes.pg_helpers import onetime, sandbox_ledger, v1_client
from tests.conftest import MerchantFixture, count_rows, make_merchant
from tollway.clock import ManualClock
from tollway.db.models import PgChannel, WebhookNotification
from tollway.pg.base import PgUnknown
from tollway.pg.toss.connector import TossConnector
from tollway.services import Services

HOOK = "https://shop.test/hooks/iamport"
SANDBOX_AUTH = {"Authorization": "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()}


def vbank(clock: ManualClock, merchant_uid: str = "vb-1", amount: int = 30000, **extra: Any) -> dict[str, Any]:
    return {
        "merchant_uid": merchant_uid,
        "amount": amount,
        "vbank_code": "020",
        "vbank_due": int(clock.now().timestamp()) + 3 * 86400,
        "vbank_holder": "ignored by tosspayments",
        "name": "토스 티셔츠 외 2건",
        "buyer_name": "홍길동",
        "buyer_email": "buyer@example.com",
        "buyer_tel": "010-1234-5678",
        **extra,
    }


def names(answer: httpx.Response, parameter: str) -> bool:
    """The 400 names the parameter, in ``message`` or in Tollway's ``Tollway-Detail``."""
    return parameter in answer.json()["message"] + answer.headers.get("tollway-detail", "")


async def notifications(services: Services) -> list[tuple[str, str, str]]:
    async with services.sessions() as session:
        rows = await session.scalars(select(WebhookNotification).order_by(WebhookNotification.id))
        return [(n.imp_uid, n.status, n.url) for n in rows]


async def test_an_account_is_issued_ready_then_paid_by_the_deposit_with_both_webhooks(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    body = vbank(clock, notice_url=HOOK)
    async with v1_client(live, merchant) as api:
        answer = await api.post("/vbanks", json=body)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["code"], answer.json()["message"]) == (0, None)
        p = answer.json()["response"]
        assert (p["status"], p["pay_method"], p["channel"], p["pg_provider"], p["amount"]) == (
            "ready",
            "vbank",
            "api",
            "tosspayments",
            30000,
        )
        assert (p["vbank_code"], p["vbank_name"], p["vbank_holder"]) == ("020", "우리은행", None)
        assert p["vbank_num"].startswith("X") and p["vbank_date"] == body["vbank_due"] and p["vbank_issued_at"] > 0
        assert p["paid_at"] == 0 and p["pg_tid"] and p["buyer_name"] == "홍길동"
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"] == p
        (issued,) = await sandbox_ledger(live)
        assert (issued["orderId"], issued["status"], issued["virtualAccount"]["bankCode"]) == (
            p["imp_uid"],
            "WAITING_FOR_DEPOSIT",
            "20",
        )
        assert issued["virtualAccount"]["customerName"] == "홍길동"

        deposit = (await api.post(f"/tollway/sandbox/payments/{p['imp_uid']}/deposit")).json()
        assert deposit["code"] == 0 and deposit["response"]["status"] == "paid" and deposit["response"]["paid_at"]
        assert deposit["response"]["vbank_num"] == p["vbank_num"]
        again = (await api.post(f"/tollway/sandbox/payments/{p['imp_uid']}/deposit")).json()
        assert again["code"] != 0
    assert await notifications(services) == [(p["imp_uid"], "ready", HOOK), (p["imp_uid"], "paid", HOOK)]


async def test_a_merchant_uid_gets_accounts_until_one_is_paid(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        first = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        second = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        assert first["imp_uid"] != second["imp_uid"] and second["status"] == "ready"
        await api.post(f"/tollway/sandbox/payments/{first['imp_uid']}/deposit")
        refused = (await api.post("/vbanks", json=vbank(clock))).json()
        assert refused["code"] != 0 and refused["response"] is None
        paid_by_card = (await api.post("/subscribe/payments/onetime", json=onetime("card-paid"))).json()
        assert paid_by_card["code"] == 0
        also_refused = (await api.post("/vbanks", json=vbank(clock, "card-paid"))).json()
        assert also_refused["code"] != 0
    assert len(await sandbox_ledger(live)) == 3  # the refusals never reached the PG


async def test_an_unpaid_account_is_revoked(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        answer = await api.delete(f"/vbanks/{p['imp_uid']}")
        assert answer.status_code == 200, answer.text
        revoked = answer.json()["response"]
        assert (revoked["status"], revoked["cancel_amount"], revoked["cancel_history"]) == ("cancelled", 0, [])
        assert revoked["cancelled_at"] > 0 and revoked["vbank_num"] == p["vbank_num"]
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]["status"] == "cancelled"
        (at_toss,) = await sandbox_ledger(live)
        assert at_toss["status"] == "CANCELED"
        twice = await api.delete(f"/vbanks/{p['imp_uid']}")
        assert (twice.status_code, twice.json()["code"]) == (400, 1)
        assert twice.json()["message"] == "입금대기 상태(ready)인 가상계좌가 아닙니다."
        late = (await api.post(f"/tollway/sandbox/payments/{p['imp_uid']}/deposit")).json()
        assert late["code"] != 0


async def test_a_deposit_that_came_first_is_recorded_not_revoked(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss", headers=SANDBOX_AUTH) as toss:
            await toss.post(f"/_sandbox/virtual-accounts/{p['pg_tid']}/deposit")  # Tollway has not heard yet
        answer = await api.delete(f"/vbanks/{p['imp_uid']}")
        assert (answer.status_code, answer.json()["code"]) == (400, 1)
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]["status"] == "paid"
    (at_toss,) = await sandbox_ledger(live)
    assert at_toss["status"] == "DONE"  # nothing was refunded


async def test_a_revoke_without_an_answer_is_settled_by_reconciliation(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollway.payments.reconcile import reconcile

    real_cancel = TossConnector.cancel

    async def cancelled_but_lost(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real_cancel(self, *args, **kwargs)
        raise PgUnknown("TIMEOUT", "the answer never came")

    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        monkeypatch.setattr(TossConnector, "cancel", cancelled_but_lost)
        lost = (await api.delete(f"/vbanks/{p['imp_uid']}")).json()
        assert lost["code"] == -1 and "결과를 확인하지 못했습니다" in lost["message"]
        monkeypatch.undo()
        busy = await api.delete(f"/vbanks/{p['imp_uid']}")
        assert busy.json()["code"] != 0  # the call is still claimed
        clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
        report = await reconcile(services)
        assert report.cancels_recorded == [p["imp_uid"]]
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]["status"] == "cancelled"


async def test_an_account_cancelled_at_toss_is_learned_from_its_webhook(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock, notice_url=HOOK))).json()["response"]
        async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss", headers=SANDBOX_AUTH) as toss:
            await toss.post(f"/v1/payments/{p['pg_tid']}/cancel", json={"cancelReason": "상점관리자에서 취소"})
        async with services.sessions() as session:
            key = await session.scalar(select(PgChannel.channel_key).where(PgChannel.id == merchant.channel_id))
        hook = {"createdAt": "2026-01-01T09:00:00.000000", "secret": "x", "status": "CANCELED", "orderId": p["imp_uid"]}
        applied = await api.post(f"/webhooks/toss/{key}", json=hook)
        assert applied.status_code == 200 and applied.content == b""
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]["status"] == "cancelled"
    assert [status for _, status, _ in await notifications(services)] == ["ready", "cancelled"]


async def test_changes_toss_cannot_make_are_refused_clearly(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
        changed = await api.put(f"/vbanks/{p['imp_uid']}", json={"amount": 1000, "vbank_due": p["vbank_date"] + 60})
        assert (changed.status_code, changed.json()["code"]) == (400, 1)
        assert (
            changed.json()["message"]
            == "토스페이먼츠는 가상계좌 발급정보(입금기한, 입금금액) 수정을 지원하지 않습니다."
        )
        assert "DELETE /vbanks" in changed.headers["tollway-detail"]
        card = (await api.post("/subscribe/payments/onetime", json=onetime())).json()["response"]
        not_vbank = await api.put(f"/vbanks/{card['imp_uid']}", json={"amount": 1000})
        assert not_vbank.json()["message"] == "가상계좌 결제건이 아닙니다."
        not_vbank_revoke = await api.delete(f"/vbanks/{card['imp_uid']}")
        assert (not_vbank_revoke.status_code, not_vbank_revoke.json()["message"]) == (
            400,
            "가상계좌 결제건이 아닙니다.",
        )
        bad = await api.put(f"/vbanks/{p['imp_uid']}", json={"amount": "1000"})
        assert bad.status_code == 400 and names(bad, "amount")
        holder = await api.get("/vbanks/holder", params={"bank_code": "004", "bank_num": "1234567890"})
        assert (holder.status_code, holder.json()["code"]) == (400, 1)
        assert holder.json()["message"] == "토스페이먼츠는 예금주 조회를 지원하지 않습니다."
        missing = await api.get("/vbanks/holder", params={"bank_code": "004"})
        assert missing.status_code == 400 and names(missing, "bank_num")
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"]["amount"] == 30000


async def test_another_merchants_account_does_not_exist(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    other = await make_merchant(services, "Other shop", mid="othermid")
    async with v1_client(live, merchant) as api:
        p = (await api.post("/vbanks", json=vbank(clock))).json()["response"]
    async with v1_client(live, other) as stranger:
        for answer in (
            await stranger.delete(f"/vbanks/{p['imp_uid']}"),
            await stranger.put(f"/vbanks/{p['imp_uid']}", json={"amount": 1}),
            await stranger.delete("/vbanks/imp_000000000000"),
        ):
            assert (answer.status_code, answer.json()["code"]) == (404, -1)
            assert answer.json()["message"] == "존재하지 않는 결제정보입니다."
    (at_toss,) = await sandbox_ledger(live)
    assert at_toss["status"] == "WAITING_FOR_DEPOSIT"


async def test_bad_input_is_a_400_that_names_the_parameter_and_changes_nothing(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    now = int(clock.now().timestamp())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"vbank_code": "999"}, "vbank_code"),
        ({"vbank_code": None}, "vbank_code"),
        ({"vbank_due": now - 60}, "vbank_due"),
        ({"vbank_due": "tomorrow"}, "vbank_due"),
        ({"vbank_due": 10**20}, "vbank_due"),
        ({"amount": "30000"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"buyer_name": None}, "buyer_name"),
        ({"vbank_key": "k" * 14}, "vbank_key"),
        ({"merchant_uid": "m" * 41}, "merchant_uid"),
        ({"merchant_uid": "vb\x00"}, "merchant_uid"),
        ({"vbank_key": "k\n1"}, "vbank_key"),
    ]
    async with v1_client(live, merchant) as api:
        for change, parameter in cases:
            body = {k: v for k, v in {**vbank(clock), **change}.items() if v is not None}
            answer = await api.post("/vbanks", json=body)
            assert (answer.status_code, answer.json()["code"]) == (400, 1), (change, answer.text)
            assert names(answer, parameter), (change, answer.json(), answer.headers)
        for path in ("/vbanks/imp_%00", f"/vbanks/imp_{'1' * 40}", "/receipts/imp_%01", "/escrows/logis/imp_%00"):
            answer = await api.delete(path) if path.startswith("/vbanks") else await api.get(path)
            assert answer.status_code == 400 and names(answer, "imp_uid"), (path, answer.text)
    assert await count_rows(services, "payments") == 0
    assert await sandbox_ledger(live) == []


async def test_tosss_refusal_is_code_minus_1_and_a_fixed_account_keeps_its_number(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        too_far = vbank(clock, "vb-far", vbank_due=int(clock.now().timestamp()) + 91 * 86400)
        refused = (await api.post("/vbanks", json=too_far)).json()
        assert refused["code"] == -1 and refused["message"].startswith("가상계좌 발급에 실패하였습니다.")
        assert "EXCEED_MAX_DUE_DATE" in refused["message"]
        failed = (await api.get("/payments/find/vb-far/failed")).json()["response"]
        assert "EXCEED_MAX_DUE_DATE" in failed["fail_reason"]
        first = (await api.post("/vbanks", json=vbank(clock, "vb-fixed-1", vbank_key="cust-7"))).json()["response"]
        second = (await api.post("/vbanks", json=vbank(clock, "vb-fixed-2", vbank_key="cust-7"))).json()["response"]
        assert first["vbank_num"] == second["vbank_num"]
        form = {k: str(v) for k, v in vbank(clock, "vb-form", vbank_code="88").items()}
        by_form = (await api.post("/vbanks", data=form)).json()
        assert by_form["code"] == 0 and by_form["response"]["vbank_name"] == "신한은행"


async def test_an_issue_whose_answer_was_lost_is_recorded_as_issued_not_failed(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Toss issued the account, but its answer was lost (reconciliation reads it back) or the call
    was repeated (Toss says the order is taken): either way the account is recorded, never failed."""
    from tollway.payments.reconcile import reconcile
    from tollway.pg.base import PgRejected

    real_issue = TossConnector.issue_virtual_account

    async def issued_but_lost(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real_issue(self, *args, **kwargs)
        raise PgUnknown("TIMEOUT", "the answer never came")

    async def issued_then_taken(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real_issue(self, *args, **kwargs)
        raise PgRejected("DUPLICATED_ORDER_ID", "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.")

    async with v1_client(live, merchant) as api:
        monkeypatch.setattr(TossConnector, "issue_virtual_account", issued_but_lost)
        assert (await api.post("/vbanks", json=vbank(clock, "vb-lost"))).json()["code"] == -1
        monkeypatch.setattr(TossConnector, "issue_virtual_account", issued_then_taken)
        taken = (await api.post("/vbanks", json=vbank(clock, "vb-taken"))).json()
        monkeypatch.undo()
        assert taken["code"] == 0 and taken["response"]["status"] == "ready" and taken["response"]["vbank_num"]
        clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
        assert len((await reconcile(services)).paid) == 1
        lost = (await api.get("/payments/find/vb-lost")).json()["response"]
        assert lost["status"] == "ready" and lost["vbank_num"] and lost["vbank_date"] > 0
        paid = (await api.post(f"/tollway/sandbox/payments/{lost['imp_uid']}/deposit")).json()["response"]
        assert paid["status"] == "paid"


async def test_the_demo_shops_server_issues_an_account_and_the_demo_deposits_into_it(
    live: str, services: Services
) -> None:
    from tests.demo.helpers import page_headers
    from tollway.bootstrap import ensure_demo_merchant

    assert await ensure_demo_merchant(services) is not None
    async with httpx.AsyncClient(base_url=live, timeout=30) as shop:
        page = page_headers((await shop.get("/demo")).text, live)
        issued = (await shop.post("/demo/api/vbank", json={"merchant_uid": "demo-vb-1"}, headers=page)).json()
        assert issued["code"] == 0 and issued["response"]["status"] == "ready" and issued["response"]["vbank_num"]
        paid = (
            await shop.post("/demo/api/deposit", json={"imp_uid": issued["response"]["imp_uid"]}, headers=page)
        ).json()
        assert paid["code"] == 0 and paid["response"]["status"] == "paid"
