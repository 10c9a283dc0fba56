"""The sandbox's sales slip (매출전표) behind a payment's ``receipt.url`` (V1's ``receipt_url``): a
printable page with the merchant (its MID), the order, the amount with its VAT, the method and its
approval number, the dates and every cancel. It shows no buyer data: the URL is a bearer link."""

from __future__ import annotations

import html
from typing import Any

from starlette.responses import HTMLResponse

from tollway.pg.toss.codes import toss_card_name
from tollway.pg.toss.wire import KST, parse_time

STATUS = {
    "DONE": "승인",
    "CANCELED": "취소",
    "PARTIAL_CANCELED": "부분 취소",
    "WAITING_FOR_DEPOSIT": "입금 대기",
    "ABORTED": "승인 실패",
    "EXPIRED": "만료",
    "IN_PROGRESS": "인증 완료",
    "READY": "대기",
}


def _when(value: object) -> str:
    at = parse_time(value)
    return at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S") if at is not None else "-"


def _won(value: object) -> str:
    return f"{value:,}원" if isinstance(value, int) else "-"


def _method(doc: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The method's name and its rows (card, easy pay, phone, gift certificate, bank)."""
    rows: list[tuple[str, str]] = []
    card = doc.get("card")
    if isinstance(card, dict):
        months = card.get("installmentPlanMonths") or 0
        rows += [
            ("카드", toss_card_name(card.get("issuerCode")) or "-"),
            ("카드 번호", str(card.get("number") or "-")),
            ("할부", f"{months}개월" if months else "일시불"),
            ("승인 번호", str(card.get("approveNo") or "-")),
        ]
    easy = doc.get("easyPay")
    if isinstance(easy, dict):
        rows.insert(0, ("간편결제", str(easy.get("provider") or "-")))
    phone = doc.get("mobilePhone")
    if isinstance(phone, dict):
        rows.append(("휴대폰 번호", str(phone.get("customerMobilePhone") or "-")))
    gift = doc.get("giftCertificate")
    if isinstance(gift, dict):
        rows.append(("승인 번호", str(gift.get("approveNo") or "-")))
    return str(doc.get("method") or "-"), rows


def receipt(doc: dict[str, Any]) -> HTMLResponse:
    method, method_rows = _method(doc)
    rows = [
        ("가맹점 (MID)", str(doc.get("mId") or "-")),
        ("주문 번호", str(doc.get("orderId") or "-")),
        ("상품명", str(doc.get("orderName") or "-")),
        ("결제 상태", STATUS.get(str(doc.get("status")), str(doc.get("status")))),
        ("결제 수단", method),
        *method_rows,
        ("거래 일시", _when(doc.get("approvedAt") or doc.get("requestedAt"))),
    ]
    amounts = [
        ("공급가액", _won(doc.get("suppliedAmount"))),
        ("부가세", _won(doc.get("vat"))),
        ("면세", _won(doc.get("taxFreeAmount"))),
        ("합계", _won(doc.get("totalAmount"))),
    ]
    cancels = doc.get("cancels") or []
    table = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    money = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in amounts)
    parts = [
        f'<h1>매출 전표</h1><p class="note">Tollway 샌드박스 · 테스트 결제 (실제 돈이 오가지 않았습니다)</p>'
        f'<table id="details"><caption>거래 정보</caption>{table}</table>'
        f'<table id="amounts"><caption>금액</caption>{money}</table>'
    ]
    if cancels:
        lines = "".join(
            f"<tr><td>{html.escape(_when(c.get('canceledAt')))}</td><td>{html.escape(_won(c.get('cancelAmount')))}</td>"
            f"<td>{html.escape(str(c.get('cancelReason') or ''))}</td></tr>"
            for c in cancels
            if isinstance(c, dict)
        )
        parts.append(
            '<table id="cancels"><caption>취소 내역</caption><thead><tr><th scope=col>취소 일시</th>'
            f"<th scope=col>취소 금액</th><th scope=col>사유</th></tr></thead><tbody>{lines}</tbody></table>"
            f'<p class="balance">남은 금액 {html.escape(_won(doc.get("balanceAmount")))}</p>'
        )
    return HTMLResponse(
        "<!doctype html><html lang=ko><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>매출 전표 (sandbox)</title>'
        '<link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="../receipt.css"></head>'
        f'<body><main class="receipt">{"".join(parts)}</main></body></html>',
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def not_found() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=ko><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>전표 없음 (sandbox)</title>'
        '<link rel="stylesheet" href="../receipt.css"></head><body><main class="receipt">'
        '<h1>전표를 찾을 수 없습니다</h1><p class="note">주소를 확인해 주세요.</p></main></body></html>',
        status_code=404,
    )


STYLE = """*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",
"Noto Sans CJK KR",sans-serif;background:#f2f4f6;color:#191f28;line-height:1.45}
.receipt{max-width:520px;margin:24px auto;background:#fff;padding:24px 28px;border-radius:12px}
h1{font-size:22px;margin:0 0 4px}
.note{color:#4e5968;font-size:13px;margin:0 0 16px}
table{width:100%;border-collapse:collapse;margin:0 0 18px;font-size:14px}
caption{text-align:left;font-weight:700;font-size:15px;padding:0 0 6px;border-bottom:2px solid #191f28}
th,td{padding:7px 0;border-bottom:1px solid #e5e8eb;text-align:left;vertical-align:top}
th[scope=row]{width:40%;color:#4e5968;font-weight:400}
#amounts tr:last-child th,#amounts tr:last-child td{font-weight:700;font-size:16px;color:#191f28}
.balance{font-weight:600}
@media print{body{background:#fff}.receipt{margin:0;max-width:none;border-radius:0;padding:0}
@page{size:A5;margin:12mm}}
"""
