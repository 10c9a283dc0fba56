"""What a route may ask for: the services, a session, and the calling merchant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers, QueryParams

from tollway.errors import Unauthorized
from tollway.merchants import tiers
from tollway.merchants.tokens import NO_TOKEN, Principal
from tollway.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _services(request: Request) -> Services:
    """``services_of`` as a dependency. A coroutine, because FastAPI runs a plain function dependency
    on its thread pool: a thread hand-off per request for an attribute read (docs/benchmarks.md)."""
    return services_of(request)


def extract_token(headers: Headers, query: QueryParams) -> str | None:
    """``Authorization: <token>``, ``Authorization: <any scheme> <token>``, ``X-ImpTokenHeader``,
    then ``?_token=``. ``Authorization`` wins when several are sent (V1)."""
    authorization = headers.get("authorization")
    if authorization:
        parts = authorization.split()
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            return parts[1]
        return None
    return headers.get("x-imptokenheader") or query.get("_token") or None


#: where ``AuthenticateFirst`` leaves the principal it resolved, in the request's ASGI scope
PRINCIPAL_KEY = "tollway.principal"


async def current_principal(request: Request) -> Principal:
    """The calling merchant. Under a V1 prefix ``AuthenticateFirst`` has already checked the token
    and the ``Tier`` header for this very request and left the principal in the scope: that check
    is the one made, not repeated (the same cache, the same 3 s bound on a revoked key)."""
    resolved: Principal | None = request.scope.get(PRINCIPAL_KEY)
    if resolved is not None:
        return resolved
    token = extract_token(request.headers, request.query_params)
    if not token:
        raise Unauthorized(NO_TOKEN)
    principal = await services_of(request).tokens.authenticate(token)
    tiers.check_header(request.headers.get("tier"))  # no sub-merchant tiers here
    return principal


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with services_of(request).sessions() as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For routes that only read. On PostgreSQL each statement runs on its own (``single()``):
    under READ COMMITTED every statement of a transaction takes a fresh snapshot anyway, so the
    BEGIN and ROLLBACK around a lookup bought nothing but two round trips."""
    async with services_of(request).sessions.single() as session:
        yield session


ServicesDep = Annotated[Services, Depends(_services)]
SessionDep = Annotated[AsyncSession, Depends(db_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(read_session)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
