"""Creating and listing merchants, key pairs and PG channels. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tollway.clock import Clock
from tollway.db.driver import Driver, Statement, loaded
from tollway.db.models import ApiKey, Merchant, PgChannel
from tollway.errors import BusinessError, InvalidRequest, NotFound
from tollway.merchants.channels import canonical_provider
from tollway.merchants.ids import new_channel_key, new_imp_key, new_imp_secret, new_user_code
from tollway.merchants.passwords import hash_secret
from tollway.sandbox.store import SandboxKeyConflict
from tollway.sandbox.store import register_merchant as register_sandbox_merchant
from tollway.vault import Secret, Vault

SECRET_KEY_PURPOSE = "pg_channel.secret_key"  # noqa: S105 - a label, not a secret
API_VERSIONS = ("1.4", "2022-07-27")


@dataclass(frozen=True)
class KeyPair:
    imp_key: str
    imp_secret: Secret


@dataclass(frozen=True)
class NewMerchant:
    merchant: Merchant
    key_pair: KeyPair


async def create_merchant(
    session: AsyncSession,
    clock: Clock,
    vault: Vault,
    name: str,
    *,
    user_code: str | None = None,
    imp_key: str | None = None,
    imp_secret: str | None = None,
    is_demo: bool = False,
) -> NewMerchant:
    if user_code is not None and not (user_code.startswith("imp") and user_code[3:].isdigit() and len(user_code) == 11):
        raise InvalidRequest("user_code must be 'imp' followed by 8 digits, e.g. imp12345678")
    merchant = Merchant(user_code=user_code or new_user_code(), name=name, is_demo=is_demo, created_at=clock.now())
    try:
        async with session.begin_nested():
            session.add(merchant)
    except IntegrityError:
        raise BusinessError(f"user code {merchant.user_code} is already taken") from None
    pair = await add_api_key(session, clock, vault, merchant, imp_key=imp_key, imp_secret=imp_secret)
    return NewMerchant(merchant, pair)


async def add_api_key(
    session: AsyncSession,
    clock: Clock,
    vault: Vault,
    merchant: Merchant,
    *,
    imp_key: str | None = None,
    imp_secret: str | None = None,
) -> KeyPair:
    """A new REST key pair; give both halves to configure a known pair (e.g. i'mport's public demo pair)."""
    if (imp_key is None) != (imp_secret is None):
        raise InvalidRequest("give both imp_key and imp_secret, or neither")
    if imp_secret is not None and len(imp_secret) < 10:
        raise InvalidRequest("imp_secret must be at least 10 characters")
    key = imp_key or new_imp_key()
    secret = imp_secret or new_imp_secret()
    row = ApiKey(merchant_id=merchant.id, imp_key=key, secret_hash=hash_secret(vault, secret), created_at=clock.now())
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise BusinessError(f"imp_key {key} is already in use") from None
    return KeyPair(key, Secret(secret))


async def list_merchants(session: AsyncSession) -> list[tuple[Merchant, list[str], int]]:
    """Each merchant with its active ``imp_key``s and its channel count."""
    merchants = (await session.scalars(select(Merchant).order_by(Merchant.id))).all()
    keys = (await session.execute(select(ApiKey.merchant_id, ApiKey.imp_key).where(ApiKey.revoked_at.is_(None)))).all()
    counted = await session.execute(select(PgChannel.merchant_id, func.count()).group_by(PgChannel.merchant_id))
    counts = {merchant_id: n for merchant_id, n in counted}
    return [(m, [k.imp_key for k in keys if k.merchant_id == m.id], counts.get(m.id, 0)) for m in merchants]


async def get_merchant(session: AsyncSession, ref: str) -> Merchant:
    """By user code (``imp12345678``) or numeric id."""
    condition = Merchant.id == int(ref) if ref.isdigit() else Merchant.user_code == ref
    merchant = await session.scalar(select(Merchant).where(condition))
    if merchant is None:
        raise NotFound(f"no merchant {ref!r}")
    return merchant


async def find_demo_merchant(session: AsyncSession) -> Merchant | None:
    return await session.scalar(select(Merchant).where(Merchant.is_demo).order_by(Merchant.id).limit(1))


async def add_channel(
    session: AsyncSession,
    clock: Clock,
    vault: Vault,
    merchant: Merchant,
    *,
    pg_provider: str,
    mid: str,
    client_key: str,
    secret_key: Secret,
    api_version: str = "1.4",
    sandbox: bool,
    channel_name: str | None = None,
    make_default: bool = False,
) -> PgChannel:
    """Adds a channel. The first channel of a merchant becomes its default."""
    provider = canonical_provider(pg_provider)
    if provider is None:
        raise InvalidRequest(f"unsupported pg_provider {pg_provider!r}: use 'tosspayments' (or the legacy 'uplus')")
    if not mid or "." in mid:
        raise InvalidRequest("mid must be non-empty and must not contain '.'")
    if api_version not in API_VERSIONS:
        raise InvalidRequest(f"api_version must be one of {', '.join(API_VERSIONS)}")
    existing = await session.scalar(
        select(func.count()).select_from(PgChannel).where(PgChannel.merchant_id == merchant.id)
    )
    first = not existing
    if make_default and not first:
        await session.execute(update(PgChannel).where(PgChannel.merchant_id == merchant.id).values(is_default=False))
    channel = PgChannel(
        merchant_id=merchant.id,
        channel_key=new_channel_key(),
        channel_name=channel_name or f"{provider} {mid}",
        pg_provider=provider,
        mid=mid,
        client_key=client_key,
        secret_key_sealed=vault.seal(secret_key, SECRET_KEY_PURPOSE),
        api_version=api_version,
        sandbox=sandbox,
        is_default=first or make_default,
        created_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(channel)
    except IntegrityError:
        raise BusinessError(f"merchant {merchant.user_code} already has a {provider} channel with MID {mid}") from None
    if sandbox:
        # The embedded sandbox PG shares this database: let the channel's keys in there.
        if not secret_key.reveal().startswith("test_"):
            raise InvalidRequest("a sandbox channel's secret key must be a test key (test_sk_…)")
        try:
            await register_sandbox_merchant(session, mid, client_key, secret_key.reveal(), clock.now())
        except SandboxKeyConflict as exc:
            raise BusinessError(str(exc)) from None
    return channel


async def list_channels(session: AsyncSession, merchant_id: int) -> list[PgChannel]:
    return list(
        (
            await session.scalars(select(PgChannel).where(PgChannel.merchant_id == merchant_id).order_by(PgChannel.id))
        ).all()
    )


_CHANNELS = cast(Table, PgChannel.__table__)
_CHANNEL_COLUMNS = tuple(c.key for c in _CHANNELS.columns)
_CHANNELS_OF = Statement(
    select(_CHANNELS).where(_CHANNELS.c.merchant_id == bindparam("merchant")).order_by(_CHANNELS.c.id)
)


async def channels_of(db: Driver, merchant_id: int) -> list[PgChannel]:
    """``list_channels`` for the charge paths: one prepared statement on the driver, unattached
    ``PgChannel`` values out (no session, no BEGIN and ROLLBACK around one read)."""
    async with db.connection() as conn:
        rows = await conn.all(_CHANNELS_OF, merchant=merchant_id)
    return [loaded(PgChannel, dict(zip(_CHANNEL_COLUMNS, row, strict=True))) for row in rows]


async def set_default_channel(session: AsyncSession, merchant_id: int, ref: str) -> PgChannel:
    """``ref`` is a channel key, a MID, or ``{provider}.{MID}``."""
    channels = await list_channels(session, merchant_id)
    provider, _, mid = ref.partition(".") if "." in ref else ("", "", ref)
    target = next(
        (
            c
            for c in channels
            if c.channel_key == ref
            or (c.mid == mid and (not provider or canonical_provider(provider) == c.pg_provider))
        ),
        None,
    )
    if target is None:
        raise NotFound(f"no channel {ref!r} for this merchant")
    # Clear first, then set: the partial unique index allows one default at a time.
    await session.execute(update(PgChannel).where(PgChannel.merchant_id == merchant_id).values(is_default=False))
    await session.execute(update(PgChannel).where(PgChannel.id == target.id).values(is_default=True))
    await session.refresh(target)
    return target


async def api_keys(session: AsyncSession, merchant_id: int) -> list[ApiKey]:
    """The merchant's key pairs, revoked ones included (the console lists them; secrets are hashes)."""
    return list(await session.scalars(select(ApiKey).where(ApiKey.merchant_id == merchant_id).order_by(ApiKey.id)))
