"""Identity verification (``/certifications``): V1 serves it through a certification provider
(Danal, KCP), and Toss Payments' core API offers none, so Tollway has no certification provider.

No certification ever exists here: a lookup or a deletion answers i'mport's own "not found", and
the OTP flow (``/certifications/otp/*``) answers that no provider is configured.
"""

from __future__ import annotations

from typing import NoReturn

from tollway.errors import InvalidRequest, NotFound

NOT_FOUND = "인증결과가 존재하지 않습니다."
NO_PROVIDER = "본인인증 서비스를 제공하는 PG사 설정 정보를 찾을 수 없습니다."
NO_PROVIDER_DETAIL = (
    "Tollway has no certification provider: Toss Payments' core API offers no identity verification "
    "(i'mport serves it through danal or kcp_v2)"
)


def find(imp_uid: str) -> NoReturn:
    """``GET`` and ``DELETE /certifications/{imp_uid}``: there is nothing to find or delete."""
    raise NotFound(NOT_FOUND, detail=NO_PROVIDER_DETAIL)


def request_otp() -> NoReturn:
    """``POST /certifications/otp/request`` and ``…/otp/confirm/{imp_uid}``."""
    raise InvalidRequest(NO_PROVIDER, detail=NO_PROVIDER_DETAIL)
