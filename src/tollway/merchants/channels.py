"""Which PG channel a request uses: the V1 rules, as one pure function.

- no channel → the merchant has no PG settings (V1's ``code 1`` answer);
- ``pg`` empty → the only channel, or else the default one;
- ``pg`` = a provider (``tosspayments``, or the legacy alias ``uplus``) → that provider's default
  channel, or its first one;
- ``pg`` = ``{provider}.{MID}`` → that exact channel;
- anything that matches nothing falls back to the default, as i'mport does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from tollway.errors import BusinessError

#: Provider names a caller may write, and the provider they mean.
PROVIDER_ALIASES = {"tosspayments": "tosspayments", "uplus": "tosspayments"}
SUPPORTED_PROVIDERS = frozenset(PROVIDER_ALIASES.values())


class ChannelLike(Protocol):
    @property
    def pg_provider(self) -> str: ...
    @property
    def mid(self) -> str: ...
    @property
    def is_default(self) -> bool: ...


C = TypeVar("C", bound=ChannelLike)


def canonical_provider(name: str) -> str | None:
    return PROVIDER_ALIASES.get(name.strip().lower())


def resolve_channel(channels: Sequence[C], pg: str | None) -> C:
    if not channels:
        raise BusinessError("PG 설정 정보를 찾을 수 없습니다. (no PG channel is configured for this merchant)")
    default = next((c for c in channels if c.is_default), channels[0])
    if len(channels) == 1 or not pg or not pg.strip():
        return default
    provider_part, _, mid = pg.strip().partition(".")
    provider = canonical_provider(provider_part)
    if provider is None:
        return default
    same_provider = [c for c in channels if c.pg_provider == provider]
    if mid:
        exact = next((c for c in same_provider if c.mid == mid), None)
        return exact or default
    if not same_provider:
        return default
    return next((c for c in same_provider if c.is_default), same_provider[0])
