"""Which webhook URLs can ever be delivered to: an absolute ``http(s)`` URL with a host, and no
spaces or control characters (a CR/LF would split the request line). ``notice_url`` is refused at
the request when it is not one; a stored URL that is not one (the merchant's setting from before
this rule, a database edit) fails its notification at once instead of retrying for days."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_CONTROL_OR_SPACE = re.compile(r"[\u0000-\u0020\u007f-\u009f]")


def url_problem(url: str) -> str | None:
    """Why ``url`` can never be delivered to, or ``None`` when it can."""
    if _CONTROL_OR_SPACE.search(url):
        return "the URL holds a space, a line break or another control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number (or out of range) raises here
    except ValueError:
        return "the URL cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "the URL is not an absolute http(s) URL"
    if not parts.hostname:
        return "the URL has no host"
    return None
