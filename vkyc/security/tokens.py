"""Short-lived signed tokens: ``base64url(JSON claims) . base64url(HMAC-SHA256)``.

Issued by the auth endpoints, presented once at WebSocket ``$connect`` (``?token=``). The secret
comes from ``VKYC_TOKEN_SECRET`` (at least 32 characters): the environment locally, Secrets Manager in a
deployment (``vkyc.secret_store``).
Claims always hold ``role``, ``sub`` (the principal), ``unit``, ``iat`` and ``exp`` (epoch seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from vkyc import secret_store
from vkyc.protocol.signing import b64url, b64url_decode

MIN_SECRET_LENGTH = 32


class TokenError(Exception):
    """``code`` is the catalogue code: TOKEN_INVALID or TOKEN_EXPIRED."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class SecretMissing(RuntimeError):
    pass


def secret() -> bytes:
    value = secret_store.get("VKYC_TOKEN_SECRET")
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretMissing(f"VKYC_TOKEN_SECRET must be set to at least {MIN_SECRET_LENGTH} characters")
    return value.encode("utf-8")


def _signature(key: bytes, body: str) -> str:
    return b64url(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def issue(claims: dict[str, Any], ttl_s: int, *, key: bytes | None = None, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    full = {**claims, "iat": issued, "exp": issued + ttl_s, "jti": secrets.token_hex(8)}
    body = b64url(json.dumps(full, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_signature(key or secret(), body)}"


def verify(token: str, *, key: bytes | None = None, now: float | None = None) -> dict[str, Any]:
    """The claims of a valid, unexpired token; raises ``TokenError`` otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise TokenError("TOKEN_INVALID", "malformed token")
    body, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(key or secret(), body)):
        raise TokenError("TOKEN_INVALID", "bad signature")
    try:
        claims = json.loads(b64url_decode(body))
    except ValueError:
        raise TokenError("TOKEN_INVALID", "unreadable claims") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise TokenError("TOKEN_INVALID", "claims without expiry")
    if claims["exp"] <= (time.time() if now is None else now):
        raise TokenError("TOKEN_EXPIRED", "token expired")
    return claims


def random_token(nbytes: int = 32) -> str:
    return b64url(secrets.token_bytes(nbytes))


def digest(token: str) -> str:
    """What is stored for a bearer secret (resume token): never the secret itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
