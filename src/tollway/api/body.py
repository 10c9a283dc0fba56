"""Request bodies as V1 accepts them: JSON or form (urlencoded or multipart), unknown fields ignored.

Money is strict: in JSON an ``amount`` must be a number (a string is refused, as the V1 SDK and
API refuse it). A form can only carry strings, so there digit strings are read as integers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo
from starlette.requests import ClientDisconnect

from tollway.api.envelope import describe_validation
from tollway.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
_INT = re.compile(r"-?\d+")
_INDEXED = re.compile(r"^(.+)\[(\d*)\]$")


def _strict_int(what: str) -> Any:
    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be {what}, not a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            if info.context and info.context.get("form") and _INT.fullmatch(value.strip()):
                return int(value.strip())
            raise ValueError(f"must be {what}, not a string ({value[:20]!r})")
        raise ValueError(f"must be {what}")

    return check


#: An integer KRW amount; refuses strings in JSON and fractions everywhere.
KRW = Annotated[int, BeforeValidator(_strict_int("an integer number of KRW"))]
#: Any other integer parameter (months, counts), with the same rules.
WholeNumber = Annotated[int, BeforeValidator(_strict_int("an integer"))]


class V1Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


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
        raise PayloadTooLarge(f"요청 본문이 너무 큽니다. (the body is {declared} bytes; the limit is {limit})")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"요청 본문이 너무 큽니다. (the limit is {limit} bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidRequest("the client went away before sending the whole body") from None
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
            raise InvalidRequest("the form body is not valid UTF-8") from None
    if ctype and ctype != "application/json" and not ctype.endswith("+json") and ctype != "text/plain":
        raise InvalidRequest(
            f"unsupported Content-Type {ctype!r}: send application/json or application/x-www-form-urlencoded"
        )
    if not raw.strip():
        return {}, False
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the JSON body must be an object")
    return data, False


async def read_body(request: Request, model: type[M]) -> M:
    data, is_form = await parse_body(request)
    try:
        return model.model_validate(data, context={"form": is_form})
    except ValidationError as exc:
        raise InvalidRequest(describe_validation(list(exc.errors()))) from None


def body_docs(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring that a route takes ``model`` as JSON or as a form."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }
