"""The embedded default: a demo merchant with a sandbox Toss channel, created on an empty database.

Its REST secret is stored only as a hash, so the clear pair is kept in ``<data_dir>/demo-merchant.json``
(mode 0600) to be printed at every start: a second start reuses the same merchant and pair. The demo
merchant also gets a console owner (``demo@tollway.local``), whose password is kept in the same file.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from tollway.db.console_models import ConsoleUser
from tollway.db.models import Merchant
from tollway.merchants import staff
from tollway.merchants.service import add_channel, create_merchant, find_demo_merchant, list_channels
from tollway.services import Services
from tollway.vault import Secret

SANDBOX_MID = "tollway_sandbox"
CONSOLE_EMAIL = "demo@tollway.local"


@dataclass(frozen=True)
class DemoMerchant:
    user_code: str
    imp_key: str
    imp_secret: str | None  # None when the credentials file is gone
    channel_key: str
    mid: str
    created: bool
    console_email: str = CONSOLE_EMAIL
    console_password: str | None = None  # None when the credentials file is gone


def _credentials_file(services: Services) -> Path:
    return services.settings.data_dir / "demo-merchant.json"


async def ensure_demo_merchant(services: Services) -> DemoMerchant | None:
    """Creates the demo merchant on an empty database; returns it (new or existing), or None."""
    async with services.sessions() as session:
        merchant = await find_demo_merchant(session)
        created = False
        if merchant is None:
            if await session.scalar(select(func.count()).select_from(Merchant)):
                return None  # a real installation: never add a demo beside real merchants
            new = await create_merchant(session, services.clock, services.vault, "Tollway Demo Shop", is_demo=True)
            merchant = new.merchant
            await add_channel(
                session,
                services.clock,
                services.vault,
                merchant,
                pg_provider="tosspayments",
                mid=SANDBOX_MID,
                client_key="test_ck_" + secrets.token_hex(10),
                secret_key=Secret("test_sk_" + secrets.token_hex(10)),
                api_version="1.4",
                sandbox=True,
                channel_name="Tollway sandbox (Toss-compatible)",
            )
            await session.commit()
            _write_credentials(
                _credentials_file(services),
                {
                    "user_code": merchant.user_code,
                    "imp_key": new.key_pair.imp_key,
                    "imp_secret": new.key_pair.imp_secret.reveal(),
                },
            )
            created = True
        channels = await list_channels(session, merchant.id)
        saved = _read_credentials(_credentials_file(services), merchant.user_code)
        has_console_user = await session.scalar(select(ConsoleUser.id).where(ConsoleUser.merchant_id == merchant.id))
        if has_console_user is None and saved is not None:
            user = await staff.create_user(
                session, services.clock, merchant_id=merchant.id, email=CONSOLE_EMAIL, role=staff.Role.OWNER
            )
            await session.commit()
            saved = {**saved, "console_password": user.generated_password or ""}
            _write_credentials(_credentials_file(services), saved)
    return DemoMerchant(
        user_code=merchant.user_code,
        imp_key=saved.get("imp_key", "") if saved else "",
        imp_secret=saved.get("imp_secret") if saved else None,
        channel_key=channels[0].channel_key if channels else "",
        mid=channels[0].mid if channels else "",
        created=created,
        console_password=saved.get("console_password") if saved else None,
    )


def _write_credentials(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)


def _read_credentials(path: Path, user_code: str) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("user_code") == user_code else None


async def demo_credentials(services: Services) -> dict[str, str] | None:
    """The demo merchant's user code and REST key pair, for the demo shop's own backend; None when
    this installation has no demo merchant (or its credentials file is gone)."""
    async with services.sessions() as session:
        merchant = await find_demo_merchant(session)
    if merchant is None:
        return None
    return _read_credentials(_credentials_file(services), merchant.user_code)
