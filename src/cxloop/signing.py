"""HMAC-SHA256 signatures: every body cxloop signs or checks is signed and compared here.

Two encodings are in use: Shopify and WooCommerce send base64 of the HMAC of the raw body;
cxloop's own ``X-Cxloop-Signature`` (alert webhooks going out, email provider events coming
in) is ``sha256=`` and the hex HMAC, as GitHub's webhooks. Signatures are compared in constant
time, so that a forger learns nothing from how long a refusal takes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

HEADER = "X-Cxloop-Signature"


def sign(secret: str | bytes, body: bytes, *, encoding: Literal["hex", "base64"] = "hex") -> str:
    """The HMAC-SHA256 of ``body`` under ``secret``, in hex or base64."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, body, hashlib.sha256)
    return mac.hexdigest() if encoding == "hex" else base64.b64encode(mac.digest()).decode()


def header_value(secret: str, body: bytes) -> str:
    """The value of ``X-Cxloop-Signature`` for ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + sign(secret, body)


def matches(given: str, expected: str) -> bool:
    """Whether a presented signature is the expected one, compared in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


__all__ = ["HEADER", "header_value", "matches", "sign"]
