"""Toss's error catalogue (reference toss-v1 §4.3) and how Tollway classifies each code.

The sandbox answers with these statuses and messages; the connector maps every code to one of
``declined`` / ``rejected`` / ``unknown`` (see ``pg.base``). A code missing from the catalogue is
classified by its HTTP status: 5xx and 409/429 are unknown, other 4xx rejected.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["declined", "rejected", "unknown"]

#: code → (HTTP status, Korean message)
CATALOGUE: dict[str, tuple[int, str]] = {
    # authentication and request shape
    "UNAUTHORIZED_KEY": (401, "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."),
    "INCORRECT_BASIC_AUTH_FORMAT": (403, "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요."),
    "INVALID_API_KEY": (400, "잘못된 시크릿키 연동 정보 입니다."),
    "INVALID_REQUEST": (400, "잘못된 요청입니다."),
    "INVALID_REQUIRED_PARAM": (400, "필수 파라미터가 누락되었습니다."),
    "INVALID_ORDER_ID": (
        400,
        "`orderId`는 영문 대소문자, 숫자, 특수문자(-, _) 만 허용합니다. 6자 이상 64자 이하여야 합니다.",
    ),
    "INVALID_ORDER_NAME": (400, "주문 이름은 100자 이하여야 합니다."),
    "INVALID_EMAIL": (400, "이메일 주소 형식에 맞지 않습니다."),
    "INVALID_CUSTOMER_KEY": (
        400,
        "`customerKey`는 영문 대소문자, 숫자, 특수문자 -, *, =, ., @로 2자 이상 255자 이하여야 합니다.",
    ),
    "INVALID_PAYMENT_KEY": (400, "잘못된 결제 키 입니다."),
    "INVALID_TEST_CODE": (400, "유효하지 않은 테스트 코드입니다."),
    "INVALID_IDEMPOTENCY_KEY": (400, "멱등키는 300자 이하여야 합니다."),
    "IDEMPOTENT_REQUEST_PROCESSING": (409, "이전 멱등 요청이 처리중입니다."),
    "NOT_FOUND_HTTP_METHOD": (404, "존재하지 않는 HTTP 메소드 접근입니다."),
    "NOT_SUPPORTED_METHOD": (400, "지원되지 않는 결제수단입니다."),
    "INVALID_CURRENCY": (400, "잘못된 통화 값입니다."),
    # amounts
    "BELOW_MINIMUM_AMOUNT": (400, "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다."),
    "BELOW_ZERO_AMOUNT": (400, "금액은 0보다 커야 합니다."),
    "EXCEED_MAX_AMOUNT": (400, "거래금액 한도를 초과했습니다."),
    # card data
    "INVALID_CARD_NUMBER": (400, "카드번호를 다시 확인해주세요."),
    "INVALID_CARD_EXPIRATION": (400, "카드 정보를 다시 확인해주세요.(유효기간)"),
    "INVALID_CARD_PASSWORD": (400, "카드 정보를 다시 확인해주세요.(비밀번호)"),
    "INVALID_CARD_IDENTITY": (400, "입력하신 주민번호/사업자번호가 카드 소유주 정보와 일치하지 않습니다."),
    "INVALID_BIRTH_DAY_FORMAT": (
        400,
        "생년월일 정보는 6자리의 yyMMdd 형식이어야 합니다. 사업자등록번호는 10자리의 숫자여야 합니다.",
    ),
    "INVALID_CARD": (400, "카드 입력정보가 올바르지 않습니다."),
    "INVALID_CARD_COMPANY": (400, "유효하지 않은 카드사입니다."),
    "NOT_SUPPORTED_CARD_TYPE": (400, "지원되지 않는 카드 종류입니다."),
    "NOT_REGISTERED_CARD_COMPANY": (400, "카드를 사용 등록 후 이용해주세요."),
    # card company declines
    "INVALID_STOPPED_CARD": (400, "정지된 카드 입니다."),
    "INVALID_REJECT_CARD": (400, "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다."),
    "INVALID_CARD_LOST_OR_STOLEN": (400, "분실 혹은 도난 카드입니다."),
    "REJECT_CARD_PAYMENT": (403, "한도초과 혹은 잔액부족으로 결제에 실패했습니다."),
    "REJECT_CARD_COMPANY": (403, "결제 승인이 거절되었습니다."),
    "REJECT_ACCOUNT_PAYMENT": (403, "잔액부족으로 결제에 실패했습니다."),
    "FDS_ERROR": (
        403,
        "[토스페이먼츠] 위험거래가 감지되어 결제가 제한됩니다. "
        "발송된 문자에 포함된 링크를 통해 본인인증 후 결제가 가능합니다.",
    ),
    "EXCEED_MAX_AUTH_COUNT": (403, "최대 인증 횟수를 초과했습니다. 카드사로 문의해주세요."),
    "EXCEED_MAX_ONE_DAY_AMOUNT": (403, "일일 한도를 초과했습니다."),
    "INVALID_PASSWORD": (403, "결제 비밀번호가 일치하지 않습니다."),
    "EXCEED_MAX_DAILY_PAYMENT_COUNT": (400, "하루 결제 가능 횟수를 초과했습니다."),
    "EXCEED_MAX_PAYMENT_AMOUNT": (400, "하루 결제 가능 금액을 초과했습니다."),
    "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT": (400, "당월 결제 가능금액인 1,000,000원을 초과 하셨습니다."),
    "NOT_ALLOWED_POINT_USE": (400, "포인트 사용이 불가한 카드로 카드 포인트 결제에 실패했습니다."),
    "NOT_AVAILABLE_PAYMENT": (400, "결제가 불가능한 시간대입니다."),
    # installments
    "INVALID_CARD_INSTALLMENT_PLAN": (400, "할부 개월 정보가 잘못되었습니다."),
    "EXCEED_MAX_CARD_INSTALLMENT_PLAN": (400, "설정 가능한 최대 할부 개월 수를 초과했습니다."),
    "EXCEED_MIN_CARD_INSTALLMENT_PLAN": (400, "설정 가능한 최소 할부 개월 수를 1개월 이상으로 설정해주세요."),
    "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": (400, "할부가 지원되지 않는 카드 또는 가맹점 입니다."),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN": (400, "할부 또는 무이자 할부가 지원되지 않는 카드입니다."),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT": (
        400,
        "5만원 이하의 결제는 할부가 불가능해서 결제에 실패했습니다.",
    ),
    "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT": (400, "해당 카드는 10000원 미만 할부 거래가 불가한 카드입니다."),
    # payments and orders
    "ALREADY_PROCESSED_PAYMENT": (400, "이미 처리된 결제 입니다."),
    "ALREADY_COMPLETED_PAYMENT": (400, "이미 완료된 결제 입니다."),
    "DUPLICATED_ORDER_ID": (400, "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요."),
    "UNAPPROVED_ORDER_ID": (400, "아직 승인되지 않은 주문번호입니다."),
    "NOT_FOUND": (404, "존재하지 않는 정보 입니다."),
    "NOT_FOUND_PAYMENT": (404, "존재하지 않는 결제 정보 입니다."),
    "NOT_FOUND_PAYMENT_SESSION": (404, "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다."),
    "FORBIDDEN_REQUEST": (403, "허용되지 않은 요청입니다."),
    "FORBIDDEN_CONSECUTIVE_REQUEST": (403, "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요."),
    # cancels
    "ALREADY_CANCELED_PAYMENT": (400, "이미 취소된 결제 입니다."),
    "NOT_CANCELABLE_AMOUNT": (403, "취소 할 수 없는 금액 입니다."),
    "NOT_CANCELABLE_PAYMENT": (403, "취소 할 수 없는 결제 입니다."),
    "NOT_MATCHES_REFUNDABLE_AMOUNT": (400, "잔액 결과가 일치하지 않습니다."),
    "NOT_ALLOWED_PARTIAL_REFUND": (403, "에스크로 주문, 현금 카드 결제 등의 사유로 부분 환불이 불가합니다."),
    "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT": (403, "입금 대기중인 결제는 부분 환불이 불가합니다."),
    "INVALID_REFUND_ACCOUNT_INFO": (400, "환불 계좌번호와 예금주명이 일치하지 않습니다."),
    "INVALID_REFUND_ACCOUNT_NUMBER": (400, "잘못된 환불 계좌번호입니다."),
    "INVALID_BANK": (400, "유효하지 않은 은행입니다."),
    "REFUND_REJECTED": (400, "환불이 거절됐습니다. 결제사에 문의 부탁드립니다."),
    "EXCEED_MAX_REFUND_DUE": (403, "환불 가능한 기간이 초과했습니다."),
    "EXCEED_CANCEL_LIMIT": (403, "취소 한도 금액을 초과 하였습니다."),
    # virtual accounts and cash receipts
    "INVALID_DATE": (400, "날짜 데이터가 잘못 되었습니다."),
    "INVALID_ISO_DATE_FORMAT": (
        400,
        "시간 일시 형식이 잘못되었습니다. 시간 형식은 ISO 8601 형식을 준수해야 합니다.",
    ),
    "EXCEED_MAX_DUE_DATE": (400, "가상 계좌의 최대 유효만료 기간을 초과했습니다."),
    "EXCEED_MAX_VALID_HOURS": (400, "가상 계좌의 최대 유효시간을 초과했습니다."),
    "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE": (400, "validHours와 dueDate는 같이 사용할 수 없습니다."),
    "INVALID_VIRTUAL_ACCOUNT_TYPE": (400, "유효하지 않은 가상계좌 타입입니다."),
    "REQUIRED_ACCOUNT_KEY": (400, "고정계좌는 발급용 고객키값이 필수입니다."),
    "NOT_AVAILABLE_BANK": (403, "은행 서비스 시간이 아닙니다."),
    "INVALID_CASH_RECEIPT_INFO": (400, "현금 영수증 정보가 잘못되었습니다."),
    "DUPLICATED_CASH_RECEIPT": (400, "이미 현금영수증이 발급된 주문입니다."),
    # billing
    "INVALID_BILLING_AUTH": (400, "유효하지 않은 빌링 인증입니다."),
    "INVALID_BILL_KEY_REQUEST": (400, "빌링키 인증이 완료되지 않았거나 유효하지 않은 빌링 거래 건입니다."),
    "NOT_MATCHES_CUSTOMER_KEY": (400, "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다."),
    "BILLING_KEY_NOT_FOUND": (400, "빌링키가 존재하지 않습니다"),
    "NOT_FOUND_BILLING": (404, "존재하지 않는 빌링 결제 인증 정보 입니다."),
    # the PG or the card company could not answer
    "PROVIDER_ERROR": (400, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
    "CARD_PROCESSING_ERROR": (400, "카드사에서 오류가 발생했습니다."),
    "COMMON_ERROR": (500, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
    "FAILED_INTERNAL_SYSTEM_PROCESSING": (500, "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요."),
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": (500, "결제가 완료되지 않았어요. 다시 시도해주세요."),
    "FAILED_DB_PROCESSING": (500, "잘못된 요청 값으로 처리 중 DB 에러가 발생했습니다."),
    "FAILED_CARD_COMPANY_RESPONSE": (500, "카드사에서 에러가 발생했습니다. 잠시 후 다시 시도해 주세요."),
    "FAILED_BILL_KEY_AUTH_CREATION": (500, "빌링 결제 인증 중 키 생성에 실패했습니다. 잠시 후 다시 시도해주세요."),
    "FAILED_REFUND_PROCESS": (500, "은행 응답시간 지연이나 일시적인 오류로 환불요청에 실패했습니다."),
    "FAILED_METHOD_HANDLING_CANCEL": (
        500,
        "취소 중 결제 시 사용한 결제 수단 처리과정에서 일시적인 오류가 발생했습니다.",
    ),
    "UNKNOWN_PAYMENT_ERROR": (500, "결제에 실패했어요. 같은 문제가 반복된다면 은행이나 카드사로 문의해주세요."),
}

#: Codes that mean "the card company or the PG said no" (V1: code 0, status failed).
DECLINED: frozenset[str] = frozenset(
    {
        "INVALID_STOPPED_CARD",
        "INVALID_REJECT_CARD",
        "INVALID_CARD_LOST_OR_STOLEN",
        "REJECT_CARD_PAYMENT",
        "REJECT_CARD_COMPANY",
        "REJECT_ACCOUNT_PAYMENT",
        "FDS_ERROR",
        "EXCEED_MAX_AUTH_COUNT",
        "EXCEED_MAX_ONE_DAY_AMOUNT",
        "EXCEED_MAX_AMOUNT",
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        "EXCEED_MAX_PAYMENT_AMOUNT",
        "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT",
        "INVALID_PASSWORD",
        "NOT_ALLOWED_POINT_USE",
        "NOT_AVAILABLE_PAYMENT",
        "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
        "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT",
        "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT",
        "NOT_SUPPORTED_CARD_TYPE",
        "NOT_REGISTERED_CARD_COMPANY",
    }
)

#: Codes after which the outcome is unknown: reconcile by lookup, never retry a charge blindly.
UNKNOWN: frozenset[str] = frozenset(
    {
        "IDEMPOTENT_REQUEST_PROCESSING",
        "PROVIDER_ERROR",
        "CARD_PROCESSING_ERROR",
        "FORBIDDEN_CONSECUTIVE_REQUEST",
        "COMMON_ERROR",
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
        "FAILED_DB_PROCESSING",
        "FAILED_CARD_COMPANY_RESPONSE",
        "FAILED_BILL_KEY_AUTH_CREATION",
        "FAILED_REFUND_PROCESS",
        "FAILED_METHOD_HANDLING_CANCEL",
        "UNKNOWN_PAYMENT_ERROR",
    }
)

NOT_FOUND_CODES = frozenset({"NOT_FOUND", "NOT_FOUND_PAYMENT", "NOT_FOUND_BILLING", "BILLING_KEY_NOT_FOUND"})


def classify(code: str, http_status: int) -> Kind:
    if code in DECLINED:
        return "declined"
    if code in UNKNOWN or http_status >= 500 or http_status in (409, 429):
        return "unknown"
    return "rejected"


def status_of(code: str) -> int:
    return CATALOGUE[code][0]


def message_of(code: str) -> str:
    return CATALOGUE[code][1]
