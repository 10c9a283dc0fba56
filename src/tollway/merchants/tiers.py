"""Sub-merchant tiers (V1's agency accounts: ``GET /tiers/{tier_code}`` and the ``Tier`` header).

Tollway has no sub-merchant tiers, so every tier code is one i'mport would not know: the lookup
answers its 404, and a call that names a tier in the ``Tier`` header is refused the same way
rather than served as the agency itself (which would show or charge the wrong merchant's data).
"""

from __future__ import annotations

from typing import NoReturn

from tollway.errors import NotFound

UNKNOWN_TIER = "등록되지 않았거나 이미 삭제된 하위 상점(Tier) 코드입니다."
DETAIL = "Tollway has no sub-merchant tiers: call without the Tier header"


def find(tier_code: str) -> NoReturn:
    """``GET /tiers/{tier_code}``."""
    raise NotFound(UNKNOWN_TIER, detail=DETAIL)


def check_header(value: str | None) -> None:
    """A ``Tier`` header with a value names a sub-merchant that does not exist here."""
    if value is not None and value.strip():
        raise NotFound(UNKNOWN_TIER, detail=DETAIL)
