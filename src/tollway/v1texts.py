"""i'mport's Korean texts for a parameter it refuses: each names the parameter, as deployed V1
clients show them (``"amount 파라메터가 누락되었습니다."``). ``docs/compatibility.md`` has the table.

Every layer that refuses a parameter uses these (the API's validation, the services' own checks),
so one parameter gets one text wherever it is checked. The English detail goes in
``TollwayError.detail`` (the ``Tollway-Detail`` header), never in the text.
"""

from __future__ import annotations

from tollway.errors import InvalidRequest

MISSING = "{p} 파라메터가 누락되었습니다."
INTEGER = "{p}는 정수여야 합니다."
OUT_OF_RANGE = "{p}의 값이 허용 범위를 벗어났습니다."
TOO_LONG = "{p}는 최대 {n}자까지 입력할 수 있습니다."
STRING = "{p}는 문자열이어야 합니다."
BOOLEAN = "{p}는 true 또는 false여야 합니다."
CHARACTERS = "{p}에 사용할 수 없는 문자가 포함되어 있습니다."
URL = "{p}는 http:// 또는 https://로 시작하는 URL이어야 합니다."
INVALID = "{p} 파라메터가 올바르지 않습니다."
#: ``getToken`` names both keys together, as i'mport does
KEY_PAIR_MISSING = "imp_key, imp_secret 파라메터가 누락되었습니다."
PAST_LAST_PAGE = "데이터 범위를 넘어선 page입니다."


def invalid(param: str, detail: str | None = None, template: str = INVALID) -> InvalidRequest:
    """The 400 for ``param``: ``raise invalid("amount", "a positive integer", INTEGER)``."""
    return InvalidRequest(template.format(p=param), detail=f"{param}: {detail}" if detail else None)


def past_last_page(page: int, total: int) -> InvalidRequest:
    """The same answer on every paged listing for a page past the last one."""
    return InvalidRequest(PAST_LAST_PAGE, detail=f"page {page} is past the last page (total {total})")


def check_page(page: int, limit: int, total: int) -> None:
    """Page 1 is always there (an empty list); a later page needs rows before it."""
    if page > 1 and (page - 1) * limit >= total:
        raise past_last_page(page, total)
