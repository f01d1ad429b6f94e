"""Secrets cxloop must use, not just check (a store's API token, an SMS provider's key), kept
sealed in the store: Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``) under a key
derived from the server's secret key, one derivation per purpose. A copy of the database alone
reveals none of them; changing the server's secret key makes them unreadable (they must then be
given again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken


class Unreadable(Exception):  # noqa: N818  (a state, not a failure of ours)
    """A sealed value that this server's key cannot open."""


@lru_cache(maxsize=32)
def _box(secret_key: str, purpose: str) -> Fernet:
    derived = hmac.new(secret_key.encode(), f"cxloop.sealing:{purpose}".encode(), hashlib.sha256)
    return Fernet(base64.urlsafe_b64encode(derived.digest()))


def seal(secret_key: str, purpose: str, value: str) -> str:
    """``value`` sealed for ``purpose`` (a different output each time)."""
    return _box(secret_key, purpose).encrypt(value.encode()).decode()


def unseal(secret_key: str, purpose: str, sealed: str) -> str:
    """The value sealed for ``purpose``; ``Unreadable`` if this key did not seal it."""
    try:
        return _box(secret_key, purpose).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise Unreadable(purpose) from exc


__all__ = ["Unreadable", "seal", "unseal"]
