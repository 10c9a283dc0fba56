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

#: The gateway's window pages (hand-off, result, errors) look like the window: served as
#: ``/checkout/window.css`` (no inline style), with a font stack that renders Korean on macOS/iOS,
#: Windows, Android and Linux (Noto CJK) and ships no font.
STYLE = """*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Apple SD Gothic Neo","Malgun Gothic","맑은 고딕",
"Noto Sans KR","Noto Sans CJK KR",sans-serif;background:#fff;color:#191f28;line-height:1.5}
main{max-width:460px;margin:0 auto;min-height:100vh;padding:20px;display:flex;flex-direction:column}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #e5e8eb;
padding-bottom:12px}
.brand{font-weight:700;color:#1b64da}
.body{flex:1;display:flex;flex-direction:column;justify-content:center;text-align:center;padding:24px 0}
h1{font-size:20px;margin:0 0 8px}
p{margin:0 0 8px}
.muted{color:#4e5968;font-size:13px}
.error{color:#b0151f}
"""


def script_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=ko><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="icon" href="/favicon.ico">'
        '<link rel="stylesheet" href="/checkout/window.css"></head><body><main>'
        '<header><span class="brand">Tollway</span><span class="muted">안전한 결제</span></header>'
        f'<div class="body">{body}</div></main></body></html>',
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def handoff(sdk_url: str, call: dict[str, Any], handoff_url: str) -> HTMLResponse:
    """Loads the PG's browser SDK and opens its window with ``call`` (clientKey, kind, method, params)."""
    return _page(
        "결제창",
        '<h1 id="status" role="status">결제창을 여는 중입니다…</h1><p class="muted">잠시만 기다려 주세요.</p>'
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
    heading = "결제 완료" if ok else "결제가 완료되지 않았습니다"
    if ok and result.get("status") == "issued":
        heading = "카드 등록 완료"
    body = (
        f"<h1>{heading}</h1>"
        f'<p id="result" class="{"" if ok else "error"}" role="status">{message}</p>'
        f'<p class="muted">주문 번호 {html.escape(str(result.get("merchant_uid") or ""))}</p>'
        f'<script type="application/json" id="result-data">{script_json({"result": result, "origin": origin})}</script>'
        '<script src="/checkout/result.js"></script>'
    )
    return _page("결제 결과", body)


def not_found() -> HTMLResponse:
    response = _page(
        "결제창을 찾을 수 없습니다",
        "<h1>결제창을 찾을 수 없습니다</h1>"
        '<p class="error" role="alert">이 결제 링크는 올바르지 않거나 이미 사용되었습니다.</p>'
        '<p class="muted">가맹점 페이지로 돌아가 결제를 다시 시작해 주세요. (no such payment window)</p>',
    )
    response.status_code = 404
    return response
