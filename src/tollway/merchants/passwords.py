"""Hashing REST API secrets. Only the hash is stored; the secret is shown once at creation.

scrypt makes a stolen table expensive to attack even for secrets a person chose (a key pair can be
given explicitly). Verifying costs tens of milliseconds, so ``KeyCheckCache`` remembers pairs that
already verified, keyed by a fast digest, to keep repeat ``getToken`` calls cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import OrderedDict

_N, _R, _P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
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


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class KeyCheckCache:
    """Pairs ``(imp_key, secret, stored hash)`` that verified before, by a fast keyed digest.

    The stored hash is part of the entry, so re-keying an API key invalidates what was remembered.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._pepper = os.urandom(32)
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def _digest(self, imp_key: str, secret: str, stored: str) -> bytes:
        msg = "\0".join((imp_key, secret, stored)).encode()
        return hmac.new(self._pepper, msg, hashlib.sha256).digest()

    def seen(self, imp_key: str, secret: str, stored: str) -> bool:
        digest = self._digest(imp_key, secret, stored)
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return True
        return False

    def remember(self, imp_key: str, secret: str, stored: str) -> None:
        self._seen[self._digest(imp_key, secret, stored)] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
