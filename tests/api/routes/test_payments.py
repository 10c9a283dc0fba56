"""Payment lookups and prepared amounts over the V1 routes, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MerchantFixture, count_rows, make_merchant
from tests.ledger_helpers import get_row, seed_payment
from tests.v1_text import korean_only, said
from tollway.clock import ManualClock
from tollway.services import Services

PAYMENT_FIELDS = {
    "imp_uid": str,
    "merchant_uid": str,
    "pay_method": str,
    "channel": str,
    "pg_provider": str,
    "sandbox": bool,
    "escrow": bool,
    "card_quota": int,
    "vbank_date": int,
    "vbank_issued_at": int,
    "amount": int,
    "cancel_amount": int,
    "currency": str,
    "status": str,
    "started_at": int,
    "paid_at": int,
    "failed_at": int,
    "cancelled_at": int,
    "cancel_history": list,
    "deposit_history": list,
    "cancel_receipt_urls": list,
    "cash_receipt_issued": bool,
}


class TestLookupOne:
    async def test_a_paid_payment_has_every_v1_field_with_v1_types(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        imp_uid = await seed_payment(services, merchant.id, "order-1", custom_data='{"userId":30930}')
        answer = await client.get(f"/payments/{imp_uid}", headers=auth)
        assert answer.status_code == 200
        payment = answer.json()["response"]
        for field, kind in PAYMENT_FIELDS.items():
            assert isinstance(payment[field], kind), field
        assert payment["imp_uid"] == imp_uid and imp_uid.startswith("imp_") and len(imp_uid) == 16
        assert payment["status"] == "paid" and payment["amount"] == 1004 and payment["cancel_amount"] == 0
        assert payment["failed_at"] == 0 and payment["cancelled_at"] == 0 and payment["paid_at"] > 0
        assert payment["custom_data"] == '{"userId":30930}'
        assert payment["pg_provider"] == "tosspayments" and payment["pg_id"] == "tosstest"
        assert payment["card_type"] == 0 and payment["card_number"] == "536648******1234"

    async def test_cancel_history_is_kept(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        partial = await seed_payment(services, merchant.id, "order-p", amount=10_000, cancel=1_000)
        full = await seed_payment(services, merchant.id, "order-f", amount=5_000, status="cancelled")
        p = (await client.get(f"/payments/{partial}", headers=auth)).json()["response"]
        assert p["status"] == "paid" and p["cancel_amount"] == 1_000 and p["cancelled_at"] > 0
        assert [h["amount"] for h in p["cancel_history"]] == [1_000]
        assert p["cancel_history"][0]["reason"] == "고객요청" and p["cancel_history"][0]["cancellation_id"]
        f = (await client.get(f"/payments/{full}", headers=auth)).json()["response"]
        assert f["status"] == "cancelled" and f["cancel_amount"] == 5_000 and f["cancel_reason"] == "고객요청"

    async def test_unknown_imp_uid_is_404_with_v1_message(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        answer = await client.get("/payments/imp_000000000000", headers=auth)
        assert answer.status_code == 404
        assert answer.json() == {"code": -1, "message": "존재하지 않는 결제정보입니다.", "response": None}

    async def test_sandbox_payments_of_a_sandbox_only_merchant_are_shown_without_include_sandbox(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        imp_uid = await seed_payment(services, merchant.id, "order-s")
        assert (await client.get(f"/payments/{imp_uid}?include_sandbox=false", headers=auth)).status_code == 200

    async def test_a_merchant_with_a_live_channel_sees_sandbox_payments_only_when_asked(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        from tests.conftest import add_live_channel

        imp_uid = await seed_payment(services, merchant.id, "order-s")
        await add_live_channel(services, merchant.id, "livemid")
        assert (await client.get(f"/payments/{imp_uid}", headers=auth)).status_code == 404
        assert (await client.get(f"/payments/{imp_uid}?include_sandbox=true", headers=auth)).status_code == 200

    async def test_doubled_leading_and_trailing_slashes_are_tolerated(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        imp_uid = await seed_payment(services, merchant.id, "order-1")
        for path in (
            f"//payments/{imp_uid}",
            f"/payments/{imp_uid}/",
            "/payments/find/order-1/",
            "//payments/find/order-1",
        ):
            answer = await client.get(f"http://tollway.test{path}", headers=auth)  # a full URL keeps "//" a path
            assert answer.status_code == 200, path
            assert answer.json()["response"]["imp_uid"] == imp_uid


class TestLookupMany:
    async def test_all_found_is_200_in_request_order(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        a = await seed_payment(services, merchant.id, "a")
        b = await seed_payment(services, merchant.id, "b")
        answer = await client.get(f"/payments?imp_uid[]={b}&imp_uid[]={a}", headers=auth)
        assert answer.status_code == 200
        assert [p["imp_uid"] for p in answer.json()["response"]] == [b, a]

    async def test_partly_found_is_207_with_the_found_ones(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        a = await seed_payment(services, merchant.id, "a")
        answer = await client.get(f"/payments?imp_uid[]={a}&imp_uid[]=imp_999999999999", headers=auth)
        assert answer.status_code == 207
        assert answer.json()["code"] == 0
        assert [p["imp_uid"] for p in answer.json()["response"]] == [a]

    @pytest.mark.parametrize("spelling", ["imp_uid[]", "imp_uid%5B%5D", "imp_uid[0]", "imp_uid"])
    async def test_every_array_spelling_is_accepted(
        self,
        client: httpx.AsyncClient,
        services: Services,
        merchant: MerchantFixture,
        auth: dict[str, str],
        spelling: str,
    ) -> None:
        a = await seed_payment(services, merchant.id, "a")
        answer = await client.get(f"/payments?{spelling}={a}", headers=auth)
        assert answer.status_code == 200 and answer.json()["response"][0]["imp_uid"] == a

    async def test_merchant_uids_give_their_latest_payment(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        await seed_payment(services, merchant.id, "retry", status="failed")
        latest = await seed_payment(services, merchant.id, "retry")
        answer = await client.get("/payments?merchant_uid[]=retry", headers=auth)
        assert answer.status_code == 200 and answer.json()["response"][0]["imp_uid"] == latest

    async def test_none_found_is_404_and_none_asked_is_400(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        assert (await client.get("/payments?imp_uid[]=imp_1", headers=auth)).status_code == 404
        empty = await client.get("/payments", headers=auth)
        assert empty.status_code == 400 and "imp_uid[]" in empty.json()["message"]

    async def test_more_than_100_ids_is_400(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        query = "&".join(f"imp_uid[]=imp_{i:012d}" for i in range(101))
        answer = await client.get(f"/payments?{query}", headers=auth)
        assert answer.status_code == 400 and "100" in answer.json()["message"]


class TestFind:
    async def test_find_returns_the_latest_and_filters_by_status(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        failed = await seed_payment(services, merchant.id, "o", status="failed")
        paid = await seed_payment(services, merchant.id, "o")
        assert (await client.get("/payments/find/o", headers=auth)).json()["response"]["imp_uid"] == paid
        assert (await client.get("/payments/find/o/failed", headers=auth)).json()["response"]["imp_uid"] == failed
        assert (await client.get("/payments/find/o?sorting=started", headers=auth)).json()["response"][
            "imp_uid"
        ] == failed
        assert (await client.get("/payments/find/o/cancelled", headers=auth)).status_code == 404

    async def test_unknown_status_and_sorting_are_400_listing_the_known_ones(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        await seed_payment(services, merchant.id, "o")
        answer = await client.get("/payments/find/o/undefined", headers=auth)
        assert answer.status_code == 400 and "ready, paid, failed, cancelled" in said(answer)
        assert answer.json()["message"] == "지원되지 않는 상태값입니다."
        answer = await client.get("/payments/find/o?sorting=newest", headers=auth)
        assert answer.status_code == 400 and "-started" in said(answer)
        assert answer.json()["message"] == "sorting 파라메터가 올바르지 않습니다."

    async def test_find_all_pages(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        uids = [await seed_payment(services, merchant.id, "many", status="failed") for _ in range(5)]
        first = (await client.get("/payments/findAll/many?limit=2", headers=auth)).json()["response"]
        assert first["total"] == 5 and first["previous"] == 0 and first["next"] == 2
        assert [p["imp_uid"] for p in first["list"]] == uids[::-1][:2]
        last = (await client.get("/payments/findAll/many/failed/?limit=2&page=3", headers=auth)).json()["response"]
        assert last["previous"] == 2 and last["next"] == 0 and [p["imp_uid"] for p in last["list"]] == [uids[0]]
        assert (await client.get("/payments/findAll/many?limit=2&page=4", headers=auth)).status_code == 400
        assert (await client.get("/payments/findAll/nothing", headers=auth)).status_code == 404
        assert (await client.get("/payments/findAll/many/paid", headers=auth)).status_code == 404


class TestByStatus:
    async def test_lists_by_status_newest_first(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        paid = [await seed_payment(services, merchant.id, f"p{i}") for i in range(3)]
        failed = await seed_payment(services, merchant.id, "f", status="failed")
        answer = (await client.get("/payments/status/paid", headers=auth)).json()["response"]
        assert [p["imp_uid"] for p in answer["list"]] == paid[::-1] and answer["total"] == 3
        everything = (await client.get("/payments/status/all?sorting=started", headers=auth)).json()["response"]
        assert [p["imp_uid"] for p in everything["list"]] == [*paid, failed]

    async def test_time_window_filters_on_the_status_time(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, clock: ManualClock
    ) -> None:
        from datetime import timedelta

        from tests.conftest import token_for

        old = await seed_payment(services, merchant.id, "old")
        cut = int(clock.now().timestamp())
        new = await seed_payment(services, merchant.id, "new", after=timedelta(days=2))
        auth = {"Authorization": await token_for(client, merchant)}  # after the clock moved two days
        later = (await client.get(f"/payments/status/paid?from={cut + 1}", headers=auth)).json()["response"]
        assert [p["imp_uid"] for p in later["list"]] == [new]
        earlier = (await client.get(f"/payments/status/paid?from={cut - 86400}&to={cut}", headers=auth)).json()[
            "response"
        ]
        assert [p["imp_uid"] for p in earlier["list"]] == [old]

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/payments/status/unpaid", "지원되지 않는 상태값입니다. | 'unpaid' is none of all, ready, paid"),
            ("/payments/status/paid?limit=1001", "limit의 값이 허용 범위를 벗어났습니다."),
            ("/payments/status/paid?limit=abc", "limit는 정수여야 합니다."),
            ("/payments/status/paid?page=0", "page의 값이 허용 범위를 벗어났습니다."),
            ("/payments/status/paid?page=10000000000000000000000", "page의 값이 허용 범위를 벗어났습니다."),
            ("/payments/status/paid?from=0&to=99999999", "90일"),
            ("/payments/status/paid?from=1e308", "from는 정수여야 합니다."),
            ("/payments/status/paid?to=99999999999999999999", "to의 값이 허용 범위를 벗어났습니다."),
            ("/payments/status/paid?page=2", "데이터 범위를 넘어선 page입니다. | page 2 is past the last page"),
        ],
    )
    async def test_bad_parameters_are_400_saying_what_was_expected(
        self, client: httpx.AsyncClient, auth: dict[str, str], path: str, expected: str
    ) -> None:
        answer = await client.get(path, headers=auth)
        assert answer.status_code == 400
        body = answer.json()
        assert body["code"] != 0 and body["response"] is None and expected in said(answer)
        assert korean_only(body["message"])


class TestPrepare:
    async def test_prepare_then_read_then_change(
        self, client: httpx.AsyncClient, auth: dict[str, str], services: Services
    ) -> None:
        made = await client.post("/payments/prepare", json={"merchant_uid": "order-9", "amount": 39000}, headers=auth)
        assert made.status_code == 200
        assert made.json() == {
            "code": 0,
            "message": None,
            "response": {"merchant_uid": "order-9", "amount": 39000, "currency": None},
        }
        read = await client.get("/payments/prepare/order-9", headers=auth)
        assert read.json()["response"]["amount"] == 39000
        changed = await client.put(
            "/payments/prepare", data={"merchant_uid": "order-9", "amount": "41000", "currency": "KRW"}, headers=auth
        )
        assert changed.status_code == 200 and changed.json()["response"] == {
            "merchant_uid": "order-9",
            "amount": 41000,
            "currency": "KRW",
        }
        assert (await client.get("/payments/prepare/order-9", headers=auth)).json()["response"]["amount"] == 41000

    async def test_a_string_amount_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, auth: dict[str, str], services: Services
    ) -> None:
        answer = await client.post("/payments/prepare", json={"merchant_uid": "o", "amount": "39000"}, headers=auth)
        assert answer.status_code == 400
        body = answer.json()
        assert body["code"] != 0 and body["message"] == "amount는 정수여야 합니다." and "not a string" in said(answer)
        assert await count_rows(services, "payment_prepares") == 0

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"amount": 1000}, "merchant_uid 파라메터가 누락되었습니다."),
            ({"merchant_uid": "o"}, "amount 파라메터가 누락되었습니다."),
            ({"merchant_uid": "o", "amount": 10.5}, "amount는 정수여야 합니다."),
            (
                {"merchant_uid": "o", "amount": True},
                "amount는 정수여야 합니다. | amount: must be an integer, not a boolean",
            ),
            ({"merchant_uid": "o", "amount": -1}, "amount의 값이 허용 범위를 벗어났습니다."),
            ({"merchant_uid": "o", "amount": 2**64}, "amount의 값이 허용 범위를 벗어났습니다."),
            ({"merchant_uid": "o", "amount": 1e308}, "amount의 값이 허용 범위를 벗어났습니다."),
            ({"merchant_uid": "x" * 41, "amount": 1}, "merchant_uid는 최대 40자까지 입력할 수 있습니다."),
            ({"merchant_uid": "a\nb", "amount": 1}, "merchant_uid에 사용할 수 없는 문자가 포함되어 있습니다."),
        ],
    )
    async def test_bad_bodies_are_400_and_change_nothing(
        self,
        client: httpx.AsyncClient,
        auth: dict[str, str],
        services: Services,
        body: dict[str, object],
        expected: str,
    ) -> None:
        answer = await client.post("/payments/prepare", json=body, headers=auth)
        assert answer.status_code == 400 and said(answer).startswith(expected)
        assert await count_rows(services, "payment_prepares") == 0

    async def test_preparing_twice_is_refused_and_keeps_the_first_amount(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        await client.post("/payments/prepare", json={"merchant_uid": "o", "amount": 1000}, headers=auth)
        again = await client.post("/payments/prepare", json={"merchant_uid": "o", "amount": 2000}, headers=auth)
        assert again.status_code == 200 and again.json()["code"] == 1 and "PUT" in said(again)
        assert (await client.get("/payments/prepare/o", headers=auth)).json()["response"]["amount"] == 1000

    async def test_unknown_prepare_is_404(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        unknown = await client.get("/payments/prepare/none", headers=auth)
        assert unknown.status_code == 404
        assert unknown.json() == {"code": -1, "message": "사전등록된 결제정보가 존재하지 않습니다.", "response": None}
        put = await client.put("/payments/prepare", json={"merchant_uid": "none", "amount": 1}, headers=auth)
        assert put.status_code == 404

    async def test_prepared_amounts_are_per_merchant(
        self, client: httpx.AsyncClient, auth: dict[str, str], services: Services
    ) -> None:
        from tests.conftest import token_for

        other = await make_merchant(services, "Other", mid="m2")
        other_auth = {"Authorization": await token_for(client, other)}
        await client.post("/payments/prepare", json={"merchant_uid": "same", "amount": 1}, headers=auth)
        theirs = await client.post("/payments/prepare", json={"merchant_uid": "same", "amount": 2}, headers=other_auth)
        assert theirs.json()["code"] == 0
        assert (await client.get("/payments/prepare/same", headers=auth)).json()["response"]["amount"] == 1


class TestBalance:
    async def test_balance_is_net_of_refunds(
        self, client: httpx.AsyncClient, services: Services, merchant: MerchantFixture, auth: dict[str, str]
    ) -> None:
        imp_uid = await seed_payment(services, merchant.id, "b", amount=11_000, cancel=1_100)
        balance = (await client.get(f"/payments/{imp_uid}/balance", headers=auth)).json()["response"]
        assert balance["amount"] == 9_900
        assert balance["primary"] == {"tax_free": 0, "supply": 9_000, "vat": 900, "service": 0}
        assert len(balance["histories"]) == 2
        assert (await client.get("/payments/imp_0/balance", headers=auth)).status_code == 404


class TestLedgerInvariants:
    async def test_a_second_paid_payment_for_one_merchant_uid_is_refused_by_the_database(
        self, services: Services, merchant: MerchantFixture
    ) -> None:
        from tollway.errors import BusinessError

        first = await seed_payment(services, merchant.id, "once")
        with pytest.raises(BusinessError, match="already has a paid payment"):
            await seed_payment(services, merchant.id, "once")
        assert (await get_row(services, first)).merchant_uid_hold == "once"
