"""The payments pages: search, CSV, a payment's page and timeline, and cancel — with the server
deciding who may do what."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.console.conftest import Shops
from tests.ledger_helpers import seed_payment
from tollway.db.console_models import AuditEntry
from tollway.db.models import Payment
from tollway.payments import search
from tollway.services import Services


async def _set_email(services: Services, imp_uid: str, email: str, name: str = "홍길동") -> None:
    async with services.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.imp_uid == imp_uid))
        assert payment is not None
        payment.buyer_email, payment.buyer_name = email, name
        await session.commit()


async def test_search_finds_a_payment_by_buyer_email_and_never_another_merchants(
    console_http, shops: Shops, services: Services
) -> None:
    mine = await seed_payment(services, shops.a.id, "order-a")
    theirs = await seed_payment(services, shops.b.id, "order-b")
    await seed_payment(services, shops.a.id, "order-c")
    await _set_email(services, mine, "buyer@example.com")
    await _set_email(services, theirs, "buyer@example.com")
    browser = console_http()
    await browser.sign_in("viewer@a.test")
    page = await browser.get(f"/console/m/{shops.a.user_code}/payments", params={"buyer_email": "Buyer@Example.com"})
    assert page.status_code == 200
    assert mine in page.text and theirs not in page.text and "order-c" not in page.text
    bad = await browser.get(f"/console/m/{shops.a.user_code}/payments", params={"amount": "abc"})
    assert bad.status_code == 400


async def test_a_manager_of_one_merchant_cannot_see_another(console_http, shops: Shops, services: Services) -> None:
    theirs = await seed_payment(services, shops.b.id, "order-b")
    browser = console_http()
    await browser.sign_in("manager@a.test")
    assert (await browser.get(f"/console/m/{shops.b.user_code}/payments")).status_code == 404
    assert (await browser.get(f"/console/m/{shops.b.user_code}")).status_code == 404
    assert (await browser.get(f"/console/m/{shops.a.user_code}/payments/{theirs}")).status_code == 404
    assert (await browser.get(f"/console/m/{shops.b.user_code}/payments.csv")).status_code == 404
    refused = await browser.post(f"/console/m/{shops.a.user_code}/payments/{theirs}/cancel", {"checksum": "1004"})
    assert refused.status_code == 404


async def test_keyset_pages_walk_every_payment_once(services: Services, shops: Shops) -> None:
    made = [await seed_payment(services, shops.a.id, f"order-{i}") for i in range(5)]
    seen: list[str] = []
    after = None
    async with services.sessions.statements() as conn:
        while True:
            page = await search.search(conn, shops.a.id, search.PaymentFilter(), after, limit=2)
            seen.extend(r.imp_uid for r in page.rows)
            if page.next is None:
                break
            after = search.Cursor.decode(page.next.encode())
    assert seen == list(reversed(made))


async def test_filters_by_status_amount_card_digits_and_dates(services: Services, shops: Shops) -> None:
    paid = await seed_payment(services, shops.a.id, "p", amount=5000)
    failed = await seed_payment(services, shops.a.id, "f", status="failed")

    async def found(**values: str) -> set[str]:
        async with services.sessions.statements() as conn:
            page = await search.search(conn, shops.a.id, search.parse_filter(values), None)
        return {r.imp_uid for r in page.rows}

    assert await found(status="failed") == {failed}
    assert await found(amount="5,000") == {paid}
    assert await found(card_digits="1234") == {paid}
    assert await found(date_from="2026-01-01", date_to="2026-01-01") == {paid, failed}
    assert await found(date_from="2026-01-02") == set()
    assert await found(mode="live") == set() and await found(mode="test") == {paid, failed}


async def test_the_csv_export_is_streamed_a_batch_at_a_time(services: Services, shops: Shops) -> None:
    made = [await seed_payment(services, shops.a.id, f"order-{i}") for i in range(5)]
    await _set_email(services, made[0], "x@example.com", name="=HYPERLINK(1)")
    chunks = [c async for c in search.export_csv(services.sessions, shops.a.id, search.PaymentFilter(), batch=2)]
    assert len(chunks) == 1 + 3  # the header, then one chunk per batch of 2
    rows = list(csv.DictReader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    assert [r["imp_uid"] for r in rows] == list(reversed(made))
    assert rows[-1]["buyer_name"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


async def test_the_csv_route_answers_the_search(console_http, shops: Shops, services: Services) -> None:
    await seed_payment(services, shops.a.id, "order-1", amount=1500)
    await seed_payment(services, shops.a.id, "order-2", status="failed")
    browser = console_http()
    await browser.sign_in("viewer@a.test")
    answer = await browser.get(f"/console/m/{shops.a.user_code}/payments.csv", params={"status": "paid"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert [(r["merchant_uid"], r["amount"]) for r in rows] == [("order-1", "1500")]


async def test_a_partial_cancel_is_reviewed_then_sent_and_shows_in_the_timeline(
    live: str, console_http, shops: Shops, services: Services
) -> None:
    async with v1_client(live, shops.a) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime("order-1", 15000))).json()["response"]
    imp_uid = paid["imp_uid"]
    browser = console_http()
    await browser.sign_in("manager@a.test")
    base = f"/console/m/{shops.a.user_code}/payments/{imp_uid}"
    before = await browser.get(base)
    assert "Idempotency-Key" in before.text and f"tollway-{imp_uid}-approve" in before.text
    review = await browser.post(f"{base}/cancel/review", {"amount": "5,000", "reason": "부분 환불"})
    assert review.status_code == 200 and "₩5,000" in review.text and "₩10,000" in review.text
    async with services.sessions() as session:
        assert (await session.scalar(select(Payment.cancel_amount).where(Payment.imp_uid == imp_uid))) == 0
    done = await browser.post(f"{base}/cancel", {"amount": "5000", "checksum": "15000", "reason": "부분 환불"})
    assert done.status_code == 303
    after = await browser.get(done.headers["location"])
    assert "₩10,000" in after.text and f"tollway-{imp_uid}-cancel-" in after.text and "부분 환불" in after.text
    stale = await browser.post(f"{base}/cancel", {"amount": "5000", "checksum": "15000"})
    assert stale.status_code == 409  # reviewed against a balance that has changed since: nothing is sent
    async with services.sessions() as session:
        assert (await session.scalar(select(Payment.cancel_amount).where(Payment.imp_uid == imp_uid))) == 5000
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.cancel", AuditEntry.ok))
        assert entry is not None and entry.actor == "manager@a.test" and entry.target == imp_uid


async def test_a_viewer_or_the_operator_cannot_cancel_even_without_the_button(
    console_http, shops: Shops, services: Services
) -> None:
    imp_uid = await seed_payment(services, shops.a.id, "order-1")
    for email in ("viewer@a.test", "ops@tollway.test"):
        browser = console_http()
        await browser.sign_in(email)
        page = await browser.get(f"/console/m/{shops.a.user_code}/payments/{imp_uid}")
        assert page.status_code == 200 and "/cancel/review" not in page.text
        for path in ("cancel/review", "cancel"):
            refused = await browser.post(
                f"/console/m/{shops.a.user_code}/payments/{imp_uid}/{path}", {"checksum": "1004"}
            )
            assert refused.status_code == 403
    async with services.sessions() as session:
        assert (await session.scalar(select(Payment.cancel_amount).where(Payment.imp_uid == imp_uid))) == 0
