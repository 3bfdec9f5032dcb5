"""Message authentication on the call channel (seed 001: "ensure packet authentication").

After ``session.welcome`` every client message carries ``seq`` (strictly increasing per session),
``ts`` (client clock, ms) and ``mac``: base64url (no padding) of HMAC-SHA256 under the session key
over the message's canonical form, which is the JSON object without ``mac``, keys sorted at every
level, no insignificant white space, UTF-8, non-ASCII characters unescaped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def canonical(message: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in message.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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
    except (UnicodeEncodeError, TypeError, ValueError):  # lone surrogates, non-JSON values: not ours
        return False
    return hmac.compare_digest(given, expected)
