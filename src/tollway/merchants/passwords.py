"""Hashing REST API secrets. Only the hash is stored; the secret is shown once at creation.

A REST secret is random and long (or, when given explicitly, at least 10 characters), so what a
stolen table must resist is not a dictionary but a search of the whole space: a keyed fast hash
does that. The hash is ``HMAC-SHA256(pepper, secret)`` where the pepper is derived from one of
the vault's data keys (``Vault.pepper``), which never sit in the database in clear:
``hmac-sha256$<data key id>$<base64 digest>``. Verifying costs microseconds, so a flood of wrong
secrets costs the process nearly nothing and holds no thread.

Hashes from before (``scrypt$N$r$p$salt$digest``) still verify, at scrypt's cost (tens of
milliseconds, in a thread, bounded by the caller); ``needs_rehash`` tells the caller to store the
HMAC form after such a success, so every key moves over on its next successful ``getToken``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from tollway.vault import UnknownDataKey, Vault

SCHEME = "hmac-sha256"
_PURPOSE = "api_key.secret"


def hash_secret(vault: Vault, secret: str) -> str:
    key_id, pepper = vault.pepper(_PURPOSE)
    return f"{SCHEME}${key_id}${_b64(_mac(pepper, secret))}"


def is_legacy(stored: str) -> bool:
    """A scrypt hash: slow to verify (use ``verify_scrypt`` in a thread, bounded)."""
    return stored.startswith("scrypt$")


def needs_rehash(vault: Vault, stored: str) -> bool:
    """True for scrypt hashes and HMAC hashes under a data key other than the active one."""
    if is_legacy(stored):
        return True
    parts = stored.split("$")
    return len(parts) != 3 or parts[1] != (vault.active_key_id or vault.key_id)


def verify_fast(vault: Vault, secret: str, stored: str) -> bool:
    """Checks an HMAC hash (False for anything else, including a key this process cannot load)."""
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != SCHEME:
        return False
    try:
        _, pepper = vault.pepper(_PURPOSE, parts[1])
        expected = base64.b64decode(parts[2])
    except (UnknownDataKey, ValueError):
        return False
    return hmac.compare_digest(_mac(pepper, secret), expected)


def verify_scrypt(secret: str, stored: str) -> bool:
    """Checks a hash from before HMAC (CPU-heavy: run it in a thread, never holding a connection)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


def scrypt_hash(secret: str, salt: bytes, n: int = 2**14) -> str:
    """The legacy format (tests build old rows with it; nothing new is stored this way)."""
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${_b64(salt)}${_b64(digest)}"


def _mac(pepper: bytes, secret: str) -> bytes:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
