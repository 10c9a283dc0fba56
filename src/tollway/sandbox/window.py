"""The sandbox's payment window: the buyer's side of Toss's v1 browser SDK, imitated.

A page loads ``/_sandbox/v1.js`` instead of ``https://js.tosspayments.com/v1``; its
``TossPayments(clientKey)`` has the same ``requestPayment(method, params)`` and
``requestBillingAuth(method, params)`` and navigates to ``/_sandbox/window``, a page that looks
and behaves like Toss's window: card companies, installment months, a card form for billing
auth, and a choice of outcome for demos. It ends as Toss's does (reference toss-v1 §5.2): a
redirect to ``successUrl`` with ``paymentKey``, ``orderId`` and ``amount`` (or ``customerKey``
and ``authKey``), or to ``failUrl`` with ``code`` and ``message``.

The window honours the card options of Toss's SDK (``cardInstallmentPlan``,
``maxCardInstallmentPlan``, ``flowMode: 'DIRECT'`` with ``cardCompany``) and two that Toss's
public SDK has no parameter for, passed under ``tollway`` by Tollway's checkout only to the
sandbox: ``cardCompanies`` (V1's ``card.detail``) and ``onlyInstallment``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tollway.pg.toss.codes import TOSS_BANK_CODES, TOSS_CARDS
from tollway.pg.toss.wire import KST
from tollway.sandbox import method_window, rules
from tollway.sandbox.core import TossApiError

INSTALLMENT_MINIMUM = 50_000
ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
CUSTOMER_KEY = re.compile(r"^[A-Za-z0-9\-_=.@*]{2,300}$")

#: Korean card companies the window lists, in Toss's order (foreign brands come only through them).
DOMESTIC_CARDS = ("41", "61", "51", "11", "71", "21", "W1", "31", "91", "3K", "15", "3A", "36", "38", "62", "37")
FOREIGN = frozenset({"6D", "4M", "3C", "7A", "4J", "4V"})
#: Toss API enum (``cardCompany``) → Toss card company code
CARD_ENUMS: dict[str, str] = {}
for _code, (_enum, _) in TOSS_CARDS.items():
    CARD_ENUMS.setdefault(_enum, "W1" if _enum == "WOORI" else _code)

METHODS = {
    "카드": "CARD",
    "CARD": "CARD",
    "계좌이체": "TRANSFER",
    "TRANSFER": "TRANSFER",
    "가상계좌": "VIRTUAL_ACCOUNT",
    "VIRTUAL_ACCOUNT": "VIRTUAL_ACCOUNT",
    **method_window.METHODS,
}
METHOD_NAMES = {"CARD": "카드", "TRANSFER": "계좌이체", "VIRTUAL_ACCOUNT": "가상계좌"}

BANKS: dict[str, str] = {
    "06": "KB국민은행",
    "88": "신한은행",
    "20": "우리은행",
    "81": "하나은행",
    "11": "NH농협은행",
    "03": "IBK기업은행",
    "90": "카카오뱅크",
    "92": "토스뱅크",
    "89": "케이뱅크",
    "71": "우체국예금보험",
}
assert set(BANKS) <= TOSS_BANK_CODES

CANCELED = ("PAY_PROCESS_CANCELED", "사용자에 의해 결제가 취소되었습니다.")
OUTCOMES = {
    "approve": "승인",
    "decline": "거절 (카드사 거절)",
    "insufficient": "거절 (한도 초과)",
}
#: the test card standing for each outcome of the window (``sandbox.cards``)
OUTCOME_CARDS = {"approve": "4330123412340005", "decline": "4330123412340013", "insufficient": "4330123412340039"}


class WindowError(Exception):
    """``RETRY`` shows the window again with ``message``, tied to the input named ``field``."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field


class RuleRefusal(WindowError):
    """A Toss rule the call breaks (an amount below the minimum, installments under 50,000 KRW):
    Toss's SDK refuses it, and the window ends at ``failUrl`` with Toss's code, as a key-in call
    answers with the same code."""

    def __init__(self, code: str, message: str, request: WindowRequest) -> None:
        super().__init__(code, message)
        self.request = request


@dataclass
class WindowRequest:
    """A ``requestPayment`` / ``requestBillingAuth`` call, checked as Toss's SDK checks it."""

    client_key: str
    mid: str
    kind: str  # payment | billing
    method: str  # CARD | TRANSFER | VIRTUAL_ACCOUNT
    params: dict[str, Any]
    success_url: str
    fail_url: str
    amount: int = 0
    order_id: str = ""
    order_name: str = ""
    customer_key: str = ""
    companies: list[str] = field(default_factory=list)
    months: list[int] = field(default_factory=list)
    fixed_months: int | None = None

    def hidden(self) -> str:
        fields = {
            "clientKey": self.client_key,
            "kind": self.kind,
            "method": self.method,
            "params": orjson.dumps(self.params).decode(),
        }
        return "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())


def _url(value: object, name: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise WindowError(
            "INCORRECT_SUCCESS_URL_FORMAT" if name == "successUrl" else "INCORRECT_FAIL_URL_FORMAT",
            f"{name}는 http(s):// 로 시작하는 URL이어야 합니다.",
        )
    return value


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WindowError("INVALID_PARAMETER", f"{name}는 정수여야 합니다.")
    return value


def parse(client_key: str, mid: str, kind: str, method: str, raw_params: str) -> WindowRequest:
    try:
        params = orjson.loads(raw_params or "{}")
    except orjson.JSONDecodeError:
        raise WindowError("INVALID_PARAMETER", "params는 JSON 객체여야 합니다.") from None
    if not isinstance(params, dict):
        raise WindowError("INVALID_PARAMETER", "params는 JSON 객체여야 합니다.")
    if kind not in ("payment", "billing"):
        raise WindowError("INVALID_PARAMETER", "알 수 없는 요청입니다.")
    normalized = METHODS.get(method)
    if normalized is None or (kind == "billing" and normalized != "CARD"):
        raise WindowError("INVALID_PARAMETER", f"샌드박스 결제창이 지원하지 않는 결제수단입니다: {method}")
    if kind == "payment":
        try:
            normalized = method_window.normalize(method, normalized, params)
        except method_window.MethodError as exc:
            raise WindowError(exc.code, exc.message) from None
    request = WindowRequest(
        client_key=client_key,
        mid=mid,
        kind=kind,
        method=normalized,
        params=params,
        success_url=_url(params.get("successUrl"), "successUrl"),
        fail_url=_url(params.get("failUrl"), "failUrl"),
    )
    if kind == "billing":
        key = params.get("customerKey")
        if not isinstance(key, str) or not CUSTOMER_KEY.match(key):
            raise WindowError("INVALID_CUSTOMER_KEY", "customerKey 형식이 올바르지 않습니다.")
        request.customer_key = key
        extra = params.get("tollway")
        if isinstance(extra, dict):  # what Tollway's checkout shows: the amount (never charged), the order
            shown = extra.get("amount")
            request.amount = shown if isinstance(shown, int) and not isinstance(shown, bool) and shown > 0 else 0
            name = extra.get("orderName")
            request.order_name = name[:100] if isinstance(name, str) else ""
        return request
    request.amount = _int(params.get("amount"), "amount")
    if request.amount <= 0:
        raise WindowError("BELOW_ZERO_AMOUNT", "결제 금액은 0보다 커야 합니다.")
    order_id = params.get("orderId")
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        raise WindowError("INVALID_ORDER_ID", "orderId는 영문, 숫자, -, _ 로 된 6자 이상 64자 이하여야 합니다.")
    order_name = params.get("orderName")
    if not isinstance(order_name, str) or not order_name or len(order_name) > 100:
        raise WindowError("INVALID_ORDER_NAME", "orderName은 1자 이상 100자 이하여야 합니다.")
    request.order_id, request.order_name = order_id, order_name
    try:
        rules.check_minimum(normalized, request.amount)
        if normalized == "CARD" and params.get("cardInstallmentPlan") not in (None, 0):
            rules.check_installment(params["cardInstallmentPlan"], request.amount)
    except TossApiError as exc:
        raise RuleRefusal(exc.code, exc.message, request) from None
    if normalized == "CARD":
        _card_options(request)
    return request


def _card_options(request: WindowRequest) -> None:
    params = request.params
    if "cardInstallmentPlan" in params and "maxCardInstallmentPlan" in params:
        raise WindowError("INVALID_PARAMETER", "cardInstallmentPlan과 maxCardInstallmentPlan은 함께 쓸 수 없습니다.")
    extra = params.get("tollway") or {}
    if not isinstance(extra, dict):
        raise WindowError("INVALID_PARAMETER", "tollway는 객체여야 합니다.")
    companies = list(DOMESTIC_CARDS)
    if params.get("flowMode") == "DIRECT":
        code = CARD_ENUMS.get(str(params.get("cardCompany") or ""))
        if code is None:
            raise WindowError("INVALID_PARAMETER", "flowMode DIRECT에는 올바른 cardCompany가 필요합니다.")
        companies = [code]
    elif extra.get("cardCompanies") is not None:
        allowed = extra["cardCompanies"]
        if not isinstance(allowed, list) or not allowed:
            raise WindowError("INVALID_PARAMETER", "tollway.cardCompanies는 카드사 코드 목록이어야 합니다.")
        companies = [c for c in DOMESTIC_CARDS if c in allowed] + [c for c in allowed if c in FOREIGN]
    request.companies = companies
    if request.amount < INSTALLMENT_MINIMUM:
        fixed = params.get("cardInstallmentPlan")
        if fixed not in (None, 0):
            raise WindowError("INVALID_PARAMETER", "할부는 결제 금액이 50,000원 이상일 때만 쓸 수 있습니다.")
        request.months = [0]
        return
    if params.get("cardInstallmentPlan") is not None:
        fixed = _int(params["cardInstallmentPlan"], "cardInstallmentPlan")
        if fixed != 0 and not 2 <= fixed <= 12:
            raise WindowError("INVALID_PARAMETER", "cardInstallmentPlan은 0 또는 2~12여야 합니다.")
        request.fixed_months = fixed
        request.months = [fixed]
        return
    top = 12
    if params.get("maxCardInstallmentPlan") is not None:
        top = _int(params["maxCardInstallmentPlan"], "maxCardInstallmentPlan")
        if not 0 <= top <= 12:
            raise WindowError("INVALID_PARAMETER", "maxCardInstallmentPlan은 0~12여야 합니다.")
    months = [0, *range(2, top + 1)]
    if extra.get("onlyInstallment") and len(months) > 1:
        months = months[1:]
    request.months = months


# -- pages -------------------------------------------------------------------------------------

STATIC = resources.files("tollway.sandbox") / "static"
STYLE = (STATIC / "window.css").read_text()
SCRIPT = (STATIC / "window.js").read_text()


def page(title: str, body: str) -> HTMLResponse:
    """A window page: styles and behaviour come from files (no inline script or style, for a CSP
    of ``'self'``); ``window.js`` makes Escape the buyer's cancel."""
    return HTMLResponse(
        "<!doctype html><html lang=ko><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="window.css">'
        '<script src="window.js" defer></script></head><body><main>'
        '<header><span class="brand">toss payments</span>'
        '<span class="sandbox">Tollway sandbox · 테스트 결제</span></header>'
        f"{body}</main></body></html>"
    )


def error_page(code: str, message: str, status: int = 400) -> HTMLResponse:
    response = page(
        "결제 오류",
        f'<h1>결제를 진행할 수 없습니다</h1><p class="error" role="alert" data-code="{html.escape(code)}">'
        f"[{html.escape(code)}] {html.escape(message)}</p>"
        '<p class="note">가맹점 페이지로 돌아가 다시 시도해 주세요.</p>',
    )
    response.status_code = status
    return response


def _month_label(months: int) -> str:
    return "일시불" if months == 0 else f"{months}개월"


def _error(error: str | None) -> str:
    """The error region: always present, so that a screen reader announces what appears in it."""
    text = html.escape(error) if error else ""
    return f'<p class="error" id="error" role="alert" aria-live="assertive"{"" if error else " hidden"}>{text}</p>'


def _invalid(error: str | None) -> str:
    return ' aria-invalid="true" aria-describedby="error"' if error else ""


def window_page(
    request: WindowRequest,
    error: str | None = None,
    *,
    typed_card: str | None = None,
    due: str | None = None,
    confirm: dict[str, str] | None = None,
    field: str = "cardNumber",
) -> HTMLResponse:
    """The window. ``typed_card`` keeps a refused card number in its field (the buyer's own input,
    sent back only to the buyer's browser); ``due`` is a virtual account's deposit deadline;
    ``confirm`` is the choice of an easy pay, phone or gift-certificate window's first step."""
    parts = [f'<form method="post" action="window" id="window">{request.hidden()}']
    pay_action = "pay"
    if request.kind == "billing":
        parts.append('<h1 id="title">카드 등록</h1>')
        if request.order_name or request.amount:
            parts.append(
                f'<p class="order" id="orderName">{html.escape(request.order_name)}</p>'
                f'<p class="amount" id="amount">{request.amount:,}원</p>'
                '<p class="note" id="amountNote">표시된 금액은 등록할 때 결제되지 않습니다.</p>'
            )
        else:
            parts.append("<p>자동결제에 쓸 카드를 등록합니다. 등록할 때 결제되지 않습니다.</p>")
        parts.append(_error(error))
        number = typed_card if typed_card is not None else "4330-1234-1234-0005"
        parts.append(
            '<label for="cardNumber">카드 번호</label><input type="text" name="cardNumber" id="cardNumber" '
            f'inputmode="numeric" value="{html.escape(number)}" autocomplete="off"'
            f"{_invalid(error if field == 'cardNumber' else None)}>"
            '<label for="smsCode">휴대폰 인증번호</label>'
            '<input type="text" name="smsCode" id="smsCode" inputmode="numeric" value="000000" autocomplete="off"'
            f"{_invalid(error if field == 'smsCode' else None)}>"
            '<p class="note">테스트 카드 번호는 docs/sandbox.md에 있습니다. 인증번호는 000000입니다.</p>'
        )
        pay_label = "카드 등록"
    else:
        parts.append(
            f'<h1 id="orderName">{html.escape(request.order_name)}</h1>'
            f'<p class="amount" id="amount">{request.amount:,}원</p>{_error(error)}'
        )
        pay_label = f"{request.amount:,}원 결제하기"
        if request.method == "CARD":
            parts.append(_card_section(request))
        elif request.method in method_window.METHOD_NAMES and confirm is None:
            parts.append(method_window.section(request.method, request.params))
            pay_label, pay_action = "다음", "next"
        elif request.method in method_window.METHOD_NAMES and confirm is not None:
            parts.append(method_window.confirm_section(request.method, request.params, confirm, invalid=bool(error)))
        else:
            options = "".join(f'<option value="{c}">{html.escape(n)}</option>' for c, n in BANKS.items())
            label = "입금할 은행" if request.method == "VIRTUAL_ACCOUNT" else "출금할 은행"
            parts.append(
                f'<section class="account"><h2>{METHOD_NAMES[request.method]}</h2>'
                f'<label for="bank">{label}</label><select name="bank" id="bank">{options}</select>'
            )
            if request.method == "VIRTUAL_ACCOUNT":
                parts.append(f'<p class="due" id="due">입금 기한: {html.escape(due or "")}까지</p>')
                pay_label = "가상계좌 발급받기"
            parts.append("</section>")
    parts.append(
        '<div class="buttons">'
        '<button type="submit" name="action" value="cancel" class="cancel" id="cancel">취소</button>'
        f'<button type="submit" name="action" value="{pay_action}" class="pay" id="pay">{pay_label}</button>'
        "</div></form>"
    )
    title = "카드 등록" if request.kind == "billing" else "결제하기"
    return page(f"토스페이먼츠 {title} (sandbox)", "".join(parts))


def _card_section(request: WindowRequest) -> str:
    cards = []
    for index, code in enumerate(request.companies):
        name = TOSS_CARDS[code][1]
        checked = " checked" if index == 0 else ""
        cards.append(
            f'<label data-card="{code}"><input type="radio" name="company" value="{code}"{checked}>'
            f"<span>{html.escape(name)}</span></label>"
        )
    direct = request.params.get("flowMode") == "DIRECT"
    heading = f"{html.escape(TOSS_CARDS[request.companies[0]][1])} 바로 결제" if direct else "카드사 선택"
    out = [f'<fieldset><legend>{heading}</legend><div class="grid" id="companies">{"".join(cards)}</div></fieldset>']
    if request.fixed_months is not None:
        out.append(f'<input type="hidden" name="months" value="{request.fixed_months}">')
        if not direct:  # Toss does not show the quota fixed by card.direct
            out.append(f'<h2>할부</h2><p id="fixedMonths">{_month_label(request.fixed_months)}</p>')
    else:
        options = "".join(f'<option value="{m}">{_month_label(m)}</option>' for m in request.months)
        out.append(f'<label for="months">할부</label><select name="months" id="months">{options}</select>')
    out.append(outcome_choice(OUTCOMES))
    return "".join(out)


def outcome_choice(outcomes: dict[str, str]) -> str:
    radios = "".join(
        f'<label><input type="radio" name="outcome" value="{key}"{" checked" * (index == 0)}> {label}</label>'
        for index, (key, label) in enumerate(outcomes.items())
    )
    return f'<fieldset class="outcomes" id="outcomes"><legend>테스트 결과</legend>{radios}</fieldset>'


def with_query(url: str, values: dict[str, Any]) -> str:
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{urlencode(values)}"


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


SDK = (STATIC / "toss-v1.js").read_text()


def _due(window: WindowRequest, now: datetime) -> str | None:
    """A virtual account's deadline as the window shows it (KST), from ``validHours`` (7 days by default)."""
    if window.method != "VIRTUAL_ACCOUNT":
        return None
    hours = window.params.get("validHours")
    valid = hours if isinstance(hours, int) and not isinstance(hours, bool) and 0 < hours <= 2160 else 168
    return (now + timedelta(hours=valid)).astimezone(KST).strftime("%Y-%m-%d %H:%M")


def _refused(exc: RuleRefusal) -> Response:
    values = {"code": exc.code, "message": exc.message, "orderId": exc.request.order_id}
    return redirect(with_query(exc.request.fail_url, values))


def add_routes(router: APIRouter, sandbox: Any) -> None:
    """``/_sandbox/v1.js`` and ``/_sandbox/window`` (GET shows the window, POST is its submit), and
    the window's stylesheet and script."""

    @router.get("/_sandbox/v1.js", include_in_schema=False)
    async def sdk() -> Response:
        return Response(SDK, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @router.get("/_sandbox/window.css", include_in_schema=False)
    async def style() -> Response:
        return Response(STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})

    @router.get("/_sandbox/window.js", include_in_schema=False)
    async def script() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"})

    async def load(client_key: str, kind: str, method: str, raw: str) -> WindowRequest:
        mid = await sandbox.store.mid_for_client_key(client_key)
        if mid is None:
            raise WindowError("INVALID_CLIENT_KEY", "클라이언트 키가 올바르지 않습니다.")
        return parse(client_key, mid, kind, method, raw)

    @router.get("/_sandbox/window", include_in_schema=False)
    async def show(request: Request) -> Response:
        q = request.query_params
        try:
            window = await load(q.get("clientKey", ""), q.get("kind", ""), q.get("method", ""), q.get("params", ""))
        except RuleRefusal as exc:
            return _refused(exc)
        except WindowError as exc:
            return error_page(exc.code, exc.message)
        return window_page(window, due=_due(window, sandbox.clock.now()))

    @router.post("/_sandbox/window", include_in_schema=False)
    async def submit(request: Request) -> Response:
        form = await request.form()

        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        try:
            window = await load(text("clientKey"), text("kind"), text("method"), text("params"))
        except RuleRefusal as exc:
            return _refused(exc)
        except WindowError as exc:
            return error_page(exc.code, exc.message)
        action = text("action")
        if action not in ("pay", "next"):
            return redirect(with_query(window.fail_url, {"code": CANCELED[0], "message": CANCELED[1]}))
        other = window.method in method_window.METHOD_NAMES
        choice = {
            "company": text("company"),
            "months": text("months"),
            "outcome": text("outcome") or "approve",
            "bank": text("bank"),
        }
        if other:
            choice = {key: text(key) for key in ("funding", "carrier", "phone", "giftId", "outcome")}
        try:
            if window.kind == "billing":
                auth_key = await sandbox.window_billing_auth(window, text("cardNumber"), text("smsCode"))
                done = {"customerKey": window.customer_key, "authKey": auth_key}
                return redirect(with_query(window.success_url, done))
            if other and action == "next":
                sandbox.check_method_choice(window, choice)
                return window_page(window, confirm=choice)
            if other:
                payment_key = await sandbox.window_method_payment(window, choice, text("smsCode"), request)
            else:
                payment_key = await sandbox.window_payment(window, choice, request)
        except WindowError as exc:
            if exc.code == "RETRY" and window.kind == "billing":
                typed = text("cardNumber")
                return window_page(window, exc.message, typed_card=typed, field=exc.field or "cardNumber")
            if exc.code == "RETRY":
                confirm = choice if other and action == "pay" else None
                return window_page(window, exc.message, due=_due(window, sandbox.clock.now()), confirm=confirm)
            return redirect(
                with_query(window.fail_url, {"code": exc.code, "message": exc.message, "orderId": window.order_id})
            )
        return redirect(
            with_query(
                window.success_url,
                {"paymentKey": payment_key, "orderId": window.order_id, "amount": window.amount},
            )
        )
