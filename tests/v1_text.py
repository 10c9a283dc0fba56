"""What a V1 answer tells: i'mport's Korean ``message`` and Tollway's ``Tollway-Detail`` header."""

from __future__ import annotations

import re

import httpx

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def said(answer: httpx.Response) -> str:
    """The message and the detail together, for asserting on Tollway's English explanation."""
    return f"{answer.json()['message']} | {answer.headers.get('tollway-detail', '')}"


def korean_only(message: str | None) -> bool:
    """A V1 message is i'mport's Korean text alone: no English explanation in parentheses."""
    return message is not None and bool(_HANGUL.search(message)) and not re.search(r"\([A-Za-z ,;:'\"=.-]+\)$", message)
