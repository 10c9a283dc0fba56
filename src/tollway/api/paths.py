"""Tolerating V1 clients' URL habits: a doubled leading slash and a trailing slash."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")
_RAW_SLASHES = re.compile(rb"/{2,}")


def normalize(path: str) -> str:
    path = _SLASHES.sub("/", path).rstrip("/")
    return path or "/"


class NormalizePath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if "//" in path or (len(path) > 1 and path.endswith("/")):
                raw: bytes = scope.get("raw_path") or path.encode()
                raw = _RAW_SLASHES.sub(b"/", raw).rstrip(b"/") or b"/"
                scope = {**scope, "path": normalize(path), "raw_path": raw}
        await self.app(scope, receive, send)
