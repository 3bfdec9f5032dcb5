"""How a webhook delivery is signed, and how a receiver verifies it (docs/webhooks.md, with test vectors
in ``docs/webhooks/signature-vectors.json``).

Each delivery carries the header::

    Vkyc-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``t`` is the Unix time (seconds) at which this attempt was signed; each ``v1`` is the lower-case hex
HMAC-SHA256, keyed with the subscription's secret (its UTF-8 bytes, ``whsec_`` prefix included), of the
ASCII decimal ``t``, a dot, and the raw request body, byte for byte as received. While a secret is being
rotated a delivery carries two ``v1`` (the new secret's first); a receiver accepts the delivery when any
of them matches one of the secrets it holds. A receiver refuses a ``t`` more than ``TOLERANCE_S`` away
from its own clock (a replayed delivery), and dedupes by the event id in the body (retries repeat it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

HEADER = "Vkyc-Signature"
SCHEME = "v1"
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


class SignatureInvalid(Exception):
    """The delivery must be refused: the message says why (for the receiver's log, not its answer)."""


def new_secret() -> str:
    """A fresh subscription secret: ``whsec_`` and 32 random bytes in base64url (43 characters)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` value: hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def header_value(secrets_in_order: Iterable[str], timestamp: int, body: bytes) -> str:
    """``t=<timestamp>,v1=<sig>[,v1=<sig>...]``, one ``v1`` per secret (current first)."""
    parts = [f"t={int(timestamp)}"]
    parts += [f"{SCHEME}={signature(secret, timestamp, body)}" for secret in secrets_in_order]
    return ",".join(parts)


def verify(
    secret: str | Iterable[str], header: str | None, body: bytes, now: float, tolerance_s: int = TOLERANCE_S
) -> int:
    """Check a received delivery; return its ``t``. Raises ``SignatureInvalid`` when the header is
    missing or malformed, ``t`` is outside the tolerance, or no ``v1`` matches a secret."""
    held = [secret] if isinstance(secret, str) else list(secret)
    if not header:
        raise SignatureInvalid(f"no {HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureInvalid(f"{HEADER} needs t=<unix seconds> and at least one {SCHEME}=<hex>")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureInvalid(f"t={timestamp} is more than {tolerance_s} s from now ({int(now)})")
    for key in held:
        expected = signature(key, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return timestamp
    raise SignatureInvalid("no v1 signature matches the secret")
