from __future__ import annotations

import secrets


def new_imp_uid() -> str:
    """``imp_`` + 12 digits, as in every V1 example."""
    return f"imp_{secrets.randbelow(10**12):012d}"


def new_cancellation_id() -> str:
    return secrets.token_urlsafe(16)
