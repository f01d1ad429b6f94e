"""HMAC-SHA256 signing, checked against RFC 4231's published test vector."""

from __future__ import annotations

import base64

from cxloop import signing

# RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
KEY = "Jefe"
DATA = b"what do ya want for nothing?"
HMAC_SHA256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_signatures_match_the_published_hmac_in_each_encoding() -> None:
    assert signing.sign(KEY, DATA) == HMAC_SHA256
    assert signing.sign(KEY.encode(), DATA) == HMAC_SHA256
    assert (
        signing.sign(KEY, DATA, encoding="base64")
        == base64.b64encode(bytes.fromhex(HMAC_SHA256)).decode()
    )
    assert signing.header_value(KEY, DATA) == "sha256=" + HMAC_SHA256


def test_only_the_expected_signature_matches() -> None:
    expected = signing.header_value(KEY, DATA)
    assert signing.matches(expected, expected)
    assert not signing.matches("sha256=" + "0" * 64, expected)
    assert not signing.matches("", expected)
    # a header that is not ASCII is refused, not an error
    assert not signing.matches("sha256=é", expected)
