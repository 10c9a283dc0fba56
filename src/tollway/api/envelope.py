"""V1's envelope ``{code, message, response}`` for every answer, and the one handler for every error."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tollway import v1texts
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


def describe_validation(errors: list[Any]) -> tuple[str, str]:
    """Pydantic's errors as i'mport's Korean text naming the first parameter refused (``message``),
    and every error in English for a developer (``detail``)."""
    parts = []
    for error in errors:
        where = param_name(error.get("loc", ()))
        msg = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{where} is required" if error.get("type") == "missing" else f"{where}: {msg}")
    detail = "; ".join(parts)
    if not errors:
        return v1texts.INVALID.format(p="request"), detail
    # A union (``notice_url``: a string or a list) fails once per branch: the branch of the right
    # type says what is wrong, not "should be a string".
    first = param_name(errors[0].get("loc", ()))
    same = [e for e in errors if param_name(e.get("loc", ())) == first]
    chosen = next((e for e in same if not str(e.get("type", "")).endswith("_type")), same[0])
    return korean_text(chosen), detail


def param_name(loc: Any) -> str:
    """``("body", "schedules", 0, "amount")`` → ``schedules[0].amount``; union branches dropped."""
    names = [x for x in loc if x not in ("body", "query", "path", "header")]
    if not names:
        return "request"
    name = str(names[0])
    if len(names) > 2 and isinstance(names[1], int) and isinstance(names[2], str):
        name = f"{name}[{names[1]}].{names[2]}"
    return name


_TEXTS = {
    "missing": v1texts.MISSING,
    "string_too_short": v1texts.MISSING,  # an empty required string is a missing one, as i'mport has it
    "integer": v1texts.INTEGER,
    "int_type": v1texts.INTEGER,
    "int_parsing": v1texts.INTEGER,
    "int_from_float": v1texts.INTEGER,
    "int_parsing_size": v1texts.OUT_OF_RANGE,
    "greater_than": v1texts.OUT_OF_RANGE,
    "greater_than_equal": v1texts.OUT_OF_RANGE,
    "less_than": v1texts.OUT_OF_RANGE,
    "less_than_equal": v1texts.OUT_OF_RANGE,
    "string_too_long": v1texts.TOO_LONG,
    "string_type": v1texts.STRING,
    "bool_type": v1texts.BOOLEAN,
    "bool_parsing": v1texts.BOOLEAN,
    "string_pattern_mismatch": v1texts.CHARACTERS,
    "control_characters": v1texts.CHARACTERS,
    "url": v1texts.URL,
    "token_keys": v1texts.KEY_PAIR_MISSING,
}


def korean_text(error: Any) -> str:
    kind = str(error.get("type", ""))
    template = _TEXTS.get(kind, v1texts.INVALID)
    if error.get("input", ...) is None and kind not in ("token_keys",):
        template = v1texts.MISSING  # a null is a missing parameter
    max_length = (error.get("ctx") or {}).get("max_length", "")
    return template.format(p=param_name(error.get("loc", ())), n=max_length)


_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TRAILING_ENGLISH = re.compile(r"\s+\(([^()\uac00-\ud7a3]*(?:\([^()]*\)[^()\uac00-\ud7a3]*)*)\)\s*$")
#: An English message that starts with a parameter's name ("schedule_at must be in the future")
_NAMED = re.compile(r"^([a-z][a-z0-9_]*)(?:\[\])?[ :]")
_PARAMS = frozenset(
    {"amount", "page", "limit", "name", "identifier", "type", "currency", "expiry", "birth", "sorting"}
    | {"from", "to", "reason", "state", "seconds", "schedules", "checksum"}
)
#: When a message has no Korean at all: i'mport's general text for its class, the English to detail
_GENERAL = {
    400: "요청 파라메터가 올바르지 않습니다.",
    401: "인증에 실패하였습니다.",
    404: "요청하신 정보를 찾을 수 없습니다.",
    413: "요청 본문이 너무 큽니다.",
    503: "일시적으로 요청을 처리할 수 없습니다. 잠시 후 다시 시도해주세요.",
}


def korean_only(message: str, detail: str | None, status: int) -> tuple[str, str | None]:
    """``message`` as i'mport's Korean text alone: a trailing English explanation in parentheses
    (``"… 누락되었습니다. (give both)"``) moves to ``detail``, and a message with no Korean at all
    becomes the general text of its status with the English as ``detail``. Services may phrase an
    error for a developer; the V1 envelope keeps only what clients compare."""
    if not _HANGUL.search(message):
        named = _NAMED.match(message)
        if status == 400 and named and ("_" in named.group(1) or named.group(1) in _PARAMS):
            general = v1texts.INVALID.format(p=named.group(1))
        else:
            general = _GENERAL.get(status, "요청을 처리할 수 없습니다.")
        return general, "; ".join(x for x in (message, detail) if x)
    match = _TRAILING_ENGLISH.search(message)
    if match is None:
        return message, detail
    return message[: match.start()], "; ".join(x for x in (match.group(1), detail) if x)


async def render_error(request: Request, exc: TollwayError) -> Response:
    """The envelope of a ``TollwayError``: i'mport's text as ``message``, the rest as the detail."""
    del request  # the same signature as an exception handler's
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    message, detail = korean_only(exc.message, exc.detail, exc.http_status)
    return fail(exc.http_status, exc.code, message, headers, detail=detail)


def install_error_handlers(app: FastAPI) -> None:
    async def tollway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TollwayError)
        return await render_error(request, exc)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        message, detail = describe_validation(list(exc.errors()))
        return fail(400, 1, message, detail=detail)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {
            404: "요청하신 API를 찾을 수 없습니다.",  # (i'mport's text for a path it does not serve)
            405: "허용되지 않는 HTTP METHOD입니다.",
        }
        text, detail = korean_only(message.get(exc.status_code, str(exc.detail)), None, exc.status_code)
        return fail(exc.status_code, -1, text, getattr(exc, "headers", None), detail=detail)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
        return fail(500, -1, "서버 내부 오류가 발생했습니다.", detail="internal error; it has been logged")

    app.add_exception_handler(TollwayError, tollway_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
