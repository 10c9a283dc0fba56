"""``/receipts`` end to end: cash receipts for a paid virtual account and stand-alone, through the
connector and the sandbox's cash-receipt API; the identifier is never kept in clear."""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx
import pytest

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.api.routes.test_vbanks import names, vbank
from tests.conftest import MerchantFixture, count_rows, make_merchant
from tests.test_card_data_scan import dump_rows
from tollway.clock import ManualClock
from tollway.pg.base import PgUnknown
from tollway.pg.toss.connector import TossConnector
from tollway.pg.toss.wire import KST
from tollway.services import Services

PHONE = "010-9876-5432"
SANDBOX_AUTH = {"Authorization": "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()}


async def paid_account(api: httpx.AsyncClient, clock: ManualClock, merchant_uid: str = "vb-1") -> dict[str, Any]:
    p = (await api.post("/vbanks", json=vbank(clock, merchant_uid))).json()["response"]
    paid: dict[str, Any] = (await api.post(f"/tollway/sandbox/payments/{p['imp_uid']}/deposit")).json()["response"]
    assert paid["status"] == "paid"
    return paid


async def toss_records(live: str, clock: ManualClock) -> list[dict[str, Any]]:
    """Every cash-receipt record the sandbox PG holds for the merchant's MID today."""
    day = clock.now().astimezone(KST).strftime("%Y-%m-%d")
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss", headers=SANDBOX_AUTH) as toss:
        listed = await toss.get("/v1/cash-receipts", params={"requestDate": day})
    records: list[dict[str, Any]] = listed.json()["data"]
    return records


async def test_a_paid_accounts_receipt_is_issued_cancelled_and_issued_again(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        paid = await paid_account(api, clock)
        imp_uid = paid["imp_uid"]
        part = await api.post("/payments/cancel", json={"imp_uid": imp_uid, "amount": 8000, "reason": "부분 환불"})
        assert part.json()["code"] == 0
        body = {"identifier": PHONE, "identifier_type": "phone", "type": "person", "buyer_name": "홍길동"}
        answer = await api.post(f"/receipts/{imp_uid}", json=body)
        assert answer.status_code == 200, answer.text
        r = answer.json()["response"]
        assert set(r) == {
            "imp_uid",
            "receipt_tid",
            "apply_num",
            "type",
            "amount",
            "vat",
            "receipt_url",
            "applied_at",
            "cancelled_at",
        }
        assert (r["imp_uid"], r["type"], r["amount"], r["vat"], r["cancelled_at"]) == (
            imp_uid,
            "person",
            22000,
            2000,
            0,
        )
        assert len(r["apply_num"]) == 9 and r["receipt_tid"] and r["applied_at"] > 0
        assert r["receipt_url"] == f"{live}/sandbox/toss/_sandbox/cash-receipts/{r['receipt_tid']}"
        assert (await api.get(f"/receipts/{imp_uid}")).json()["response"] == r
        assert (await api.get(f"/payments/{imp_uid}")).json()["response"]["cash_receipt_issued"] is True
        twice = await api.post(f"/receipts/{imp_uid}", json=body)
        assert (twice.status_code, twice.json()["code"], twice.json()["message"]) == (
            400,
            1,
            "이미 현금영수증이 발급되었습니다.",
        )

        clock.advance(seconds=1)
        cancelled = (await api.delete(f"/receipts/{imp_uid}")).json()["response"]
        assert cancelled["cancelled_at"] > 0 and cancelled["receipt_tid"] == r["receipt_tid"]
        assert (await api.get(f"/receipts/{imp_uid}")).json()["response"] == cancelled
        assert (await api.get(f"/payments/{imp_uid}")).json()["response"]["cash_receipt_issued"] is False
        again = await api.delete(f"/receipts/{imp_uid}")
        assert (again.status_code, again.json()["message"]) == (400, "이미 발급취소된 현금영수증입니다.")
        clock.advance(seconds=1)
        company = {"identifier": "123-45-67890", "identifier_type": "business", "type": "company"}
        reissued = (await api.post(f"/receipts/{imp_uid}", json=company)).json()["response"]
        assert reissued["receipt_tid"] != r["receipt_tid"] and reissued["type"] == "company"
    records = await toss_records(live, clock)
    assert [(x["transactionType"], x["type"], x["amount"]) for x in records] == [
        ("CONFIRM", "소득공제", 22000),
        ("CANCEL", "소득공제", 22000),
        ("CONFIRM", "지출증빙", 22000),
    ]
    assert records[0]["customerIdentityNumber"] == "*******5432"


async def test_only_a_paid_transfer_or_account_gets_a_receipt(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    body = {"identifier": PHONE}
    async with v1_client(live, merchant) as api:
        card = (await api.post("/subscribe/payments/onetime", json=onetime())).json()["response"]
        by_card = await api.post(f"/receipts/{card['imp_uid']}", json=body)
        assert (by_card.status_code, by_card.json()["code"]) == (400, 1)
        assert by_card.json()["message"] == "현금영수증은 계좌이체, 가상계좌 결제건에만 발급할 수 있습니다."
        waiting = (await api.post("/vbanks", json=vbank(clock, "vb-waiting"))).json()["response"]
        unpaid = await api.post(f"/receipts/{waiting['imp_uid']}", json=body)
        assert (unpaid.status_code, unpaid.json()["message"]) == (
            400,
            "결제완료(paid) 상태인 결제건에만 현금영수증을 발급할 수 있습니다.",
        )
        none_yet = await api.get(f"/receipts/{waiting['imp_uid']}")
        assert (none_yet.status_code, none_yet.json()["code"]) == (404, -1)
        assert none_yet.json()["message"] == "현금영수증 발급내역이 존재하지 않습니다."
        nothing_to_cancel = await api.delete(f"/receipts/{waiting['imp_uid']}")
        assert (nothing_to_cancel.status_code, nothing_to_cancel.json()["code"]) == (400, 1)
        for answer in (
            await api.post("/receipts/imp_000000000000", json=body),
            await api.get("/receipts/imp_000000000000"),
            await api.delete("/receipts/imp_000000000000"),
        ):
            assert (answer.status_code, answer.json()["message"]) == (404, "존재하지 않는 결제정보입니다.")
    assert await toss_records(live, clock) == []


async def test_bad_input_is_a_400_that_names_the_parameter_and_never_echoes_the_identifier(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"identifier": "010-ABCD-5432"}, "identifier"),
        ({"identifier": "9001011234567", "identifier_type": "phone"}, "identifier"),
        ({"identifier": "02-123-4567", "identifier_type": "phone"}, "identifier"),
        ({"identifier": "1234567890", "identifier_type": "email"}, "identifier_type"),
        ({"identifier": PHONE, "type": "corporate"}, "type"),
        ({"identifier": PHONE, "tax_free": 40000}, "tax_free"),
        ({"identifier": PHONE, "tax_free": "100"}, "tax_free"),
        ({}, "identifier"),
    ]
    async with v1_client(live, merchant) as api:
        paid = await paid_account(api, clock)
        for body, parameter in cases:
            answer = await api.post(f"/receipts/{paid['imp_uid']}", json=body)
            assert (answer.status_code, answer.json()["code"]) == (400, 1), (body, answer.text)
            assert names(answer, parameter), (body, answer.json())
            assert "ABCD" not in answer.text + str(answer.headers) and "9001011234567" not in answer.text
        external = await api.post("/receipts/external/cash-1", json={"identifier": PHONE, "amount": 1000})
        assert external.status_code == 400 and names(external, "name")
        valid = {"identifier": PHONE, "amount": 1000, "name": "현장"}
        for merchant_uid in ("m" * 41, "cash%01"):
            answer = await api.post(f"/receipts/external/{merchant_uid}", json=valid)
            assert answer.status_code == 400 and names(answer, "merchant_uid"), answer.text
    assert await count_rows(services, "cash_receipts") == 0
    assert await toss_records(live, clock) == []


async def test_a_refusal_by_the_pg_is_code_minus_1_and_blocks_nothing(
    live: str, merchant: MerchantFixture, clock: ManualClock
) -> None:
    async with v1_client(live, merchant) as api:
        paid = await paid_account(api, clock)
        refused = (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": "0000000000"})).json()
        assert refused["code"] == -1 and refused["message"].startswith("현금영수증 발행에 실패하였습니다.")
        assert "INVALID_CASH_RECEIPT_INFO" in refused["message"]
        assert (await api.get(f"/receipts/{paid['imp_uid']}")).status_code == 404
        issued = (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": PHONE})).json()
        assert issued["code"] == 0 and issued["response"]["type"] == "person"


async def test_an_issue_without_an_answer_is_completed_by_the_retry_never_issued_twice(
    live: str, merchant: MerchantFixture, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_issue = TossConnector.issue_cash_receipt

    async def issued_but_lost(self: TossConnector, *args: Any, **kwargs: Any) -> Any:
        await real_issue(self, *args, **kwargs)
        raise PgUnknown("TIMEOUT", "the answer never came")

    async with v1_client(live, merchant) as api:
        paid = await paid_account(api, clock)
        monkeypatch.setattr(TossConnector, "issue_cash_receipt", issued_but_lost)
        lost = (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": PHONE})).json()
        monkeypatch.undo()
        assert lost["code"] == -1 and "다시 보내주시면" in lost["message"]
        assert (await api.get(f"/receipts/{paid['imp_uid']}")).status_code == 404
        retried = (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": PHONE})).json()
        assert retried["code"] == 0 and retried["response"]["apply_num"]
    assert [x["transactionType"] for x in await toss_records(live, clock)] == ["CONFIRM"]


async def test_a_stand_alone_receipt_for_cash_taken_elsewhere(
    live: str, merchant: MerchantFixture, services: Services, clock: ManualClock
) -> None:
    other = await make_merchant(services, "Other shop", mid="othermid")
    body = {
        "name": "현장 결제",
        "amount": 11000,
        "identifier": "1234567890",
        "identifier_type": "business",
        "type": "company",
        "tax_free": 1000,
        "pay_method": "trans",
    }
    async with v1_client(live, merchant) as api:
        answer = await api.post("/receipts/external/cash-1", json=body)
        assert answer.status_code == 200, answer.text
        r = answer.json()["response"]
        assert (r["merchant_uid"], r["type"], r["amount"], r["vat"], r["cancelled_at"]) == (
            "cash-1",
            "company",
            11000,
            909,
            0,
        )
        assert "imp_uid" not in r and r["apply_num"] and r["receipt_tid"]
        assert (await api.get("/receipts/external/cash-1")).json()["response"] == r
        twice = await api.post("/receipts/external/cash-1", json=body)
        assert (twice.status_code, twice.json()["code"]) == (400, 1)
        async with v1_client(live, other) as stranger:
            for answer in (
                await stranger.get("/receipts/external/cash-1"),
                await stranger.delete("/receipts/external/cash-1"),
            ):
                assert (answer.status_code, answer.json()["code"]) == (404, -1)
        clock.advance(seconds=1)
        cancelled = (await api.delete("/receipts/external/cash-1")).json()["response"]
        assert cancelled["cancelled_at"] > 0
        for answer in (await api.get("/receipts/external/none"), await api.delete("/receipts/external/none")):
            assert (answer.status_code, answer.json()["message"]) == (404, "현금영수증 발급내역이 존재하지 않습니다.")
    assert [(x["transactionType"], x["type"], x["taxFreeAmount"]) for x in await toss_records(live, clock)] == [
        ("CONFIRM", "지출증빙", 1000),
        ("CANCEL", "지출증빙", 1000),
    ]


async def test_the_identifier_is_never_stored_or_logged_in_clear(
    live: str,
    merchant: MerchantFixture,
    services: Services,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    async with v1_client(live, merchant) as api:
        paid = await paid_account(api, clock)
        assert (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": PHONE})).json()["code"] == 0
        external = {"name": "현장\x00결제", "amount": 5000, "identifier": "9001011234567", "buyer_name": "홍\x00길동"}
        assert (await api.post("/receipts/external/cash-2", json=external)).json()["code"] == 0  # NULs dropped
    rows = await dump_rows(services)
    out, err = capfd.readouterr()
    assert "*******5432" in rows  # the scan sees what is stored: the masked form only
    for clear in ("01098765432", PHONE, "9001011234567"):
        for where, haystack in {"rows": rows, "logs": caplog.text, "output": out + err}.items():
            assert clear not in haystack, f"{clear} found in {where}"


async def test_a_window_transfer_gets_a_receipt_too(live: str, merchant: MerchantFixture, clock: ManualClock) -> None:
    from tests.checkout.test_flow import open_window, params, window_form

    _, call = await open_window(live, merchant, params("trans-1", pay_method="trans"))
    async with httpx.AsyncClient(base_url=live) as http:
        approved = await http.post("/sandbox/toss/_sandbox/window", data=window_form(call, bank="20"))
        await http.get(approved.headers["location"])  # the return: the transfer is confirmed
    async with v1_client(live, merchant) as api:
        paid = (await api.get("/payments/find/trans-1")).json()["response"]
        assert (paid["pay_method"], paid["status"]) == ("trans", "paid")
        issued = (await api.post(f"/receipts/{paid['imp_uid']}", json={"identifier": PHONE})).json()
        assert issued["code"] == 0 and issued["response"]["amount"] == 15000
    assert [x["amount"] for x in await toss_records(live, clock)] == [15000]
