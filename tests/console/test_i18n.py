"""Korean first, English available: every text of the console has its Korean, and the language is
chosen by ``?lang=``, then the console's cookie, then the browser's languages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.console.conftest import Shops
from tollway.console import i18n

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "src" / "tollway" / "console"


def test_every_text_of_the_console_has_its_korean() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    wanted = {message for _file, _line, message, _comments, _context in extract_from_dir(str(CONSOLE), method_map)}
    assert len(wanted) > 200
    with (i18n.CATALOGS / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    korean = {m.id: m.string for m in catalog if m.id}
    missing = sorted(str(m) for m in wanted if not korean.get(m))
    assert missing == [], "add their Korean to the catalog (docs/console.md, Translations)"


def test_the_language_is_asked_then_remembered_then_the_browsers() -> None:
    assert i18n.pick(None, None, None) == "ko"
    assert i18n.pick(None, None, "en-US,en;q=0.9") == "en"
    assert i18n.pick(None, None, "fr-FR,ko;q=0.8,en;q=0.5") == "ko"
    assert i18n.pick(None, "en", "ko-KR") == "en"
    assert i18n.pick("ko", "en", "en") == "ko"
    assert i18n.pick("xx", None, None) == "ko"


def test_won_and_kst() -> None:
    assert i18n.won(1234567) == "₩1,234,567" and i18n.won(-500) == "-₩500" and i18n.won(0) == "₩0"
    assert i18n.kst(datetime(2026, 1, 1, 15, 30, tzinfo=UTC)) == "2026-01-02 00:30:00"


async def test_pages_are_korean_unless_english_is_asked_for(console_http, shops: Shops) -> None:
    browser = console_http()
    korean = await browser.http.get("/console/sign-in")
    assert '<html lang="ko">' in korean.text and "로그인" in korean.text
    english = await browser.http.get("/console/sign-in", params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert "tollway_console_lang=en" in english.headers["set-cookie"]
    again = await browser.http.get("/console/sign-in")  # the cookie remembers
    assert '<html lang="en">' in again.text
    other = console_http()
    by_browser = await other.http.get("/console/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in by_browser.text


def test_templates_keep_every_script_in_static_files() -> None:
    """So that a strict ``script-src 'self'`` policy serves the console: no inline script, no
    inline event handler, no ``javascript:`` URL, no inline style attribute."""
    import re

    for template in (CONSOLE / "templates").glob("*.html"):
        text = template.read_text()
        for script in re.findall(r"<script[^>]*>", text):
            assert " src=" in script, f"{template.name}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: inline event handler"
        assert "javascript:" not in text.lower(), f"{template.name}: javascript: URL"
        assert " style=" not in text, f"{template.name}: inline style"
