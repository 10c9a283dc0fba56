from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from tollway.api.paths import normalize
from tollway.api.query import query_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/", "/"), ("//payments/x", "/payments/x"), ("/payments/x/", "/payments/x"), ("///a//b///", "/a/b")],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_query_list_reads_every_spelling_in_order() -> None:
    params = QueryParams("imp_uid[]=a&imp_uid%5B%5D=b&imp_uid[0]=c&imp_uid=d&merchant_uid[]=m&imp_uid[]=")
    assert query_list(params, "imp_uid") == ["a", "b", "c", "d"]
    assert query_list(params, "merchant_uid") == ["m"]
