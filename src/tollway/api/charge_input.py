"""The charge terms every V1 charge body shares (onetime, again, each schedule): checked once, here."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from tollway import v1texts
from tollway.payments.approve import ChargeOptions
from tollway.payments.ledger import PaymentRequest


def check_terms(
    amount: int, tax_free: int | None, currency: str | None, card_quota: int | None, *, of: str = ""
) -> tuple[int, int]:
    """(tax_free, card_quota) with their defaults; a 400 naming the field otherwise. ``of`` names the
    entry in a list (a schedule's merchant_uid)."""
    where = f"{of}: " if of else ""
    if currency not in (None, "", "KRW"):
        raise v1texts.invalid("currency", f"{where}must be KRW for tosspayments")
    free = tax_free or 0
    if free > amount:
        raise v1texts.invalid("tax_free", f"{where}{free} cannot exceed amount ({amount})")
    quota = card_quota or 0
    if quota == 1:
        raise v1texts.invalid("card_quota", f"{where}must be 0 (lump sum) or 2 to 12 months")
    return free, quota


def payment_request(
    body: Any,
    request: Request,
    *,
    customer_uid: str | None = None,
    usage: str | None = None,
    pay_method: str = "card",
) -> PaymentRequest:
    """The ledger's request from a onetime, again or vbanks body (``BuyerFields`` plus the charge
    terms; a body without ``currency`` or ``card_quota`` has the defaults)."""
    currency, card_quota = getattr(body, "currency", None), getattr(body, "card_quota", None)
    tax_free, quota = check_terms(body.amount, body.tax_free, currency, card_quota)
    return PaymentRequest(
        merchant_uid=body.merchant_uid,
        amount=body.amount,
        name=body.name,
        pay_method=pay_method,
        channel="api",
        tax_free=tax_free,
        vat_amount=body.vat_amount,
        buyer_name=body.buyer_name,
        buyer_email=body.buyer_email,
        buyer_tel=body.buyer_tel,
        buyer_addr=body.buyer_addr,
        buyer_postcode=body.buyer_postcode,
        custom_data=body.custom_data,
        user_agent=request.headers.get("user-agent"),
        notice_urls=body.notice_urls(),
        card_quota=quota,
        customer_uid=customer_uid,
        customer_uid_usage=usage,
    )


def charge_options(body: Any, request: Request) -> ChargeOptions:
    return ChargeOptions(
        interest_free=bool(body.interest_free_by_merchant),
        use_card_point=bool(body.use_card_point),
        buyer_ip=body.browser_ip or (request.client.host if request.client else None),
    )
