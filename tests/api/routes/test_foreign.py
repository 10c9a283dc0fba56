"""``POST /subscribe/payments/foreign``: key-in with a card issued abroad, through the onetime path."""

from __future__ import annotations

from typing import Any

from tests.api.routes.pg_helpers import APPROVE, sandbox_ledger, v1_client
from tests.api.routes.test_vbanks import names
from tests.conftest import MerchantFixture, count_rows
from tests.test_card_data_scan import dump_rows
from tollway.services import Services

PATH = "/subscribe/payments/foreign"
VISA = "4242-4242-4242-4242"
DECLINED_VISA = "4000-0000-0000-0002"


def foreign(merchant_uid: str = "order-f1", card: str = VISA, **extra: Any) -> dict[str, Any]:
    return {
        "merchant_uid": merchant_uid,
        "amount": 25000,
        "card_number": card,
        "expiry": "2030-12",
        "name": "Tollway T-shirt",
        "buyer_name": "Jane Doe",
        "buyer_email": "jane@example.com",
        **extra,
    }


async def test_a_card_issued_abroad_is_charged_without_birth_or_password(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    async with v1_client(live, merchant) as api:
        answer = await api.post(PATH, json=foreign(birth="not a date", pwd_2digit="xyz"))  # both ignored
        assert answer.status_code == 200, answer.text
        p = answer.json()["response"]
        assert (p["status"], p["pay_method"], p["channel"], p["amount"]) == ("paid", "card", "api", 25000)
        assert (p["card_number"], p["card_name"], p["card_code"]) == ("42424242****424*", "VISA", None)
        assert (await api.get(f"/payments/{p['imp_uid']}")).json()["response"] == p
        twice = (await api.post(PATH, json=foreign())).json()
        assert twice["code"] != 0 and twice["response"] is None  # a paid merchant_uid is refused, as onetime does
        declined = (await api.post(PATH, json=foreign("order-f2", DECLINED_VISA))).json()
        assert declined["code"] == 0 and declined["response"]["status"] == "failed"
        assert "REJECT_CARD_COMPANY" in declined["response"]["fail_reason"]
    assert sorted(c["status"] for c in await sandbox_ledger(live)) == ["ABORTED", "DONE"]
    rows = await dump_rows(services)
    for clear in ("4242424242424242", "4000000000000002"):
        assert clear not in rows


async def test_a_domestic_card_needs_its_identity_number_and_is_refused(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        body = (await api.post(PATH, json=foreign(card=APPROVE))).json()
        assert body["code"] == -1 and body["response"] is None
        assert "카드정보 인증에 실패하였습니다" in body["message"] and "INVALID_REQUIRED_PARAM" in body["message"]


async def test_what_the_card_company_cannot_know_is_code_minus_1_as_iamport_answers(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    """i'mport's own Python client asserts HTTP 200 and code -1 for these (tests/test_pay_foreign.py)."""
    async with v1_client(live, merchant) as api:
        malformed = await api.post(PATH, json={"merchant_uid": "uid", "amount": 100, "card_number": "card-number"})
        assert malformed.status_code == 400 and names(malformed, "expiry")
        bad_number = await api.post(
            PATH, json={"merchant_uid": "uid", "amount": 100, "card_number": "card-number", "expiry": "2016-08"}
        )
        assert (bad_number.status_code, bad_number.json()["code"]) == (200, -1)
        assert "유효하지않은 카드번호를 입력하셨습니다." in bad_number.json()["message"]
        assert await count_rows(services, "payments") == 0
        expired = await api.post(PATH, json=foreign(expiry="2016-08"))
        assert (expired.status_code, expired.json()["code"]) == (200, -1)
        assert "INVALID_CARD_EXPIRATION" in expired.json()["message"]
        for change, parameter in (({"amount": "25000"}, "amount"), ({"expiry": "12/30"}, "expiry")):
            answer = await api.post(PATH, json=foreign("order-f9", **change))
            assert (answer.status_code, answer.json()["code"]) == (400, 1) and names(answer, parameter)
            assert "4242" not in answer.text
