"""Code tables between i'mport V1 (KFTC 3-digit codes) and Toss (2-character institution codes).

References: toss-v1 §8.1 (Toss card companies), §8.2 (banks), §9 (the KFTC→Toss card mapping,
inferred by name). Where no KFTC code exists (foreign brands, 토스뱅크 cards…) V1 gets ``None``
for the code and still the Korean name.
"""

from __future__ import annotations

#: Toss card company code → (API enum, Korean name)
TOSS_CARDS: dict[str, tuple[str, str]] = {
    "3K": ("IBK_BC", "기업BC"),
    "46": ("GWANGJUBANK", "광주은행"),
    "71": ("LOTTE", "롯데카드"),
    "30": ("KDBBANK", "KDB산업은행"),
    "31": ("BC", "BC카드"),
    "51": ("SAMSUNG", "삼성카드"),
    "38": ("SAEMAUL", "새마을금고"),
    "41": ("SHINHAN", "신한카드"),
    "62": ("SHINHYEOP", "신협"),
    "36": ("CITI", "씨티카드"),
    "33": ("WOORI", "우리BC카드"),
    "W1": ("WOORI", "우리카드"),
    "37": ("POST", "우체국예금보험"),
    "39": ("SAVINGBANK", "저축은행중앙회"),
    "35": ("JEONBUKBANK", "전북은행"),
    "42": ("JEJUBANK", "제주은행"),
    "15": ("KAKAOBANK", "카카오뱅크"),
    "3A": ("KBANK", "케이뱅크"),
    "24": ("TOSSBANK", "토스뱅크"),
    "21": ("HANA", "하나카드"),
    "61": ("HYUNDAI", "현대카드"),
    "11": ("KOOKMIN", "KB국민카드"),
    "91": ("NONGHYEOP", "NH농협카드"),
    "34": ("SUHYEOP", "Sh수협은행"),
    "6D": ("DINERS", "다이너스 클럽"),
    "4M": ("MASTER", "마스터카드"),
    "3C": ("UNIONPAY", "유니온페이"),
    "7A": ("AMEX", "아메리칸 익스프레스"),
    "4J": ("JCB", "JCB"),
    "4V": ("VISA", "VISA"),
}

#: KFTC card code (V1 ``card_code``, ``card.direct.code``) → Toss card company code
KFTC_TO_TOSS_CARD: dict[str, str] = {
    "361": "31",
    "381": "11",
    "367": "61",
    "365": "51",
    "368": "71",
    "371": "91",
    "041": "W1",
    "374": "21",
    "045": "38",
    "373": "42",
    "364": "46",
    "366": "41",
    "002": "30",
    "369": "34",
    "048": "62",
    "370": "36",
    "071": "37",
    "089": "3A",
    "372": "35",
    "090": "15",
}

TOSS_TO_KFTC_CARD: dict[str, str] = {toss: kftc for kftc, toss in KFTC_TO_TOSS_CARD.items()}
TOSS_TO_KFTC_CARD["33"] = "041"  # 우리BC: a 우리 card acquired by BC

#: KFTC bank code (V1 ``refund_bank`` for tosspayments) → Toss bank code
KFTC_TO_TOSS_BANK: dict[str, str] = {
    "002": "02",
    "003": "03",
    "004": "06",
    "007": "07",
    "011": "11",
    "012": "12",
    "020": "20",
    "023": "23",
    "027": "27",
    "031": "31",
    "032": "32",
    "034": "34",
    "035": "35",
    "037": "37",
    "039": "39",
    "045": "45",
    "048": "48",
    "050": "50",
    "064": "64",
    "071": "71",
    "081": "81",
    "088": "88",
    "089": "89",
    "090": "90",
    "092": "92",
}
TOSS_BANK_CODES = frozenset(KFTC_TO_TOSS_BANK.values()) | {"30", "54", "60"}

TOSS_TO_KFTC_BANK: dict[str, str] = {toss: kftc for kftc, toss in KFTC_TO_TOSS_BANK.items()}

#: Toss ``card.cardType`` → V1 ``card_type`` (0 credit, 1 check; None when unknown)
CARD_TYPES: dict[str, int] = {"신용": 0, "체크": 1}


def toss_card_name(code: str | None) -> str | None:
    if code is None:
        return None
    entry = TOSS_CARDS.get(code)
    return entry[1] if entry else None


def kftc_card_code(toss_code: str | None) -> str | None:
    return TOSS_TO_KFTC_CARD.get(toss_code) if toss_code else None


def toss_card_code(kftc_code: str) -> str | None:
    return KFTC_TO_TOSS_CARD.get(kftc_code)


def kftc_bank_code(toss_code: str | None) -> str | None:
    return TOSS_TO_KFTC_BANK.get(toss_code) if toss_code else None


def toss_bank_code(v1_bank: str) -> str | None:
    """V1 ``refund_bank`` (KFTC 3-digit for tosspayments; a Toss 2-digit code is taken as is)."""
    code = v1_bank.strip()
    if code in KFTC_TO_TOSS_BANK:
        return KFTC_TO_TOSS_BANK[code]
    if code in TOSS_BANK_CODES:
        return code
    return None
