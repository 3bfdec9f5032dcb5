"""Message authentication on the call channel (seed 001: "ensure packet authentication").

After ``session.welcome`` every client message carries ``seq`` (strictly increasing per session),
``ts`` (client clock, ms) and ``mac``: base64url (no padding) of HMAC-SHA256 under the session key
over the message's canonical form: the RFC 8785 form (``vkyc.protocol.canonical``) of the JSON object
without its top-level ``mac``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from vkyc.protocol.canonical import NotCanonical, canonical_json


def canonical(message: Mapping[str, Any]) -> bytes:
    """The bytes the MAC covers; ``NotCanonical`` (a ``ValueError``) if the message has none."""
    return canonical_json({k: v for k, v in message.items() if k != "mac"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(key: bytes, message: Mapping[str, Any]) -> str:
    return b64url(hmac.new(key, canonical(message), hashlib.sha256).digest())


def sign(key: bytes, message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` with its ``mac`` (the caller has set ``seq`` and ``ts``)."""
    signed = dict(message)
    signed["mac"] = mac(key, signed)
    return signed


def verify(key: bytes, message: Mapping[str, Any]) -> bool:
    given = message.get("mac")
    if not isinstance(given, str) or not given.isascii():
        return False
    try:
        expected = mac(key, message)
    except NotCanonical:  # unpaired surrogates, numbers beyond ±(2**53 - 1): no client could sign it
        return False
    return hmac.compare_digest(given, expected)
