"""V1's envelope ``{code, message, response}`` for every answer, and the one handler for every error."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tollway.errors import TollwayError, TooManyRequests

log = structlog.get_logger("tollway.api")
JSON = "application/json; charset=utf-8"
T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """Every V1 answer. ``code`` 0 means success; ``message`` is null on success."""

    code: int
    message: str | None
    response: T | None


def ok(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps({"code": 0, "message": None, "response": data}), status_code=status, media_type=JSON)


DETAIL_HEADER = "Tollway-Detail"


def fail(
    status: int, code: int, message: str, headers: dict[str, str] | None = None, *, detail: str | None = None
) -> Response:
    """An error envelope. ``detail`` (Tollway's own explanation) travels in the ``Tollway-Detail``
    header, never in ``message``, which stays i'mport's text."""
    body = orjson.dumps({"code": code, "message": message, "response": None})
    if detail:
        headers = {**(headers or {}), DETAIL_HEADER: header_safe(detail)}
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def header_safe(text: str, limit: int = 512) -> str:
    """``text`` as a header value: one line of printable ASCII (other characters as ``?``), bounded."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text.replace("\r", " ").replace("\n", " "))
    return cleaned[:limit]


def describe_validation(errors: list[Any]) -> str:
    """Pydantic's errors as one sentence a merchant can act on: which parameter, what was expected."""
    parts = []
    for error in errors:
        loc = [str(x) for x in error.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        if error.get("type") == "missing":
            parts.append(f"{where} is required")
        else:
            msg = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}")
    return "invalid parameters: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    async def tollway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TollwayError)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return fail(exc.http_status, exc.code, exc.message, headers, detail=exc.detail)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return fail(400, 1, describe_validation(list(exc.errors())))

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {
            404: "요청하신 API를 찾을 수 없습니다. (no such endpoint)",
            405: "허용되지 않는 HTTP METHOD입니다.",
        }
        return fail(exc.status_code, -1, message.get(exc.status_code, str(exc.detail)), getattr(exc, "headers", None))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
        return fail(500, -1, "서버 내부 오류가 발생했습니다. (internal error; it has been logged)")

    app.add_exception_handler(TollwayError, tollway_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
