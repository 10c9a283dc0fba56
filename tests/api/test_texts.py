"""i'mport's own texts and statuses (issue 14 §1): what deployed V1 clients compare, exactly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.routes.pg_helpers import APPROVE, DECLINE, UNKNOWN_NUMBER, onetime, v1_client
from tests.conftest import MerchantFixture
from tests.v1_text import korean_only, said

NOT_SUPPORTED_STATUS = "지원되지 않는 상태값입니다."
NOTHING_TO_CANCEL = {"code": 1, "message": "취소할 결제건이 존재하지 않습니다.", "response": None}
CARD_NUMBER = "유효하지않은 카드번호를 입력하셨습니다."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"imp_key": "k"},
        {"imp_secret": "s"},
        {"imp_key": "", "imp_secret": "s"},
        {"imp_key": None, "imp_secret": None},
    ],
)
async def test_get_token_without_keys_names_both(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await client.post("/users/getToken", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"code": 1, "message": "imp_key, imp_secret 파라메터가 누락되었습니다.", "response": None}


@pytest.mark.parametrize(
    "path", ["/payments/status/unpaid", "/payments/find/o/undefined", "/payments/findAll/o/undefined"]
)
async def test_an_unknown_status_segment_is_not_supported(
    client: httpx.AsyncClient, auth: dict[str, str], path: str
) -> None:
    answer = await client.get(path, headers=auth)
    assert answer.status_code == 400
    assert answer.json() == {"code": 1, "message": NOT_SUPPORTED_STATUS, "response": None}
    assert "ready" in answer.headers["tollway-detail"]


async def test_cancel_needs_an_id_and_a_merchant_uid_without_a_paid_payment_has_nothing(
    live: str, merchant: MerchantFixture
) -> None:
    async with v1_client(live, merchant) as api:
        neither = await api.post("/payments/cancel", json={"reason": "x"})
        assert neither.status_code == 400
        assert neither.json()["message"] == "imp_uid 또는 merchant_uid 중 하나를 지정해주셔야합니다."
        failed = (await api.post("/subscribe/payments/onetime", json=onetime("only-failed", card=DECLINE))).json()
        assert failed["response"]["status"] == "failed"
        by_merchant_uid = await api.post("/payments/cancel", json={"merchant_uid": "only-failed"})
        assert by_merchant_uid.status_code == 200 and by_merchant_uid.json() == NOTHING_TO_CANCEL
        by_imp_uid = (await api.post("/payments/cancel", json={"imp_uid": failed["response"]["imp_uid"]})).json()
        assert by_imp_uid["code"] == 1 and by_imp_uid["message"] == "결제완료 상태가 아닌 결제건은 취소할 수 없습니다."


async def test_unknown_customers_are_http_200_code_1(live: str, merchant: MerchantFixture) -> None:
    expected = {
        "code": 1,
        "message": "요청하신 customer_uid(nobody)로 등록된 정보를 찾을 수 없습니다.",
        "response": None,
    }
    async with v1_client(live, merchant) as api:
        for method in ("GET", "DELETE"):
            answer = await api.request(method, "/subscribe/customers/nobody")
            assert (answer.status_code, answer.json()) == (200, expected)
        many = await api.get("/subscribe/customers", params={"customer_uid[]": "nobody"})
        assert many.status_code == 404  # the multi lookup keeps its 207/404 rules
        again = await api.post(
            "/subscribe/payments/again", json={"customer_uid": "nobody", "merchant_uid": "a-1", "amount": 1000}
        )
        assert (again.status_code, again.json()) == (
            200,
            {"code": 1, "message": "등록되지 않은 구매자입니다.", "response": None},
        )


async def test_a_card_number_nobody_knows_says_so_in_i_mport_s_words(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        short = (await api.post("/subscribe/payments/onetime", json=onetime(card="4330-1234"))).json()
        assert short["code"] == -1 and CARD_NUMBER in short["message"]
        unknown = (await api.post("/subscribe/payments/onetime", json=onetime(card=UNKNOWN_NUMBER))).json()
        assert unknown["code"] == -1 and CARD_NUMBER in unknown["message"]
        card = {"card_number": UNKNOWN_NUMBER, "expiry": "2030-12", "birth": "900101"}
        registration = (await api.post("/subscribe/customers/cu-unknown", json=card)).json()
        assert registration["code"] == -1 and CARD_NUMBER in registration["message"]
        assert "빌키 발급에 실패" in registration["message"]


async def test_an_amount_below_the_card_minimum_says_what_is_wrong(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        small = (await api.post("/subscribe/payments/onetime", json=onetime(amount=50, card=APPROVE))).json()
    assert small["code"] != 0 and "BELOW_MINIMUM_AMOUNT" in small["message"]
    assert "카드정보 인증에 실패하였습니다" not in small["message"] and "100원" in small["message"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/payments/prepare", {"amount": 1}, "merchant_uid 파라메터가 누락되었습니다."),
        ("/payments/prepare", {"merchant_uid": "o", "amount": "1"}, "amount는 정수여야 합니다."),
        ("/payments/prepare", {"merchant_uid": "o", "amount": 2**64}, "amount의 값이 허용 범위를 벗어났습니다."),
        ("/payments/prepare", {"merchant_uid": "o", "amount": 1e308}, "amount의 값이 허용 범위를 벗어났습니다."),
        ("/payments/prepare", {"merchant_uid": 5, "amount": 1}, "merchant_uid는 문자열이어야 합니다."),
        (
            "/payments/cancel",
            {"imp_uid": "x", "enable_webhook": "maybe"},
            "enable_webhook는 true 또는 false여야 합니다.",
        ),
        (
            "/vbanks",
            {"merchant_uid": "v", "amount": 1000, "vbank_code": "004", "vbank_due": 10**20},
            "vbank_due의 값이 허용 범위를 벗어났습니다.",
        ),
        (
            "/subscribe/payments/schedule",
            {"customer_uid": "c", "schedules": [{"merchant_uid": "s", "schedule_at": 2**63, "amount": 1}]},
            "schedules[0].schedule_at의 값이 허용 범위를 벗어났습니다.",
        ),
    ],
)
async def test_validation_texts_are_korean_and_name_the_parameter(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, body: dict[str, Any], message: str
) -> None:
    answer = await client.post(path, json=body, headers=auth)
    assert answer.status_code == 400
    assert answer.json() == {"code": 1, "message": message, "response": None}
    assert korean_only(answer.json()["message"]) and "Input should" not in answer.json()["message"]
    assert said(answer).split(" | ", 1)[1]  # the English detail rides in the header
