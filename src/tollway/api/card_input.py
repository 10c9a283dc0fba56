"""Card fields as V1 sends them (``card_number`` dddd-dddd-dddd-dddd, ``expiry`` YYYY-MM, ``birth``,
``pwd_2digit``) turned into ``CardData``. Error messages name the field and the expected form and
never repeat what was sent."""

from __future__ import annotations

import re

from tollway import v1texts
from tollway.errors import BusinessError
from tollway.payments.pgsync import UNKNOWN_CARD_NUMBER
from tollway.pg.base import CardData
from tollway.vault import Secret

_EXPIRY = re.compile(r"^(\d{4})[-/.]?(\d{2})$")
#: What i'mport answers (HTTP 200, code -1) when the card company does not know a card number: it
#: hands the number to the PG as sent, and the card company refuses it (its clients assert code -1)
CARD_NUMBER_REFUSED = f"카드정보 인증에 실패하였습니다. {UNKNOWN_CARD_NUMBER}"
FOREIGN_REFUSED = CARD_NUMBER_REFUSED


def card_data(
    card_number: str, expiry: str, birth: str | None, pwd_2digit: str | None, *, foreign: bool = False
) -> CardData:
    """``foreign``: a card issued abroad (``/subscribe/payments/foreign``), which takes no identity
    number and no password: ``birth`` and ``pwd_2digit`` are then ignored."""
    number = card_number.replace("-", "").replace(" ", "")
    if not number.isdigit() or not 13 <= len(number) <= 19:
        raise BusinessError(CARD_NUMBER_REFUSED, code=-1, detail="card_number must be 13 to 19 digits")
    match = _EXPIRY.match(expiry.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise v1texts.invalid("expiry", "YYYY-MM (e.g. 2029-12)")
    year, month = Secret(match.group(1)[2:]), Secret(match.group(2))
    if foreign:
        return CardData(number=Secret(number), expiry_year=year, expiry_month=month, identity=None)
    if birth is None or not birth.strip():
        raise v1texts.invalid("birth", "tosspayments needs YYMMDD or a 10-digit business number", v1texts.MISSING)
    identity = birth.strip().replace("-", "")
    if not identity.isdigit() or len(identity) not in (6, 10):
        raise v1texts.invalid("birth", "YYMMDD (6 digits) or a 10-digit business number")
    password = None
    if pwd_2digit is not None and pwd_2digit.strip():
        if not (len(pwd_2digit.strip()) == 2 and pwd_2digit.strip().isdigit()):
            raise v1texts.invalid("pwd_2digit", "the first 2 digits of the card password")
        password = Secret(pwd_2digit.strip())
    return CardData(
        number=Secret(number),
        expiry_year=year,
        expiry_month=month,
        identity=Secret(identity),
        password_2digit=password,
    )
