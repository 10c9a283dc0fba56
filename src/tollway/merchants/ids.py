"""Identifiers handed to merchants. All random, from ``secrets``."""

from __future__ import annotations

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def _digits(n: int) -> str:
    return f"{secrets.randbelow(10**n):0{n}d}"


def new_user_code() -> str:
    """``imp`` + 8 digits: what ``IMP.init`` takes."""
    return "imp" + _digits(8)


def new_imp_key() -> str:
    """16 digits, the shape of i'mport's REST API keys."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def new_imp_secret() -> str:
    """80 letters and digits, the shape of i'mport's REST API secrets."""
    return "".join(secrets.choice(_ALNUM) for _ in range(80))


def new_channel_key() -> str:
    return "channel-key-" + secrets.token_hex(16)


def new_access_token() -> str:
    """40 hex characters, the shape of V1's access tokens."""
    return secrets.token_hex(20)
