"""A local webhook receiver for console tests: answers ``status`` (changeable) and keeps what it got."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import serving_app


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    got: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> PlainTextResponse:
        state.got.append(await request.body())
        return PlainTextResponse("ok" if state.status < 300 else "down", status_code=state.status)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        async with serving_app(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), sock) as base:
            state.url = f"{base}/hook"
            yield state
    finally:
        sock.close()
