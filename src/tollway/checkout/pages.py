"""The HTML of the hosted window: the hand-off to the PG's window, and the result page.

Values reach scripts only as JSON with ``<``, ``>``, ``&`` and the JS line separators escaped,
and HTML only through ``html.escape``.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response

TOSS_SDK = "https://js.tosspayments.com/v1"

STYLE = (
    "body{margin:0;font-family:-apple-system,'Apple SD Gothic Neo','Noto Sans KR',sans-serif;background:#fff;"
    "color:#191f28;display:flex;align-items:center;justify-content:center;min-height:100vh}"
    "main{text-align:center;padding:24px;max-width:420px}.muted{color:#8b95a1;font-size:13px}"
    ".error{color:#d22030}"
)


def script_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=ko><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def handoff(sdk_url: str, call: dict[str, Any], handoff_url: str) -> HTMLResponse:
    """Loads the PG's browser SDK and opens its window with ``call`` (clientKey, kind, method, params)."""
    return _page(
        "결제창",
        '<p id="status">결제창을 여는 중입니다…</p><p class="muted">Tollway</p>'
        f'<script type="application/json" id="call">{script_json(call)}</script>'
        f'<script src="{html.escape(sdk_url)}"></script><script src="{html.escape(handoff_url)}"></script>',
    )


def redirect_query(url: str, result: dict[str, Any]) -> str:
    values: dict[str, str] = {
        "imp_uid": result.get("imp_uid") or "",
        "merchant_uid": result.get("merchant_uid") or "",
        "imp_success": "true" if result.get("imp_success") else "false",
    }
    if result.get("customer_uid"):
        values["customer_uid"] = result["customer_uid"]
    if result.get("error_code"):
        values["error_code"] = str(result["error_code"])
        values["error_msg"] = str(result.get("error_msg") or "")
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{urlencode(values)}"


def deliver(mode: str, origin: str, redirect_url: str | None, result: dict[str, Any]) -> Response:
    """Redirect mode: to ``m_redirect_url`` with V1's query. Window mode: posted to the merchant
    page, and only to its origin."""
    if mode == "redirect" and redirect_url:
        return RedirectResponse(redirect_query(redirect_url, result), status_code=303)
    ok = bool(result.get("imp_success"))
    message = (
        "결제가 완료되었습니다." if ok else html.escape(str(result.get("error_msg") or "결제가 완료되지 않았습니다."))
    )
    if ok and result.get("status") == "ready" and result.get("vbank_num"):
        message = "가상계좌가 발급되었습니다. 입금하면 결제가 완료됩니다."
    if ok and result.get("status") == "issued":
        message = "카드가 등록되었습니다."
    body = (
        f'<p id="result" class="{"" if ok else "error"}">{message}</p>'
        f'<p class="muted">{html.escape(str(result.get("merchant_uid") or ""))}</p>'
        f'<script type="application/json" id="result-data">{script_json({"result": result, "origin": origin})}</script>'
        '<script src="/checkout/result.js"></script>'
    )
    return _page("결제 결과", body)


def not_found() -> HTMLResponse:
    response = _page("결제창", '<p class="error">결제창을 찾을 수 없습니다. (no such payment window)</p>')
    response.status_code = 404
    return response
