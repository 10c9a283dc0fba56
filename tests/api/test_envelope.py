"""The envelope on every answer, bodies as JSON or form, and bad input that changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MerchantFixture, count_rows
from tests.v1_text import said
from tollway.services import Services


async def test_unknown_endpoint_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    answer = await client.get("/no/such/thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json()["code"] == -1 and answer.json()["response"] is None


async def test_wrong_method_is_a_405_envelope(client: httpx.AsyncClient) -> None:
    answer = await client.delete("/users/getToken")
    assert answer.status_code == 405 and answer.json()["code"] != 0


async def test_malformed_json_is_a_400_that_says_so(
    client: httpx.AsyncClient, auth: dict[str, str], services: Services
) -> None:
    answer = await client.post(
        "/payments/prepare",
        content=b'{"merchant_uid": "o", "amount": 1',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and "not valid JSON" in said(answer)
    assert await count_rows(services, "payment_prepares") == 0


async def test_a_json_array_body_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    answer = await client.post("/payments/prepare", json=[1, 2], headers=auth)
    assert answer.status_code == 400 and "object" in said(answer)


async def test_an_oversized_body_is_413_and_changes_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], services: Services
) -> None:
    big = b'{"merchant_uid": "o", "amount": 1, "pad": "' + b"x" * 1_100_000 + b'"}'
    answer = await client.post("/payments/prepare", content=big, headers={**auth, "Content-Type": "application/json"})
    assert answer.status_code == 413 and "limit" in said(answer)
    assert answer.json()["message"] == "요청 본문이 너무 큽니다."
    assert await count_rows(services, "payment_prepares") == 0


async def test_an_unsupported_content_type_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    answer = await client.post(
        "/payments/prepare", content=b"<xml/>", headers={**auth, "Content-Type": "application/xml"}
    )
    assert answer.status_code == 400 and "JSON" in said(answer)
    assert answer.json()["message"] == "요청 본문을 해석할 수 없습니다."


async def test_unknown_fields_and_java_client_defaults_are_ignored(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"merchant_uid": "o", "amount": 1000, "product_count": 0, "escrow_confirmed": False, "extra": {"a": 1}}
    answer = await client.post("/payments/prepare", json=body, headers=auth)
    assert answer.status_code == 200 and answer.json()["code"] == 0


async def test_an_integral_float_amount_is_read_as_an_integer(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    answer = await client.post(
        "/payments/prepare",
        content=b'{"merchant_uid": "o", "amount": 1000.0}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.json()["response"]["amount"] == 1000


@pytest.mark.parametrize("amount", ["abc", "10.5", ""])
async def test_a_form_amount_must_be_digits(client: httpx.AsyncClient, auth: dict[str, str], amount: str) -> None:
    answer = await client.post("/payments/prepare", data={"merchant_uid": "o", "amount": amount}, headers=auth)
    assert answer.status_code == 400 and "amount" in answer.json()["message"]


async def test_multipart_forms_are_accepted(client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
    answer = await client.post(
        "/users/getToken", files={"imp_key": (None, merchant.imp_key), "imp_secret": (None, merchant.imp_secret)}
    )
    assert answer.status_code == 200 and answer.json()["code"] == 0


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/payments/{imp_uid}" in spec["paths"] and "/users/getToken" in spec["paths"]
    token_body = spec["paths"]["/users/getToken"]["post"]["requestBody"]["content"]
    assert set(token_body) == {"application/json", "application/x-www-form-urlencoded"}
    payment_schema = spec["components"]["schemas"]["PaymentV1"]
    assert {"imp_uid", "cancel_history", "customer_uid_usage"} <= set(payment_schema["properties"])
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/docs/static/swagger-ui-bundle.js" in docs.text
    assert (await client.get("/docs/static/swagger-ui-bundle.js")).status_code == 200


async def test_codes(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    cards = (await client.get("/cards", headers=auth)).json()["response"]
    assert {"code": "366", "name": "신한카드"} in cards and {"code": "041", "name": "우리카드"} in cards
    assert (await client.get("/cards/381", headers=auth)).json()["response"] == {"code": "381", "name": "KB국민카드"}
    assert (await client.get("/banks/092", headers=auth)).json()["response"]["name"] == "토스뱅크"
    assert len((await client.get("/banks", headers=auth)).json()["response"]) > 40
    assert (await client.get("/banks/999", headers=auth)).status_code == 404
    assert (await client.get("/cards/999", headers=auth)).status_code == 404
    assert (await client.get("/cards")).status_code == 401


async def test_users_pg_lists_each_channel_per_use(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    entries = (await client.get("/users/pg", headers=auth)).json()["response"]
    assert [e["type"] for e in entries] == ["payment", "api_payment"]
    assert all(
        e["pg_provider"] == "tosspayments" and e["pg_id"] == "tosstest" and e["sandbox"] is True for e in entries
    )
    assert all(set(e) == {"pg_provider", "pg_id", "sandbox", "type", "channel_name", "channel_key"} for e in entries)


def test_detail_travels_in_a_header_and_never_in_the_message() -> None:
    from tollway.api.envelope import DETAIL_HEADER, fail

    answer = fail(400, 1, "amount 파라메터가 누락되었습니다.", detail="amount is required\r\nX-Injected: 1 — 금액")
    body = answer.body.decode()
    assert "amount is required" not in body and "amount 파라메터가 누락되었습니다." in body
    header = answer.headers[DETAIL_HEADER]
    assert header.startswith("amount is required") and "\r" not in header and "\n" not in header
    assert header.isascii() and "X-Injected: 1" in header  # one line: the CR/LF became spaces


@pytest.mark.parametrize(
    ("message", "status", "expected"),
    [
        (
            "이미 결제가 완료된 merchant_uid입니다. (merchant_uid o already has a paid payment)",
            200,
            "이미 결제가 완료된 merchant_uid입니다.",
        ),
        ("카드 정보를 다시 확인해주세요.(유효기간)", 200, "카드 정보를 다시 확인해주세요.(유효기간)"),
        ("schedule_at must be in the future", 400, "schedule_at 파라메터가 올바르지 않습니다."),
        ("the time range is required", 400, "요청 파라메터가 올바르지 않습니다."),
        ("no such channel", 404, "요청하신 정보를 찾을 수 없습니다."),
    ],
)
def test_the_message_keeps_only_i_mport_s_korean_text(message: str, status: int, expected: str) -> None:
    from tollway.api.envelope import korean_only

    text, detail = korean_only(message, None, status)
    assert text == expected
    assert (detail is None) == (text == message)  # whatever was taken out travels as the detail
