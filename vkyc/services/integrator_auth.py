"""Who calls the integrator API (``/v1``): the unit of the API key presented, as
``Authorization: ApiKey <key>`` or ``x-api-key: <key>`` (the header ``POST /auth/mobile`` takes).

Wrong keys count against the caller's address and lock it as they do for ``POST /auth/mobile``
(``CredentialGuard.api_key``; figures in docs/security.md). Refusals: ``AUTH_REQUIRED`` (no key, another
``Authorization`` scheme, or two different keys), ``API_KEY_INVALID`` (unknown or revoked),
``TOO_MANY_ATTEMPTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.api_keys import find_api_key
from vkyc.security.passwords import api_key_digest
from vkyc.services.credentials import CredentialGuard

SCHEME = "apikey"


@dataclass(frozen=True)
class Integrator:
    """A verified integrator: its unit decides what it may read and change."""

    unit_id: str
    key_name: str

    @property
    def actor(self) -> str:
        """How the integrator is named in the tables' logs."""
        return f"integrator:{self.unit_id}:{self.key_name}"


def presented_key(authorization: str | None, x_api_key: str | None) -> str:
    """The key of the request's headers; ``AUTH_REQUIRED`` when none, or two that differ."""
    from_authorization: str | None = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != SCHEME or not value.strip():
            raise ProtocolError("AUTH_REQUIRED", "Send Authorization: ApiKey <key> (or x-api-key: <key>).")
        from_authorization = value.strip()
    from_header = x_api_key.strip() if x_api_key else None
    if from_authorization and from_header and from_authorization != from_header:
        raise ProtocolError("AUTH_REQUIRED", "Authorization and x-api-key name two different keys.")
    key = from_authorization or from_header
    if not key:
        raise ProtocolError("AUTH_REQUIRED", "Send Authorization: ApiKey <key> (or x-api-key: <key>).")
    return key


def check_key(key: str) -> Integrator:
    """The integrator a key belongs to; ``API_KEY_INVALID`` for an unknown or revoked key. One GetItem."""
    found = find_api_key(api_key_digest(key))
    if found is None or found.revoked_at is not None:
        raise ProtocolError("API_KEY_INVALID")
    return Integrator(found.unit_id, found.name)


class IntegratorAuth:
    def __init__(self, guard: CredentialGuard) -> None:
        self.guard = guard

    def integrator(self, authorization: str | None, x_api_key: str | None, source: str) -> Integrator:
        """The integrator of a request's headers, or a catalogue error."""
        key = presented_key(authorization, x_api_key)
        return self.guard.api_key(lambda: check_key(key), source)
