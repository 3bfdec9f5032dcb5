"""Integrator API keys (``api_keys``), one or more per unit, stored and found by their digest.

Callers pass ``vkyc.security.passwords.api_key_digest(key)``: the plain key never reaches this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from vkyc.repositories.errors import NotFound
from vkyc.repositories.tables import ApiKey

KIND = "api_key"


def find_api_key(digest: str) -> ApiKey | None:
    """The key with this digest, revoked or not (check ``revoked_at``), or None. Strongly consistent,
    so a revocation takes effect at once. One GetItem."""
    try:
        return ApiKey.get(digest, consistent_read=True)
    except ApiKey.DoesNotExist:
        return None


def is_usable(key: ApiKey, now: datetime | None = None) -> bool:
    """Whether the key is accepted now: not revoked, or rotated and still within its overlap window
    (``revoked_at`` in the future)."""
    return key.revoked_at is None or key.revoked_at > (now or datetime.now(UTC))


def put_api_key(digest: str, *, unit_id: str, name: str, at: datetime | None = None) -> ApiKey:
    """Create the key, or overwrite ``unit_id`` / ``name`` of an existing one and un-revoke it; return it.

    Idempotent: ``created_at`` is set once (to ``at`` or now). One UpdateItem.
    """
    when = at or datetime.now(UTC)
    key = ApiKey(digest)
    key.update(
        [
            ApiKey.unit_id.set(unit_id),
            ApiKey.name.set(name),
            # An upsert must not move the creation time of an existing key.
            ApiKey.created_at.set(ApiKey.created_at | when),
            ApiKey.revoked_at.remove(),
        ]
    )
    return key


def revoke_api_key(digest: str, *, at: datetime | None = None) -> ApiKey:
    """Mark the key revoked (at ``at`` or now) and return it. Revoking twice keeps the first time.
    Raises ``NotFound`` if there is no such key. One UpdateItem."""
    when = at or datetime.now(UTC)
    key = ApiKey(digest)
    try:
        key.update([ApiKey.revoked_at.set(ApiKey.revoked_at | when)], condition=ApiKey.digest.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(KIND, digest) from None
        raise
    return key
