"""The sandbox's billing resource: billing keys from card data or from the billing window's
``authKey``, charges with a billing key, and deleting one."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import orjson
from fastapi import Request

from tollway.pg.toss.codes import toss_card_name
from tollway.pg.toss.wire import format_time
from tollway.sandbox import cards
from tollway.sandbox.core import CUSTOMER_KEY, Answer, Caller, SandboxCore, TossApiError
from tollway.sandbox.window import WindowError, WindowRequest


class BillingApi(SandboxCore):
    # -- billing -------------------------------------------------------------------------------

    def _customer_key(self, body: dict[str, Any]) -> str:
        key = body.get("customerKey")
        if not isinstance(key, str) or not CUSTOMER_KEY.match(key):
            raise TossApiError("INVALID_CUSTOMER_KEY")
        return key

    async def _issue(self, caller: Caller, customer_key: str, card_doc: dict[str, Any]) -> Answer:
        billing_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        now = self.clock.now()
        public_card = {k: card_doc[k] for k in ("issuerCode", "acquirerCode", "number", "cardType", "ownerType")}
        billing = {
            "mId": caller.mid,
            "customerKey": customer_key,
            "authenticatedAt": format_time(now),
            "method": "카드",
            "billingKey": billing_key,
            "card": public_card,
            "cardCompany": (card_doc.get("issuerName") or ""),
            "cardNumber": card_doc["number"],
        }
        stored = {**public_card, "outcome": card_doc["outcome"]}
        await self.store.add_billing_key(caller.mid, billing_key, customer_key, stored, now)
        return Answer(200, billing)

    async def billing_from_card(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        customer_key = self._customer_key(body)
        card, masked = self._card(body)
        if body.get("customerIdentityNumber") is None:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (customerIdentityNumber)")
        if card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise TossApiError(cards.OUTCOME_ERRORS[card.outcome] or "INVALID_CARD")
        return await self._issue(caller, customer_key, _billing_card(card, masked))

    async def billing_from_auth(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        customer_key = self._customer_key(body)
        auth_key = body.get("authKey")
        if not isinstance(auth_key, str) or not auth_key:
            raise TossApiError("INVALID_REQUIRED_PARAM", "필수 파라미터가 누락되었습니다. (authKey)")
        card_doc = await self.store.use_billing_auth(caller.mid, auth_key, customer_key, self.clock.now())
        if card_doc is None:
            raise TossApiError("INVALID_BILLING_AUTH")
        return await self._issue(caller, customer_key, card_doc)

    async def billing_charge(self, caller: Caller, body: dict[str, Any], request: Request) -> Answer:
        row = await self.store.billing_key(caller.mid, request.path_params["billing_key"])
        if row is None:
            raise TossApiError("NOT_FOUND_BILLING")
        customer_key = self._customer_key(body)
        if customer_key != row.customer_key:
            raise TossApiError("NOT_MATCHES_CUSTOMER_KEY")
        stored = orjson.loads(row.doc)
        card = cards.TestCard(
            cards.Outcome(stored["outcome"]), stored["issuerCode"], stored["acquirerCode"], stored["cardType"]
        )
        return await self._charge(caller, body, request, card, stored["number"], kind="BILLING")

    async def billing_delete(self, caller: Caller, _: dict[str, Any], request: Request) -> Answer:
        if not await self.store.delete_billing_key(caller.mid, request.path_params["billing_key"], self.clock.now()):
            raise TossApiError("NOT_FOUND_BILLING")
        return Answer(200, None)

    async def _new_billing_auth(self, mid: str, customer_key: str, card: cards.TestCard, masked: str) -> str:
        """A one-time ``authKey`` for a card, as Toss's billing window hands to ``successUrl``."""
        auth_key = "bln_" + secrets.token_urlsafe(24)
        await self.store.add_billing_auth(mid, auth_key, customer_key, _billing_card(card, masked), self.clock.now())
        return auth_key

    async def window_billing_auth(self, window: WindowRequest, card_number: str, sms_code: str) -> str:
        """The buyer registered a card in the billing window: a one-time ``authKey``."""
        if sms_code.strip() != "000000":
            raise WindowError("RETRY", "인증번호가 올바르지 않습니다. 테스트 인증번호는 000000입니다.", "smsCode")
        number = card_number.replace("-", "").replace(" ", "")
        card = cards.lookup(number)
        if card is None or card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise WindowError("RETRY", "카드 정보를 확인해 주세요. 등록할 수 없는 카드입니다.")
        return await self._new_billing_auth(window.mid, window.customer_key, card, cards.mask(number))

    async def open_billing_auth(self, caller: Caller, body: dict[str, Any], _: Request) -> Answer:
        """A one-time ``authKey`` for a card, as Toss's billing window hands to ``successUrl``."""
        customer_key = self._customer_key(body)
        card, masked = self._card({**body, "cardExpirationYear": "99", "cardExpirationMonth": "12"})
        if card.outcome in cards.REFUSED_AT_REGISTRATION:
            raise TossApiError(cards.OUTCOME_ERRORS[card.outcome] or "INVALID_CARD")
        auth_key = await self._new_billing_auth(caller.mid, customer_key, card, masked)
        return Answer(200, {"authKey": auth_key, "customerKey": customer_key})


def _billing_card(card: cards.TestCard, masked: str) -> dict[str, Any]:
    return {
        "issuerCode": card.issuer_code,
        "acquirerCode": card.acquirer_code,
        "number": masked,
        "cardType": card.card_type,
        "ownerType": "개인",
        "issuerName": (toss_card_name(card.issuer_code) or "").removesuffix("카드"),
        "outcome": card.outcome.value,
    }
