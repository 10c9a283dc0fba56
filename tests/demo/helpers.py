"""What the demo page sends its own server: its origin and the page token it was served with."""

from __future__ import annotations

import json
import re


def page_headers(page_html: str, base: str) -> dict[str, str]:
    match = re.search(r'<script type="application/json" id="demo-config">(.*?)</script>', page_html, re.S)
    assert match, "the demo page carries its config"
    token = json.loads(match.group(1))["pageToken"]
    return {"Origin": base, "X-Demo-Token": token, "Sec-Fetch-Site": "same-origin"}
