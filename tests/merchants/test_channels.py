"""Channel resolution follows the V1 rules (one → it; several → default unless `pg` names one)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tollway.errors import BusinessError
from tollway.merchants.channels import resolve_channel


@dataclass(frozen=True)
class Ch:
    pg_provider: str
    mid: str
    is_default: bool = False


A = Ch("tosspayments", "mid_a")
B = Ch("tosspayments", "mid_b", is_default=True)
C = Ch("tosspayments", "mid_c")


class TestResolveChannel:
    def test_no_channel_is_v1s_business_error(self) -> None:
        with pytest.raises(BusinessError, match="PG 설정"):
            resolve_channel([], None)

    @pytest.mark.parametrize("pg", [None, "", "tosspayments", "uplus", "tosspayments.other", "html5_inicis"])
    def test_one_channel_is_always_it(self, pg: str | None) -> None:
        assert resolve_channel([A], pg) is A

    @pytest.mark.parametrize("pg", [None, "", "  "])
    def test_several_without_pg_give_the_default(self, pg: str | None) -> None:
        assert resolve_channel([A, B, C], pg) is B

    @pytest.mark.parametrize("pg", ["tosspayments", "uplus", "TossPayments"])
    def test_naming_the_provider_gives_its_default(self, pg: str) -> None:
        assert resolve_channel([A, B, C], pg) is B

    @pytest.mark.parametrize(("pg", "expected"), [("tosspayments.mid_c", C), ("uplus.mid_a", A)])
    def test_naming_the_mid_gives_that_channel(self, pg: str, expected: Ch) -> None:
        assert resolve_channel([A, B, C], pg) is expected

    @pytest.mark.parametrize("pg", ["tosspayments.nope", "kcp", "kcp.mid_a"])
    def test_anything_unmatched_falls_back_to_the_default(self, pg: str) -> None:
        assert resolve_channel([A, B, C], pg) is B

    def test_without_a_marked_default_the_first_is_used(self) -> None:
        assert resolve_channel([A, C], None) is A
