"""Request bodies as V1 accepts them: JSON or form (urlencoded or multipart), unknown fields ignored.

Money is strict: in JSON an ``amount`` must be a number (a string is refused, as the V1 SDK and
API refuse it). A form can only carry strings, so there digit strings are read as integers.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from starlette.requests import ClientDisconnect

from tollway.api.envelope import describe_validation
from tollway.api.fields import KRW, WholeNumber, refuse_nul
from tollway.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
_INDEXED = re.compile(r"^(.+)\[(\d*)\]$")
#: i'mport's text for a body it cannot read at all (the reason goes to ``Tollway-Detail``)
UNREADABLE = "요청 본문을 해석할 수 없습니다."
__all__ = ["KRW", "UNREADABLE", "V1Body", "WholeNumber", "body_docs", "parse_body", "read_body"]


class V1Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    _no_nul = field_validator("*", mode="before")(refuse_nul)


def form_to_dict(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a=1&b[]=x&b[]=y&c[0]=z`` → ``{"a": "1", "b": ["x", "y"], "c": ["z"]}``."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        match = _INDEXED.match(key)
        if match:
            data.setdefault(match.group(1), [])
            if isinstance(data[match.group(1)], list):
                data[match.group(1)].append(value)
        elif key in data:
            existing = data[key]
            data[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[key] = value
    return data


async def read_raw(request: Request) -> bytes:
    limit: int = request.app.state.services.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("요청 본문이 너무 큽니다.", detail=f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge("요청 본문이 너무 큽니다.", detail=f"the limit is {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidRequest(UNREADABLE, detail="the client went away before sending the whole body") from None
    return b"".join(chunks)


async def parse_body(request: Request) -> tuple[dict[str, Any], bool]:
    """The body as a dict, and whether it came as a form."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        return form_to_dict([(k, v) for k, v in form.multi_items() if isinstance(v, str)]), True
    raw = await read_raw(request)
    if ctype == "application/x-www-form-urlencoded":
        try:
            return form_to_dict(parse_qsl(raw.decode(), keep_blank_values=True)), True
        except UnicodeDecodeError:
            raise InvalidRequest(UNREADABLE, detail="the form body is not valid UTF-8") from None
    if ctype and ctype != "application/json" and not ctype.endswith("+json") and ctype != "text/plain":
        raise InvalidRequest(
            UNREADABLE,
            detail=f"unsupported Content-Type {ctype[:40]!r}: send JSON or application/x-www-form-urlencoded",
        )
    if not raw.strip():
        return {}, False
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            UNREADABLE, detail=f"the body is not valid JSON ({exc.msg} at character {exc.pos})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(UNREADABLE, detail="the JSON body must be an object")
    return data, False


async def read_body(request: Request, model: type[M]) -> M:
    data, is_form = await parse_body(request)
    try:
        return model.model_validate(data, context={"form": is_form})
    except ValidationError as exc:
        message, detail = describe_validation(list(exc.errors()))
        raise InvalidRequest(message, detail=detail) from None


def body_docs(model: type[BaseModel], *, form: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring that a route takes ``model`` as JSON, and as a form unless
    ``form`` is false (a body with nested objects, which a form cannot carry)."""
    schema = model.model_json_schema()
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"requestBody": {"required": True, "content": content}}
