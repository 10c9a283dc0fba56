"""Tollway's answers against the V1 reference examples: envelope, status, field names and JSON types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import MerchantFixture
from tests.ledger_helpers import seed_payment
from tollway.services import Services

GOLDEN = Path(__file__).parent.parent / "golden"


def _load(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def _kind(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


#: Fields of the official spec's PaymentAnnotation that are newer than the reference's example.
NEWER_PAYMENT_FIELDS = {
    "card_issuer_code",
    "card_issuer_name",
    "card_publisher_code",
    "card_publisher_name",
    "deposit_history",
    "promotion",
}


def assert_same_shape(actual: Any, expected: Any, where: str = "", newer: frozenset[str] = frozenset()) -> None:
    """Same keys (plus ``newer`` ones), and the same JSON type wherever both sides have a non-null value."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        extra, missing = set(actual) - set(expected) - newer, set(expected) - set(actual)
        assert not extra and not missing, f"{where}: extra {extra}, missing {missing}"
        for key, value in expected.items():
            assert_same_shape(actual[key], value, f"{where}.{key}", newer)
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        for item in actual:
            if expected:
                assert_same_shape(item, expected[0], f"{where}[]", newer)
    elif expected is not None and actual is not None:
        assert _kind(actual) == _kind(expected), f"{where}: {actual!r} vs {expected!r}"


async def test_get_token_matches_the_reference(client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
    answer = await client.post("/users/getToken", json={"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret})
    assert answer.status_code == 200
    assert_same_shape(answer.json(), _load("get_token.json"))
    assert answer.json()["message"] is None


async def test_a_cancelled_payment_matches_the_reference(
    client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
) -> None:
    imp_uid = await seed_payment(
        services, merchant.id, "order_0001", status="cancelled", custom_data='{"userId":30930}'
    )
    answer = await client.get(f"/payments/{imp_uid}", headers=auth)
    assert answer.status_code == 200
    expected = _load("payment_cancelled.json")
    assert_same_shape(answer.json(), expected, newer=frozenset(NEWER_PAYMENT_FIELDS))
    assert set(answer.json()["response"]) - set(expected["response"]) == NEWER_PAYMENT_FIELDS
    body = answer.json()["response"]
    for key in ("paid_at", "cancelled_at", "started_at", "vbank_date", "failed_at", "card_type", "card_quota"):
        assert isinstance(body[key], int), key
    assert body["status"] == "cancelled" and body["cancel_amount"] == body["amount"]


async def test_not_found_matches_the_reference(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    answer = await client.get("/payments/imp_448280090638", headers=auth)
    assert answer.status_code == 404
    assert answer.json() == _load("payment_not_found.json")
