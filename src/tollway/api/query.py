"""Array query parameters in every spelling V1 clients use: ``x[]=``, ``x[0]=``, repeated ``x=``."""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

_INDEXED = re.compile(r"^(.+)\[\d*\]$")


def query_list(params: QueryParams, name: str) -> list[str]:
    values: list[str] = []
    for key, value in params.multi_items():
        match = _INDEXED.match(key)
        if (match.group(1) if match else key) == name and value != "":
            values.append(value)
    return values
