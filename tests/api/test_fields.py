"""The shared field limits (issue 14 §3): path segments, queries and form numbers alike."""

from __future__ import annotations

import httpx
import pytest


async def test_a_path_segment_past_its_limit_is_a_400_naming_it(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    long_uid = await client.post("/subscribe/customers/" + "x" * 10_000, json={}, headers=auth)
    assert long_uid.status_code == 400
    assert long_uid.json()["message"] == "customer_uid는 최대 80자까지 입력할 수 있습니다."
    control = await client.get("/payments/find/a%01b", headers=auth)
    assert control.json()["message"] == "merchant_uid에 사용할 수 없는 문자가 포함되어 있습니다."
    many = await client.get("/payments", params={"imp_uid[]": "x" * 33}, headers=auth)
    assert many.status_code == 400 and many.json()["message"] == "imp_uid는 최대 32자까지 입력할 수 있습니다."


@pytest.mark.parametrize(
    ("amount", "message"),
    [("9" * 40, "amount의 값이 허용 범위를 벗어났습니다."), ("1e308", "amount는 정수여야 합니다.")],
)
async def test_form_numbers_beyond_any_limit_are_a_400(
    client: httpx.AsyncClient, auth: dict[str, str], amount: str, message: str
) -> None:
    answer = await client.post("/payments/prepare", data={"merchant_uid": "o", "amount": amount}, headers=auth)
    assert answer.status_code == 400 and answer.json()["message"] == message
