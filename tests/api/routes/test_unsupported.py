"""The V1 endpoints of features Toss lacks answer i'mport's refusal as a V1 envelope: certifications,
escrow logistics, sub-merchant tiers (the ``Tier`` header too)."""

from __future__ import annotations

import httpx

from tests.api.routes.pg_helpers import onetime, v1_client
from tests.conftest import MerchantFixture, make_merchant
from tollway.services import Services

NO_CERTIFICATION = "인증결과가 존재하지 않습니다."
UNKNOWN_TIER = "등록되지 않았거나 이미 삭제된 하위 상점(Tier) 코드입니다."


def envelope(answer: httpx.Response, status: int, code: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json() == {"code": code, "message": message, "response": None}
    assert answer.headers["content-type"].startswith("application/json")


async def test_certifications_are_not_found_and_otp_is_not_offered(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        envelope(await api.get("/certifications/imp_12341234"), 404, -1, NO_CERTIFICATION)
        envelope(await api.delete("/certifications/imp_12341234"), 404, -1, NO_CERTIFICATION)
        body = {"name": "홍길동", "phone": "01012345678", "birth": "900101", "gender_digit": "1", "carrier": "SKT"}
        otp = await api.post("/certifications/otp/request", json=body)
        envelope(otp, 400, 1, "본인인증 서비스를 제공하는 PG사 설정 정보를 찾을 수 없습니다.")
        assert "certification provider" in otp.headers["tollway-detail"]
        confirm = await api.post("/certifications/otp/confirm/imp_12341234", json={"otp": "123456"})
        envelope(confirm, 400, 1, "본인인증 서비스를 제공하는 PG사 설정 정보를 찾을 수 없습니다.")
        assert "01012345678" not in otp.text + str(otp.headers)
    async with httpx.AsyncClient(base_url=live) as anonymous:
        assert (await anonymous.get("/certifications/imp_12341234")).status_code == 401


async def test_escrow_delivery_registration_is_refused_for_a_toss_payment(
    live: str, merchant: MerchantFixture, services: Services
) -> None:
    other = await make_merchant(services, "Other shop", mid="othermid")
    logis = {
        "sender": {"name": "판매자", "tel": "02-1234-5678", "addr": "서울", "postcode": "12345"},
        "receiver": {"name": "구매자", "tel": "010-1234-5678", "addr": "부산", "postcode": "54321"},
        "logis": {"company": "CJGLS", "invoice": "1234567890", "sent_at": 1767225600},
    }
    refusal = "토스페이먼츠는 에스크로 배송정보 등록 API를 지원하지 않습니다."
    async with v1_client(live, merchant) as api:
        paid = (await api.post("/subscribe/payments/onetime", json=onetime())).json()["response"]
        for method in ("POST", "PUT", "GET"):
            answer = await api.request(method, f"/escrows/logis/{paid['imp_uid']}", json=logis)
            envelope(answer, 400, 1, refusal)
            assert "dashboard" in answer.headers["tollway-detail"]
        envelope(
            await api.post("/escrows/logis/imp_000000000000", json=logis), 404, -1, "존재하지 않는 결제정보입니다."
        )
    async with v1_client(live, other) as stranger:
        answer = await stranger.post(f"/escrows/logis/{paid['imp_uid']}", json=logis)
        envelope(answer, 404, -1, "존재하지 않는 결제정보입니다.")


async def test_no_tier_exists_and_the_tier_header_is_refused(live: str, merchant: MerchantFixture) -> None:
    async with v1_client(live, merchant) as api:
        envelope(await api.get("/tiers/ABC"), 404, -1, UNKNOWN_TIER)
        envelope(await api.get("/payments/status/all", headers={"Tier": "ABC"}), 404, -1, UNKNOWN_TIER)
        assert (await api.get("/payments/status/all", headers={"Tier": ""})).json()["code"] == 0
        keys = {"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret}
        envelope(await api.post("/users/getToken", json=keys, headers={"Tier": "ABC"}), 404, -1, UNKNOWN_TIER)
        wrong = await api.post("/users/getToken", json={**keys, "imp_secret": "wrong"}, headers={"Tier": "ABC"})
        assert wrong.status_code == 401  # who is asking comes first
