"""The sandbox's test cards: deterministic outcomes by card number (documented in docs/sandbox.md).

Any other number that passes the Luhn check is approved; one that fails it is refused with
``INVALID_CARD_NUMBER``, as a card company would. Only the outcome and a masked number are ever
kept: the sandbox stores no card number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"  # the card company refuses: REJECT_CARD_COMPANY
    STOPPED = "stopped"  # INVALID_STOPPED_CARD
    INSUFFICIENT = "insufficient"  # limit exceeded / no balance: REJECT_CARD_PAYMENT
    LOST = "lost"  # INVALID_CARD_LOST_OR_STOLEN
    INVALID = "invalid"  # the card company does not know the number: INVALID_CARD_NUMBER
    SLOW = "slow"  # approved after ``slow_seconds``
    HANG = "hang"  # approved at once, but the answer comes only after ``hang_seconds``


#: Outcome → the Toss error code it answers with (None: approved)
OUTCOME_ERRORS: dict[Outcome, str | None] = {
    Outcome.APPROVE: None,
    Outcome.DECLINE: "REJECT_CARD_COMPANY",
    Outcome.STOPPED: "INVALID_STOPPED_CARD",
    Outcome.INSUFFICIENT: "REJECT_CARD_PAYMENT",
    Outcome.LOST: "INVALID_CARD_LOST_OR_STOLEN",
    Outcome.INVALID: "INVALID_CARD_NUMBER",
    Outcome.SLOW: None,
    Outcome.HANG: None,
}

#: Outcomes a card company reports when the card is registered (billing key issuance); the
#: others show only when a charge is attempted.
REFUSED_AT_REGISTRATION = frozenset({Outcome.STOPPED, Outcome.LOST, Outcome.INVALID})


@dataclass(frozen=True)
class TestCard:
    outcome: Outcome
    issuer_code: str  # Toss card company code
    acquirer_code: str
    card_type: str  # 신용 / 체크
    #: issued abroad: a key-in payment needs no identity number (birth date / business number)
    foreign: bool = False


TEST_CARDS: dict[str, TestCard] = {
    "4330123412340005": TestCard(Outcome.APPROVE, "61", "61", "신용"),  # 현대카드
    "5365100000000006": TestCard(Outcome.APPROVE, "11", "11", "체크"),  # KB국민카드, check card
    "4330123412340013": TestCard(Outcome.DECLINE, "41", "41", "신용"),
    "4330123412340021": TestCard(Outcome.STOPPED, "51", "51", "신용"),
    "4330123412340039": TestCard(Outcome.INSUFFICIENT, "71", "71", "신용"),
    "4330123412340047": TestCard(Outcome.LOST, "21", "21", "신용"),
    "4330123412340054": TestCard(Outcome.INVALID, "91", "91", "신용"),
    "4330123412340062": TestCard(Outcome.SLOW, "31", "31", "신용"),
    "4330123412340070": TestCard(Outcome.HANG, "31", "31", "신용"),
    "4242424242424242": TestCard(Outcome.APPROVE, "4V", "21", "신용", foreign=True),  # VISA, issued abroad
    "5555555555554444": TestCard(Outcome.APPROVE, "4M", "21", "신용", foreign=True),  # Mastercard, abroad
    "4000000000000002": TestCard(Outcome.DECLINE, "4V", "21", "신용", foreign=True),  # VISA, declined
}

DEFAULT_CARD = TestCard(Outcome.APPROVE, "41", "41", "신용")  # 신한카드


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def lookup(number: str) -> TestCard | None:
    """The card for a digits-only number, or None when the number is not a card number at all."""
    if not number.isdigit() or not 13 <= len(number) <= 19 or not luhn_ok(number):
        return None
    return TEST_CARDS.get(number, DEFAULT_CARD)


def mask(number: str) -> str:
    """Toss's masking: the first 8 digits, 4 stars, 3 digits, a star (``43301234****123*``)."""
    if len(number) < 16:
        return number[:6] + "*" * (len(number) - 6)
    return number[:8] + "****" + number[12:15] + "*" + "*" * (len(number) - 16)
