from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tollway.vault import Secret, Vault, VaultError, load_master_key


def test_seal_and_open_round_trip_with_a_key_id() -> None:
    vault = Vault(os.urandom(32))
    sealed = vault.seal("test_sk_123", "pg_channel.secret_key")
    assert sealed.startswith(f"tv1:{vault.key_id}:") and "test_sk_123" not in sealed
    assert vault.open(sealed, "pg_channel.secret_key").reveal() == "test_sk_123"


def test_a_value_sealed_for_one_purpose_does_not_open_as_another() -> None:
    vault = Vault(os.urandom(32))
    with pytest.raises(VaultError, match="purpose"):
        vault.open(vault.seal("x", "a"), "b")


def test_another_key_or_tampering_is_refused() -> None:
    vault = Vault(os.urandom(32))
    sealed = vault.seal("x", "a")
    with pytest.raises(VaultError, match="sealed under key"):
        Vault(os.urandom(32)).open(sealed, "a")
    body = bytearray(base64.urlsafe_b64decode(sealed.split(":")[2]))
    body[-1] ^= 1
    with pytest.raises(VaultError):
        vault.open(f"tv1:{vault.key_id}:{base64.urlsafe_b64encode(bytes(body)).decode()}", "a")


def test_secrets_never_show_themselves() -> None:
    secret = Secret("live_sk_abc")
    assert "live_sk_abc" not in repr(secret) and "live_sk_abc" not in f"{secret}" and "live_sk_abc" not in str([secret])


def test_master_key_from_env_file_or_created(tmp_path: Path) -> None:
    raw = os.urandom(32)
    assert load_master_key(base64.b64encode(raw).decode(), tmp_path / "none", create=False) == raw
    with pytest.raises(VaultError):
        load_master_key("", tmp_path / "missing.key", create=False)
    created = load_master_key("", tmp_path / "new.key", create=True)
    assert len(created) == 32 and (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    assert load_master_key("", tmp_path / "new.key", create=False) == created
    with pytest.raises(VaultError):
        load_master_key("bm90LTMyLWJ5dGVz", tmp_path / "x", create=False)
