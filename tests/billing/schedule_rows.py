"""Due schedules written straight into the table, for worker tests that need many at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def due_schedule(merchant_id: int, merchant_uid: str, at: datetime, amount: int = 1000) -> dict[str, Any]:
    """A ``payment_schedules`` row of customer ``cu-1`` (sandbox MID ``tosstest``), due at ``at``."""
    return {
        "merchant_id": merchant_id,
        "customer_uid": "cu-1",
        "merchant_uid": merchant_uid,
        "schedule_at": at,
        "due_at": at,
        "amount": amount,
        "tax_free": 0,
        "currency": "KRW",
        "card_quota": 0,
        "interest_free": False,
        "name": "정기구독",
        "pg_provider": "tosspayments",
        "pg_id": "tosstest",
        "schedule_status": "scheduled",
        "created_at": at,
        "updated_at": at,
    }
