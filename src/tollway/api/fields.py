"""The field types every V1 request shares: one definition of each limit.

Bodies (``api.schemas``, ``api.schemas_more``), path segments and queries take their types from
here, so a limit is written once and shows in ``/openapi.json`` as ``maximum``/``maxLength``:

- money (``KRW``): an integer number up to 2^53 − 1 (the largest a JavaScript client reads
  exactly); a string in JSON, a boolean or a fraction is refused; ``1e308`` is out of range;
- UNIX timestamps (``UnixTime``): 0 to the year 9999 (what a ``datetime`` holds);
- identifiers (``imp_uid`` 32, ``merchant_uid`` 40, ``customer_uid`` 80, ``customer_id`` 300
  characters, the database's columns): no control characters;
- names and buyer fields (``OrderName``, ``PersonName``…): control characters become spaces (they are shown to
  people; a NUL cannot even be stored by PostgreSQL);
- ``notice_url``: an absolute ``http(s)`` URL without spaces or control characters (CR/LF);
- ``page``: 1 to ``MAX_PAGE``.

Errors carry pydantic error types that ``api.texts`` turns into i'mport's Korean texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

from annotated_types import Ge, Le, MaxLen
from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from tollway import v1texts
from tollway.errors import InvalidRequest
from tollway.webhooks.urls import url_problem

#: The largest amount: the largest integer a JavaScript client reads exactly
MAX_KRW = 2**53 - 1
#: UNIX seconds up to the year 9999, as far as a ``datetime`` goes
MAX_UNIX = 253_370_764_800
#: The largest page number any listing takes (an offset of at most 10^9 rows)
MAX_PAGE = 1_000_000
IMP_UID_MAX = 32
MERCHANT_UID_MAX = 40
CUSTOMER_UID_MAX = 80
CUSTOMER_ID_MAX = 300
NOTICE_URL_MAX = 2048
#: A regular expression for identifiers (and ``/openapi.json``): no control characters
NO_CONTROLS = r"^[^\u0000-\u001f\u007f-\u009f]+$"
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]")
_INT = re.compile(r"-?\d+")


def strict_int(value: Any, info: ValidationInfo) -> Any:
    """Integers only: a number in JSON (``1000.0`` is 1000), digits in a form."""
    if isinstance(value, bool):
        raise PydanticCustomError("integer", "must be an integer, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise PydanticCustomError("integer", "must be an integer, not a fraction")
    if isinstance(value, str):
        text = value.strip()
        if info.context and info.context.get("form") and _INT.fullmatch(text):
            if len(text) > 30:  # far beyond any limit, and int() of thousands of digits is refused
                raise PydanticCustomError("int_parsing_size", "is out of range")
            return int(text)
        raise PydanticCustomError("integer", "must be an integer number, not a string")
    raise PydanticCustomError("integer", "must be an integer")


def drop_controls(value: object) -> object:
    """Names and buyer fields are shown to people: control characters become spaces."""
    return _CONTROL.sub(" ", value).strip() if isinstance(value, str) else value


def refuse_nul(value: object) -> object:
    """No string anywhere may hold a NUL: PostgreSQL cannot store one."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("control_characters", "must not contain control characters")
    if isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


def _absolute_http(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise PydanticCustomError("url", "must be an absolute http(s) URL ({problem})", {"problem": problem})
    return value


#: An integer KRW amount (0 to 2^53 − 1 before each field's own bound)
KRW = Annotated[int, Ge(0), Le(MAX_KRW), BeforeValidator(strict_int)]
#: Any other integer parameter (months, counts, seconds), with the same rules
WholeNumber = Annotated[int, Ge(-MAX_KRW), Le(MAX_KRW), BeforeValidator(strict_int)]
#: Installment months: 0 (일시불) or 2–12 (1 is refused where the terms are checked)
CardQuota = Annotated[int, Ge(0), Le(12), BeforeValidator(strict_int)]
#: UNIX seconds (a timestamp a ``datetime`` can hold)
UnixTime = Annotated[int, Ge(0), Le(MAX_UNIX), BeforeValidator(strict_int)]
ImpUid = Annotated[str, StringConstraints(min_length=1, max_length=IMP_UID_MAX, pattern=NO_CONTROLS)]
MerchantUid = Annotated[str, StringConstraints(min_length=1, max_length=MERCHANT_UID_MAX, pattern=NO_CONTROLS)]
CustomerUid = Annotated[str, StringConstraints(min_length=1, max_length=CUSTOMER_UID_MAX, pattern=NO_CONTROLS)]
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=CUSTOMER_ID_MAX, pattern=NO_CONTROLS)]
NoticeUrl = Annotated[str, MaxLen(NOTICE_URL_MAX), AfterValidator(_absolute_http)]


# Names and buyer fields: control characters dropped, then at most so many characters (the columns)
OrderName = Annotated[str, BeforeValidator(drop_controls), MaxLen(200)]
PersonName = Annotated[str, BeforeValidator(drop_controls), MaxLen(100)]
Email = Annotated[str, BeforeValidator(drop_controls), MaxLen(200)]
Tel = Annotated[str, BeforeValidator(drop_controls), MaxLen(40)]
Address = Annotated[str, BeforeValidator(drop_controls), MaxLen(400)]
Postcode = Annotated[str, BeforeValidator(drop_controls), MaxLen(20)]
#: Short codes and free words (``pg``, ``channel_key``, ``currency``, ``reason``…): no NUL, bounded
Short = Annotated[str, MaxLen(100)]


# Path segments and queries: the same limits (a 10,000-character customer_uid is a 400).
ImpUidPath = Annotated[str, Path(max_length=IMP_UID_MAX, pattern=NO_CONTROLS, description="포트원 거래고유번호")]
MerchantUidPath = Annotated[str, Path(max_length=MERCHANT_UID_MAX, pattern=NO_CONTROLS, description="고객사 주문번호")]
CustomerUidPath = Annotated[
    str, Path(max_length=CUSTOMER_UID_MAX, pattern=NO_CONTROLS, description="구매자 고유번호 (빌링키)")
]
StatusPath = Annotated[str, Path(description="ready, paid, cancelled, failed (or all)")]
PageQuery = Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="1부터 시작. 기본값 1")]
LimitQuery = Annotated[int | None, Query(ge=1, le=1000, description="최대 1000건, 기본값 20건")]
UnixQuery = Annotated[int | None, Query(ge=0, le=MAX_UNIX, description="UNIX seconds")]


def check_ids(name: str, values: Iterable[str], max_length: int) -> list[str]:
    """Identifiers from a query's array (``imp_uid[]``…), with the body's rules."""
    checked = list(values)
    for value in checked:
        if len(value) > max_length:
            raise InvalidRequest(
                v1texts.TOO_LONG.format(p=name, n=max_length), detail=f"{name}: at most {max_length} characters"
            )
        if _CONTROL.search(value):
            raise v1texts.invalid(name, "no control characters", v1texts.CHARACTERS)
    return checked


def array_query(name: str, max_length: int) -> dict[str, Any]:
    """The OpenAPI parameter of a query array read by hand (``imp_uid[]=…&imp_uid[]=…``)."""
    return {
        "name": f"{name}[]",
        "in": "query",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "maxItems": 100, "items": {"type": "string", "maxLength": max_length}},
    }
