"""The operator: every merchant with its volume, creating one, and reading any console."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.console.conftest import Shops
from tests.ledger_helpers import seed_payment
from tollway.db.models import Merchant, Payment
from tollway.services import Services


async def test_the_operator_sees_every_merchant_with_its_volume_and_creates_one(
    console_http, shops: Shops, services: Services
) -> None:
    imp_uid = await seed_payment(services, shops.b.id, "b-1", amount=7000)
    async with services.sessions() as session:  # a live payment: the operator's volume is live money
        await session.execute(update(Payment).where(Payment.imp_uid == imp_uid).values(sandbox=False))
        await session.commit()
    browser = console_http()
    await browser.sign_in("ops@tollway.test")
    home = await browser.get("/console")
    assert home.headers["location"] == "/console/operator"
    page = await browser.get("/console/operator")
    row = page.text.split(shops.b.user_code)[1].split("</tr>")[0]
    assert "₩7,000" in row
    created = await browser.post("/console/operator/merchants", {"name": "New Shop", "owner_email": "boss@new.test"})
    assert created.status_code == 200 and "imp_secret" in created.text
    secret = created.text.split('class="secret">')[1].split("<")[0]
    password = created.text.split('class="secret">')[2].split("<")[0]
    assert len(secret) == 80 and secret not in (await browser.get("/console/operator")).text
    async with services.sessions() as session:
        assert await session.scalar(select(Merchant.id).where(Merchant.name == "New Shop")) is not None
    assert (await console_http().sign_in("boss@new.test", password)).status_code == 303


async def test_only_the_operator_reaches_the_operator_view(console_http, shops: Shops) -> None:
    browser = console_http()
    await browser.sign_in("owner@a.test")
    assert (await browser.get("/console/operator")).status_code == 403
    assert (await browser.post("/console/operator/merchants", {"name": "X"})).status_code == 403
    operator = console_http()
    await operator.sign_in("ops@tollway.test")
    assert (await operator.get(f"/console/m/{shops.a.user_code}/payments")).status_code == 200
    assert "read-only" in (await operator.get(f"/console/m/{shops.a.user_code}", params={"lang": "en"})).text
