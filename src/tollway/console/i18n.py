"""Korean first, English available: gettext catalogs (Babel ``.po`` files, compiled in memory when
first used), KST dates and won amounts.

Templates are written with English message ids, and ``locale/ko/LC_MESSAGES/messages.po`` holds
their Korean. ``pybabel extract -F babel.cfg`` finds the ids (see ``docs/console.md``);
``tests/console/test_i18n.py`` fails when a template's text has no Korean.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from tollway.clock import KST

LOCALES = ("ko", "en")
DEFAULT = "ko"
CATALOGS = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    with (CATALOGS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def pick(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins, then the console's cookie, then the browser's first known language; Korean
    when none is known."""
    for value in (query_lang, cookie_lang):
        if value in LOCALES:
            return value
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return DEFAULT


def won(amount: int | None) -> str:
    """``₩15,000``: KRW has no minor unit."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}₩{format_decimal(abs(amount), locale='ko_KR')}"


def kst(value: datetime | None, *, seconds: bool = True) -> str:
    if value is None:
        return ""
    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
