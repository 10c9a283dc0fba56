"""``checking_amount`` of ``POST /subscribe/payments/schedule``: i'mport's check that the card can
really be charged ("카드정상결제여부 체크용 금액. 결제 직후 자동으로 취소됩니다").

The customer's billing key is charged ``checking_amount`` through the ``again`` path, and the
charge is cancelled in full at once through the cancel path: one way to charge and to cancel, so
both are in the ledger (a payment ``tollway_check_…``, ``cancelled``) and in the PG's. A declined
or refused check stops the registration; so does a check charge that could not be cancelled (its
imp_uid is in the ``Tollway-Detail`` header, for ``POST /payments/cancel``).
"""

from __future__ import annotations

import secrets

from tollway.billing import customers
from tollway.errors import BusinessError, TollwayError
from tollway.payments.approve import ApprovalRefused
from tollway.payments.cancel import CancelOrder, cancel_payment
from tollway.payments.ledger import PaymentRequest
from tollway.payments.states import PaymentStatus
from tollway.services import Services

CHECK_NAME = "카드 정상결제여부 확인"
CHECK_FAILED = "카드 정상결제여부 확인에 실패하였습니다. {reason}"
CHECK_NOT_CANCELLED = "카드 정상결제여부 확인 결제를 취소하지 못했습니다. {reason}"


async def verify_card(services: Services, merchant_id: int, customer_uid: str, amount: int) -> None:
    """Charges ``amount`` on the customer's key and cancels it; raises when either does not happen."""
    request = PaymentRequest(
        merchant_uid=f"tollway_check_{secrets.token_hex(8)}",
        amount=amount,
        name=CHECK_NAME,
        customer_uid=customer_uid,
        customer_uid_usage="payment",
    )
    try:
        payment = await customers.charge(services, merchant_id, customers.AgainOrder(customer_uid, request))
    except ApprovalRefused as refused:
        raise BusinessError(CHECK_FAILED.format(reason=refused.payment.fail_reason or ""), code=-1) from None
    if payment.status != PaymentStatus.PAID:
        raise BusinessError(CHECK_FAILED.format(reason=payment.fail_reason or ""), code=-1)
    order = CancelOrder(
        imp_uid=payment.imp_uid, merchant_uid=None, amount=None, tax_free=None, checksum=None, reason=CHECK_NAME
    )
    try:
        await cancel_payment(services, merchant_id, order)
    except TollwayError as exc:
        raise BusinessError(
            CHECK_NOT_CANCELLED.format(reason=exc.message),
            code=-1,
            detail=f"the check charge {payment.imp_uid} may still be paid: cancel it with POST /payments/cancel",
        ) from None
