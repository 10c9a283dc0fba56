"""Sealing secrets at rest (PG secret keys now; billing keys later).

A sealed value is ``tv1:<key id>:<base64(nonce || ciphertext)>``: AES-256-GCM under the master
key, with the value's purpose as associated data, so a value sealed as one thing cannot be opened
as another. The key id names the master key that sealed it, so a later rotation can find the
values it must re-seal. Clear values only ever live in a ``Secret``, whose ``repr`` is ``***``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "tv1"


class VaultError(Exception):
    """A sealed value could not be opened (wrong key, wrong purpose, or tampered)."""


class Secret:
    """A clear secret that refuses to show itself in logs, reprs and f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise VaultError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(master_key)
        self.key_id = hashlib.sha256(b"tollway-key-id" + master_key).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"Vault(key_id={self.key_id!r})"

    def seal(self, clear: str | Secret, purpose: str) -> str:
        value = clear.reveal() if isinstance(clear, Secret) else clear
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), purpose.encode())
        return f"{_PREFIX}:{self.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, purpose: str) -> Secret:
        try:
            prefix, key_id, body = sealed.split(":", 2)
        except ValueError:
            raise VaultError("not a sealed value") from None
        if prefix != _PREFIX:
            raise VaultError("not a sealed value")
        if key_id != self.key_id:
            raise VaultError(f"sealed under key {key_id}, this vault holds {self.key_id}")
        raw = base64.urlsafe_b64decode(body)
        try:
            clear = self._aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag:
            raise VaultError("the sealed value was tampered with or sealed for another purpose") from None
        return Secret(clear.decode())


def load_master_key(env_value: str, key_file: Path, *, create: bool) -> bytes:
    """The master key from the environment, else from ``key_file`` (created 0600 if allowed)."""
    if env_value:
        try:
            key = base64.b64decode(env_value, validate=True)
        except ValueError:
            raise VaultError("TOLLWAY_MASTER_KEY must be base64 of 32 bytes") from None
        if len(key) != 32:
            raise VaultError("TOLLWAY_MASTER_KEY must be base64 of 32 bytes")
        return key
    if key_file.exists():
        key = base64.b64decode(key_file.read_text().strip())
        if len(key) != 32:
            raise VaultError(f"{key_file} does not hold base64 of 32 bytes")
        return key
    if not create:
        raise VaultError(f"no master key: set TOLLWAY_MASTER_KEY or create {key_file}")
    key = os.urandom(32)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key
