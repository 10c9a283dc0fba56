"""Token reuse, extension and expiry (reference §1.2), with a clock the test moves."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import MerchantFixture, count_rows, make_merchant, token_for
from tollway.clock import ManualClock
from tollway.services import Services


async def _get(client: httpx.AsyncClient, m: MerchantFixture) -> dict[str, int | str]:
    answer = await client.post("/users/getToken", json={"imp_key": m.imp_key, "imp_secret": m.imp_secret})
    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == 0 and body["message"] is None
    response: dict[str, int | str] = body["response"]
    return response


class TestGetToken:
    async def test_a_token_lives_thirty_minutes_and_reports_the_server_clock(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        token = await _get(client, merchant)
        now = int(clock.now().timestamp())
        assert token["now"] == now
        assert token["expired_at"] == now + 30 * 60
        assert isinstance(token["access_token"], str) and len(token["access_token"]) == 40

    async def test_asking_again_while_valid_returns_the_same_token_and_expiry(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        first = await _get(client, merchant)
        clock.advance(minutes=20)
        second = await _get(client, merchant)
        assert second["access_token"] == first["access_token"]
        assert second["expired_at"] == first["expired_at"]
        assert second["now"] == int(clock.now().timestamp())

    async def test_asking_with_one_minute_left_extends_by_five_minutes(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        first = await _get(client, merchant)
        clock.advance(minutes=29)
        second = await _get(client, merchant)
        assert second["access_token"] == first["access_token"]
        assert second["expired_at"] == int(first["expired_at"]) + 5 * 60
        # with six minutes left again, a further call does not extend
        third = await _get(client, merchant)
        assert third["expired_at"] == second["expired_at"]

    async def test_with_more_than_a_minute_left_nothing_is_extended(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        first = await _get(client, merchant)
        clock.advance(minutes=28, seconds=59)
        assert (await _get(client, merchant))["expired_at"] == first["expired_at"]

    async def test_after_expiry_a_new_token_is_issued_and_the_old_one_refused(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        first = await _get(client, merchant)
        assert (await client.get("/users/pg", headers={"Authorization": str(first["access_token"])})).status_code == 200
        clock.advance(minutes=30)
        refused = await client.get("/users/pg", headers={"Authorization": str(first["access_token"])})
        assert refused.status_code == 401
        second = await _get(client, merchant)
        assert second["access_token"] != first["access_token"]
        assert second["expired_at"] == int(clock.now().timestamp()) + 30 * 60
        assert (
            await client.get("/users/pg", headers={"Authorization": str(second["access_token"])})
        ).status_code == 200

    async def test_an_extended_token_stays_valid_past_its_first_expiry(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        first = await _get(client, merchant)
        headers = {"Authorization": str(first["access_token"])}
        assert (await client.get("/users/pg", headers=headers)).status_code == 200  # cached now
        clock.advance(minutes=29, seconds=30)
        await _get(client, merchant)  # extends
        clock.advance(minutes=2)  # past the first expiry, inside the extension
        assert (await client.get("/users/pg", headers=headers)).status_code == 200

    async def test_a_reused_token_is_opened_once_and_a_new_one_anew(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, services: Services, clock: ManualClock
    ) -> None:
        opened: list[str] = []
        real_open = services.keyring.open

        async def counting(sealed: str, purpose: str) -> Any:
            opened.append(purpose)
            return await real_open(sealed, purpose)

        services.keyring.open = counting  # type: ignore[method-assign]
        first = [await _get(client, merchant) for _ in range(3)]  # issued, then reused twice
        clock.advance(minutes=30)
        second = [await _get(client, merchant) for _ in range(3)]  # a new token, then reused twice
        assert {t["access_token"] for t in first} != {t["access_token"] for t in second}
        assert len({t["access_token"] for t in first}) == len({t["access_token"] for t in second}) == 1
        assert opened.count("access_token") == 2  # once per token, on its first reuse

    async def test_form_body_works_like_json(self, client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
        answer = await client.post(
            "/users/getToken", data={"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret}
        )
        assert answer.status_code == 200
        assert answer.json()["response"]["access_token"] == await token_for(client, merchant)

    async def test_a_wrong_pair_is_a_401_envelope(self, client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
        for body in (
            {"imp_key": merchant.imp_key, "imp_secret": "wrong-secret"},
            {"imp_key": "no-such-key", "imp_secret": merchant.imp_secret},
        ):
            answer = await client.post("/users/getToken", json=body)
            assert answer.status_code == 401
            assert answer.headers["content-type"].startswith("application/json")
            payload = answer.json()
            assert payload["code"] != 0 and payload["response"] is None
            assert "imp_key" in payload["message"]

    async def test_missing_fields_are_a_400_naming_them(self, client: httpx.AsyncClient, services: Services) -> None:
        answer = await client.post("/users/getToken", json={"imp_key": "k"})
        assert answer.status_code == 400
        assert answer.json()["message"] == "imp_key, imp_secret 파라메터가 누락되었습니다."
        assert await count_rows(services, "access_tokens") == 0

    async def test_concurrent_first_calls_converge_on_one_token(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, services: Services
    ) -> None:
        tokens = await asyncio.gather(*(_get(client, merchant) for _ in range(8)))
        assert len({t["access_token"] for t in tokens}) == 1
        assert await count_rows(services, "access_tokens") == 1

    async def test_the_token_is_not_stored_in_clear(
        self, client: httpx.AsyncClient, merchant: MerchantFixture, services: Services
    ) -> None:
        token = await token_for(client, merchant)
        async with services.engine.connect() as conn:
            from sqlalchemy import text

            rows = (await conn.execute(text("SELECT token_hash, token_sealed FROM access_tokens"))).all()
        assert rows and all(token not in "".join(r) for r in rows)


class TestTokenTransport:
    async def test_every_v1_header_form_is_accepted(self, client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
        token = await token_for(client, merchant)
        for headers, params in (
            ({"Authorization": token}, {}),
            ({"Authorization": f"Bearer {token}"}, {}),
            ({"Authorization": f"bearer {token}"}, {}),
            ({"X-ImpTokenHeader": token}, {}),
            ({}, {"_token": token}),
        ):
            answer = await client.get("/users/pg", headers=headers, params=params)
            assert answer.status_code == 200, (headers, params)

    async def test_authorization_wins_over_the_legacy_header(
        self, client: httpx.AsyncClient, merchant: MerchantFixture
    ) -> None:
        token = await token_for(client, merchant)
        answer = await client.get("/users/pg", headers={"Authorization": "bogus", "X-ImpTokenHeader": token})
        assert answer.status_code == 401

    async def test_anything_else_is_401(self, client: httpx.AsyncClient, merchant: MerchantFixture) -> None:
        token = await token_for(client, merchant)
        for headers in (
            {},
            {"Authorization": ""},
            {"Authorization": "Bearer"},
            {"Authorization": f"Bearer {token} x"},
            {"Authorization": "0" * 40},
        ):
            answer = await client.get("/users/pg", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.json()["code"] == -1
            assert answer.json()["response"] is None


class TestIsolation:
    async def test_a_token_never_reaches_another_merchants_payment(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture
    ) -> None:
        from tests.ledger_helpers import seed_payment

        other = await make_merchant(services, "Other shop", mid="othermid")
        theirs = await seed_payment(services, other.id, "their-order")
        mine = {"Authorization": await token_for(client, merchant)}
        answer = await client.get(f"/payments/{theirs}", headers=mine)
        assert answer.status_code == 404
        assert answer.json()["message"] == "존재하지 않는 결제정보입니다."
        assert (await client.get("/payments/find/their-order", headers=mine)).status_code == 404
        assert (await client.get(f"/payments?imp_uid[]={theirs}", headers=mine)).status_code == 404
        theirs_ok = {"Authorization": await token_for(client, other)}
        assert (await client.get(f"/payments/{theirs}", headers=theirs_ok)).status_code == 200
