"""Billing customers and "again" charges, end to end through the sandbox PG."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.routes.pg_helpers import APPROVE, INSUFFICIENT, STOPPED, sandbox_ledger, v1_client
from tests.conftest import MerchantFixture, count_rows
from tests.v1_text import said
from tollway.db.models import SandboxBillingKey
from tollway.services import Services

CHECK_CARD = "5365-1000-0000-0006"  # KB국민 check card


def card(number: str = APPROVE, **extra: Any) -> dict[str, Any]:
    return {"card_number": number, "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12", **extra}


def again(merchant_uid: str = "sub-1", customer_uid: str = "cu-1", amount: int = 9900, **extra: Any) -> dict[str, Any]:
    return {"customer_uid": customer_uid, "merchant_uid": merchant_uid, "amount": amount, "name": "정기구독", **extra}


async def live_keys(services: Services) -> int:
    async with services.sessions() as session:
        rows = await session.scalars(select(SandboxBillingKey).where(SandboxBillingKey.deleted_at.is_(None)))
        return len(list(rows))


async def test_register_read_and_replace_a_card(live: str, merchant: MerchantFixture, services: Services) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post("/subscribe/customers/cu-1", json=card(customer_name="홍길동", customer_tel="010-1"))
        body = answer.json()
        assert answer.status_code == 200 and body["code"] == 0, body
        c = body["response"]
        where = (c["customer_uid"], c["pg_provider"], c["pg_id"], c["sandbox"])
        assert where == ("cu-1", "tosspayments", "tosstest", True)
        assert (c["card_code"], c["card_name"], c["card_number"], c["card_type"]) == (
            "367",
            "현대카드",
            "43301234****000*",
            0,
        )
        assert c["customer_id"] and len(c["customer_id"]) == 36  # made up (a UUID) when absent
        assert (c["customer_name"], c["customer_tel"]) == ("홍길동", "010-1")
        assert c["inserted"] > 0 and c["inserted"] == c["updated"]
        assert "billing" not in answer.text.lower()
        assert (await api.get("/subscribe/customers/cu-1")).json()["response"] == c

        replaced = (await api.post("/subscribe/customers/cu-1", json=card(CHECK_CARD))).json()["response"]
        assert (replaced["card_code"], replaced["card_type"], replaced["card_number"]) == ("381", 1, "53651000****000*")
        assert replaced["customer_id"] == c["customer_id"] and replaced["customer_name"] == "홍길동"
    assert await count_rows(services, "billing_customers") == 1
    assert await live_keys(services) == 1  # the replaced card's key was deleted at the PG


async def test_a_card_the_pg_refuses_is_code_minus_1_and_stores_nothing(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    async with v1_client(live, merchant) as api:
        body = (await api.post("/subscribe/customers/cu-1", json=card(STOPPED))).json()
        assert body["code"] == -1 and "빌키 발급에 실패" in body["message"]
        assert "INVALID_STOPPED_CARD" in body["message"]
        missing = await api.get("/subscribe/customers/cu-1")
    assert missing.status_code == 200  # i'mport answers an unknown customer_uid with HTTP 200, code 1
    assert missing.json() == {
        "code": 1,
        "message": "요청하신 customer_uid(cu-1)로 등록된 정보를 찾을 수 없습니다.",
        "response": None,
    }
    assert await count_rows(services, "billing_customers") == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"expiry": "2030-12"}, "card_number 파라메터가 누락되었습니다."),
        (card(expiry="30/12"), "expiry 파라메터가 올바르지 않습니다. | expiry: YYYY-MM"),
        (card(birth=None), "birth 파라메터가 누락되었습니다."),
    ],
)
async def test_bad_registrations_are_400(
    live: str, merchant: MerchantFixture, body: dict[str, Any], expected: str
) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post("/subscribe/customers/cu-1", json={k: v for k, v in body.items() if v is not None})
    assert answer.status_code == 400 and said(answer).startswith(expected)


async def test_many_customers(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        await api.post("/subscribe/customers/cu-1", json=card())
        await api.post("/subscribe/customers/cu-2", json=card(CHECK_CARD))
        both = await api.get("/subscribe/customers", params=[("customer_uid[]", "cu-2"), ("customer_uid[]", "cu-1")])
        assert both.status_code == 200 and [c["customer_uid"] for c in both.json()["response"]] == ["cu-2", "cu-1"]
        partial = await api.get("/subscribe/customers?customer_uid[0]=cu-1&customer_uid[1]=nope")
        assert partial.status_code == 207 and [c["customer_uid"] for c in partial.json()["response"]] == ["cu-1"]
        assert (await api.get("/subscribe/customers?customer_uid[]=nope")).status_code == 404
        assert (await api.get("/subscribe/customers")).status_code == 400


async def test_again_charges_the_stored_key(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        await api.post("/subscribe/customers/cu-1", json=card())
        body = (await api.post("/subscribe/payments/again", json=again(custom_data={"month": 1}))).json()
        assert body["code"] == 0, body
        p = body["response"]
        assert (p["status"], p["customer_uid"], p["customer_uid_usage"], p["channel"]) == (
            "paid",
            "cu-1",
            "payment",
            "api",
        )
        assert p["card_number"] == "43301234****000*" and p["amount"] == 9900 and p["custom_data"] == '{"month":1}'
        twice = await api.post("/subscribe/payments/again", json=again())
        assert twice.json()["code"] == 1 and "sub-1" in said(twice)
        form = (await api.post("/subscribe/payments/again", data={**again("sub-2"), "amount": "5000"})).json()
        assert form["code"] == 0 and form["response"]["amount"] == 5000
        listed = (await api.get("/subscribe/customers/cu-1/payments")).json()["response"]
        assert listed["total"] == 2 and {x["merchant_uid"] for x in listed["list"]} == {"sub-1", "sub-2"}
    charges = [c for c in await sandbox_ledger(live) if c["type"] == "BILLING"]
    assert sorted(c["orderId"] for c in charges) == sorted(x["imp_uid"] for x in listed["list"])


async def test_again_declines_and_unknown_customers(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        await api.post("/subscribe/customers/cu-poor", json=card(INSUFFICIENT))
        declined = (await api.post("/subscribe/payments/again", json=again(customer_uid="cu-poor"))).json()
        assert declined["code"] == 0 and declined["response"]["status"] == "failed"
        assert "REJECT_CARD_PAYMENT" in declined["response"]["fail_reason"]
        unknown = await api.post("/subscribe/payments/again", json=again("sub-9", customer_uid="nobody"))
        assert unknown.status_code == 200
        assert unknown.json() == {"code": 1, "message": "등록되지 않은 구매자입니다.", "response": None}
        assert "nobody" in said(unknown)
        bad = await api.post("/subscribe/payments/again", json=again(amount="9900"))  # type: ignore[arg-type]
        assert bad.status_code == 400 and "not a string" in said(bad)
        assert bad.json()["message"] == "amount는 정수여야 합니다."
        nothing = await api.get("/subscribe/customers/nobody/payments")
        assert nothing.status_code == 404


async def test_onetime_with_customer_uid_keeps_the_key(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        first = (
            await api.post(
                "/subscribe/payments/onetime",
                json={"merchant_uid": "first", "amount": 1000, "customer_uid": "cu-keep", "buyer_name": "김", **card()},
            )
        ).json()
        assert first["code"] == 0 and first["response"]["status"] == "paid"
        assert first["response"]["customer_uid"] == "cu-keep"
        kept = (await api.get("/subscribe/customers/cu-keep")).json()["response"]
        assert kept["customer_name"] == "김" and kept["card_number"] == "43301234****000*"
        later = (await api.post("/subscribe/payments/again", json=again("second", customer_uid="cu-keep"))).json()
        assert later["response"]["status"] == "paid"


async def test_delete_refuses_pending_schedules_unless_forced(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    from tollway.clock import to_unix

    async with v1_client(live, merchant) as api:
        await api.post("/subscribe/customers/cu-1", json=card())
        at = to_unix(services.clock.now()) + 3600
        await api.post(
            "/subscribe/payments/schedule",
            json={"customer_uid": "cu-1", "schedules": [{"merchant_uid": "s-1", "schedule_at": at, "amount": 1000}]},
        )
        refusal = await api.delete("/subscribe/customers/cu-1")
        assert refusal.json()["code"] == 1 and "pending schedule" in said(refusal)
        deleted = (await api.delete("/subscribe/customers/cu-1", params={"force": "true"})).json()
        assert deleted["code"] == 0 and deleted["response"]["customer_uid"] == "cu-1"
        assert (await api.get("/subscribe/customers/cu-1")).json() == {
            "code": 1,
            "message": "요청하신 customer_uid(cu-1)로 등록된 정보를 찾을 수 없습니다.",
            "response": None,
        }
        revoked = (await api.get("/subscribe/payments/schedule/s-1")).json()["response"]
        assert revoked["schedule_status"] == "revoked" and revoked["revoked_at"] > 0
        assert (await api.delete("/subscribe/customers/cu-1")).json() == {
            "code": 1,
            "message": "요청하신 customer_uid(cu-1)로 등록된 정보를 찾을 수 없습니다.",
            "response": None,
        }
    assert await live_keys(services) == 0  # deleted at the PG too


async def test_a_customer_is_invisible_to_other_merchants(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    from tests.conftest import make_merchant

    other = await make_merchant(services, "Other", mid="othermid")
    async with v1_client(live, merchant) as api:
        await api.post("/subscribe/customers/cu-1", json=card())
    async with v1_client(live, other) as api:
        assert (await api.get("/subscribe/customers/cu-1")).json() == {
            "code": 1,
            "message": "요청하신 customer_uid(cu-1)로 등록된 정보를 찾을 수 없습니다.",
            "response": None,
        }
        charged = (await api.post("/subscribe/payments/again", json=again())).json()
        assert charged == {"code": 1, "message": "등록되지 않은 구매자입니다.", "response": None}


async def test_billing_keys_never_appear_in_clear(
    live: str,
    merchant: MerchantFixture,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import logging

    from tests.test_card_data_scan import dump_rows, read_sqlite_files
    from tollway.pg.toss.connector import TossConnector

    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    real = TossConnector.issue_billing_key

    async def spy(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        result = await real(self, *args, **kwargs)
        issued.append(result.billing_key.reveal())
        return result

    monkeypatch.setattr(TossConnector, "issue_billing_key", spy)
    texts: list[str] = []
    async with v1_client(live, merchant) as api:
        texts.append((await api.post("/subscribe/customers/cu-1", json=card())).text)
        texts.append((await api.post("/subscribe/customers/cu-1", json=card(CHECK_CARD))).text)
        texts.append((await api.get("/subscribe/customers/cu-1")).text)
        texts.append((await api.post("/subscribe/payments/again", json=again())).text)
        texts.append((await api.get("/subscribe/customers/cu-1/payments")).text)
        texts.append((await api.get("/openapi.json")).text)
    assert len(issued) == 2 and all(len(k) >= 40 for k in issued)
    haystacks = {"rows": await dump_rows(services), "logs": caplog.text, "responses": "\n".join(texts)}
    out, err = capfd.readouterr()
    haystacks["output"] = out + err
    url = services.settings.resolved_database_url()
    if url.startswith("sqlite"):
        from pathlib import Path

        haystacks.update(read_sqlite_files(Path(url.split(":///", 1)[1])))
    assert "43301234****000*" in haystacks["rows"]  # the scan sees the stored customer
    for key in issued:
        for where, haystack in haystacks.items():
            assert key not in haystack, f"a billing key in clear in {where}"
            assert key.rstrip("=") not in haystack, f"a billing key in clear in {where}"
    for number in (APPROVE, CHECK_CARD):
        for form in (number, number.replace("-", "")):
            for where, haystack in haystacks.items():
                assert form not in haystack, f"{form} in {where}"


async def test_unauthenticated_billing_calls_are_401(live: str) -> None:
    async with httpx.AsyncClient(base_url=live) as api:
        assert (await api.get("/subscribe/customers/cu-1")).status_code == 401
        assert (await api.post("/subscribe/payments/again", json=again())).status_code == 401
