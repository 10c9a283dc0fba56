"""Sealing secrets at rest: PG secret keys, billing keys, access tokens.

Envelope encryption. Values are sealed with AES-256-GCM under a **data key**:
``tv2:<data key id>:<base64(nonce || ciphertext)>``, with the value's purpose as associated data
(a value sealed as one thing cannot be opened as another). Data keys live in the database
(``vault_keys``), each *wrapped* (sealed) by the **master key** from the environment or a key
file: ``tv1:<master key id>:…``, the same format, which is also how values were sealed before
data keys existed (still readable). ``vault.keyring`` loads and rotates the data keys.

Clear values only ever live in a ``Secret``, whose ``repr`` is ``***``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "tv1"  # sealed directly under the master key (data keys; values from before data keys)
_DATA_PREFIX = "tv2"  # sealed under a data key
DATA_KEY_PURPOSE = "vault.data_key"

_log = structlog.get_logger("tollway.vault")


class VaultError(Exception):
    """A sealed value could not be opened (wrong key, wrong purpose, or tampered)."""


class UnknownDataKey(VaultError):
    """Sealed under a data key this process has not loaded (another node rotated): reload the keyring."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"sealed under data key {key_id}, which this process has not loaded")
        self.key_id = key_id


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


def master_key_id(master_key: bytes) -> str:
    return hashlib.sha256(b"tollway-key-id" + master_key).hexdigest()[:12]


def _seal(aead: AESGCM, prefix: str, key_id: str, value: bytes, purpose: str) -> str:
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, value, purpose.encode())
    return f"{prefix}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def _open(aead: AESGCM, body: str, purpose: str) -> bytes:
    raw = base64.urlsafe_b64decode(body)
    try:
        return aead.decrypt(raw[:12], raw[12:], purpose.encode())
    except InvalidTag:
        raise VaultError("the sealed value was tampered with or sealed for another purpose") from None


def sealed_key_id(sealed: str) -> str:
    """The id of the key a value is sealed under (``tv2:<id>:…`` or ``tv1:<id>:…``)."""
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] not in (_PREFIX, _DATA_PREFIX):
        raise VaultError("not a sealed value")
    return parts[1]


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise VaultError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(master_key)
        self.key_id = master_key_id(master_key)
        self._master = master_key
        self._data: dict[str, AESGCM] = {}
        self._raw: dict[str, bytes] = {}
        self.active_key_id: str | None = None

    def __repr__(self) -> str:
        return f"Vault(key_id={self.key_id!r}, data_keys={sorted(self._data)!r}, active={self.active_key_id!r})"

    # -- data keys ------------------------------------------------------------------------------

    def wrap(self, data_key: bytes) -> str:
        """A data key sealed by the master key, for ``vault_keys.wrapped``."""
        return _seal(self._aead, _PREFIX, self.key_id, base64.b64encode(data_key), DATA_KEY_PURPOSE)

    def unwrap(self, wrapped: str) -> bytes:
        prefix, key_id, body = wrapped.split(":", 2)
        if prefix != _PREFIX or key_id != self.key_id:
            raise VaultError(f"data key wrapped under master key {key_id}, this vault holds {self.key_id}")
        return base64.b64decode(_open(self._aead, body, DATA_KEY_PURPOSE))

    def install(self, data_keys: dict[str, bytes], active: str | None) -> None:
        """The data keys this process can open values with, and the one new values are sealed under."""
        self._data = {key_id: AESGCM(key) for key_id, key in data_keys.items()}
        self._raw = dict(data_keys)
        if active is not None and active not in self._data:
            raise VaultError(f"the active data key {active} is not among the installed ones")
        self.active_key_id = active

    def knows(self, key_id: str) -> bool:
        return key_id in self._data or key_id == self.key_id

    def pepper(self, purpose: str, key_id: str | None = None) -> tuple[str, bytes]:
        """A secret key for keyed hashes (``HMAC(pepper, value)``), derived from a data key.

        Without ``key_id``: from the active data key (the master key before a keyring is loaded),
        returned with that key's id, which the hash must record. With ``key_id``: from that key,
        so hashes made before a rotation keep verifying (retired data keys stay loaded).
        Raises ``UnknownDataKey`` for a key this process has not loaded.
        """
        kid = key_id or self.active_key_id or self.key_id
        if kid in self._raw:
            base = self._raw[kid]
        elif kid == self.key_id:
            base = self._master
        else:
            raise UnknownDataKey(kid)
        return kid, hmac.new(base, b"tollway-pepper:" + purpose.encode(), hashlib.sha256).digest()

    # -- values ---------------------------------------------------------------------------------

    def seal(self, clear: str | Secret, purpose: str) -> str:
        value = (clear.reveal() if isinstance(clear, Secret) else clear).encode()
        if self.active_key_id is None:  # no keyring loaded (yet): the master key itself
            return _seal(self._aead, _PREFIX, self.key_id, value, purpose)
        return _seal(self._data[self.active_key_id], _DATA_PREFIX, self.active_key_id, value, purpose)

    def open(self, sealed: str, purpose: str) -> Secret:
        try:
            prefix, key_id, body = sealed.split(":", 2)
        except ValueError:
            raise VaultError("not a sealed value") from None
        if prefix == _DATA_PREFIX:
            aead = self._data.get(key_id)
            if aead is None:
                raise UnknownDataKey(key_id)
            return Secret(_open(aead, body, purpose).decode())
        if prefix != _PREFIX:
            raise VaultError("not a sealed value")
        if key_id != self.key_id:
            raise VaultError(f"sealed under key {key_id}, this vault holds {self.key_id}")
        return Secret(_open(self._aead, body, purpose).decode())


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
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    _log.warning(
        "created a new master key: keep it safe, the secrets sealed under it cannot be opened without it",
        path=str(key_file),
    )
    return key
