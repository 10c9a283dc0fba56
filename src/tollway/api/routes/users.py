from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tollway.api.body import body_docs, read_body
from tollway.api.deps import PrincipalDep, ReadSessionDep, ServicesDep
from tollway.api.envelope import Envelope, ok
from tollway.api.schemas import GetTokenBody, PgSettingV1, TokenV1
from tollway.api.throttle import client_address
from tollway.clock import to_unix
from tollway.merchants import tiers
from tollway.merchants.service import list_channels

router = APIRouter(tags=["authenticate", "users"])


@router.post(
    "/users/getToken",
    summary="access_token 발급",
    description="A 30-minute token. Asking again while it is valid returns the same token; with one "
    "minute or less left, that call extends it by five minutes. Wrong key pair: HTTP 401. After a burst "
    "of wrong pairs from one address or for one key: HTTP 429 (with `Retry-After`) until the lockout ends.",
    responses={200: {"model": Envelope[TokenV1]}, 401: {"model": Envelope[None]}, 429: {"model": Envelope[None]}},
    openapi_extra=body_docs(GetTokenBody),
)
async def get_token(request: Request, services: ServicesDep) -> Response:
    body = await read_body(request, GetTokenBody)
    async with services.throttle.guard(f"api.addr:{client_address(request)}", f"api.key:{body.imp_key}"):
        issued = await services.tokens.issue(body.imp_key, body.imp_secret)
    tiers.check_header(request.headers.get("tier"))  # i'mport's Java client sends Tier to getToken too
    return ok(
        {
            "access_token": issued.access_token,
            "now": to_unix(issued.now),
            "expired_at": to_unix(issued.expired_at),
        }
    )


@router.get(
    "/users/pg",
    summary="PG 설정 정보 조회",
    description="One entry per channel and use: `payment` (the window) and, for API version 1.4 "
    "channels, `api_payment` (key-in, billing keys, again, schedules).",
    responses={200: {"model": Envelope[list[PgSettingV1]]}},
)
async def pg_settings(principal: PrincipalDep, session: ReadSessionDep) -> Response:
    entries: list[PgSettingV1] = []
    for channel in await list_channels(session, principal.merchant_id):
        kinds = ["payment", "api_payment"] if channel.api_version == "1.4" else ["payment"]
        entries.extend(
            {
                "pg_provider": channel.pg_provider,
                "pg_id": channel.mid,
                "sandbox": channel.sandbox,
                "type": kind,
                "channel_name": channel.channel_name,
                "channel_key": channel.channel_key,
            }
            for kind in kinds
        )
    return ok(entries)
