"""The card numbers used in a run appear nowhere: not in any database row, not in the SQLite files
(WAL and free pages included), not in any log line or printed output."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.api.routes.pg_helpers import APPROVE, DECLINE, HANG, NOT_LUHN, onetime, v1_client
from tests.conftest import MerchantFixture
from tollway.clock import ManualClock
from tollway.db.models import Base
from tollway.payments.reconcile import reconcile
from tollway.services import Services

NUMBERS = [APPROVE, DECLINE, HANG, NOT_LUHN]


def forms(number: str) -> list[str]:
    digits = number.replace("-", "")
    return [number, digits, f"{digits[:4]} {digits[4:8]} {digits[8:12]} {digits[12:]}"]


def read_sqlite_files(db: Path) -> dict[str, str]:
    """The database file, its WAL and shared memory, as text (free pages and all)."""
    found = {}
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{db}{suffix}")
        if part.exists():
            found[f"file{suffix}"] = part.read_bytes().decode("latin-1")
    return found


async def dump_rows(services: Services) -> str:
    lines = []
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(text(f"SELECT * FROM {table.name}"))).all():
                lines.append(f"{table.name}: {tuple(row)}")
    return "\n".join(lines)


async def test_card_numbers_are_never_stored_or_logged(
    live: str,
    merchant: MerchantFixture,
    services: Services,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    async with v1_client(live, merchant) as api:
        assert (await api.post("/subscribe/payments/onetime", json=onetime("o-paid"))).json()["code"] == 0
        paid = (await api.get("/payments/find/o-paid")).json()["response"]
        assert paid["card_number"] == "43301234****000*"
        await api.post("/subscribe/payments/onetime", json=onetime("o-declined", card=DECLINE))
        await api.post("/subscribe/payments/onetime", json=onetime("o-invalid", card=NOT_LUHN))
        await api.post("/subscribe/payments/onetime", json=onetime("o-bad-expiry", expiry="2030-99"))
        await api.post("/subscribe/payments/onetime", json=onetime("o-timeout", card=HANG))
        await api.post("/payments/cancel", json={"merchant_uid": "o-paid", "amount": 1000})
    clock.advance(seconds=services.settings.reconcile_after_seconds + 1)
    assert (await reconcile(services)).paid
    auth = "Basic " + base64.b64encode(b"test_sk_tosstest:").decode()
    async with httpx.AsyncClient(base_url=f"{live}/sandbox/toss", headers={"Authorization": auth}) as toss:
        issued = await toss.post(
            "/v1/billing/authorizations/card",
            json={
                "customerKey": "cust-scan",
                "cardNumber": APPROVE.replace("-", ""),
                "cardExpirationYear": "30",
                "cardExpirationMonth": "12",
                "customerIdentityNumber": "900101",
            },
        )
        assert issued.status_code == 200
        billing_key = issued.json()["billingKey"]

    haystacks = {"rows": await dump_rows(services), "logs": caplog.text}
    out, err = capfd.readouterr()
    haystacks["output"] = out + err
    url = services.settings.resolved_database_url()
    if url.startswith("sqlite"):
        db = Path(url.split(":///", 1)[1])
        haystacks.update(read_sqlite_files(db))
    # the scan can see what was stored: the masked number is there, the clear one must not be
    assert "43301234****000*" in haystacks["rows"]
    if "file" in haystacks:
        assert "43301234****000*" in haystacks["file"] + haystacks.get("file-wal", "")
    for number in NUMBERS:
        for form in forms(number):
            for where, haystack in haystacks.items():
                assert form not in haystack, f"{form} found in {where}"
    # the sandbox's billing key is kept only as a digest
    assert billing_key not in haystacks["rows"]
