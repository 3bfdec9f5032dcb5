"""Tokens revoked before their expiry (``revoked_tokens``), and what a presented token's standing is
(revoked? and the account it speaks for, whose ``token_generation`` it must match)."""

from __future__ import annotations

from datetime import datetime

from vkyc.repositories.batch import get_many
from vkyc.repositories.tables import RevokedToken, User


def revoke_token(
    token_id: str, *, principal_id: str, reason: str, expires_at: datetime, at: datetime
) -> None:
    """Remember ``token_id`` as revoked until ``expires_at`` (idempotent: a repeat rewrites the same
    item). One PutItem."""
    RevokedToken(
        token_id, principal_id=principal_id, reason=reason, revoked_at=at, expires_at=expires_at
    ).save()


def token_standing(token_id: str, username: str | None) -> tuple[bool, User | None]:
    """Whether ``token_id`` was revoked, and the account a login's token speaks for (None for another
    token, or an account that no longer exists). One BatchGetItem."""
    keys: list[RevokedToken | User] = [RevokedToken(token_id)]
    if username is not None:
        keys.append(User(username))
    found = get_many(keys)
    user = found[1] if len(found) > 1 and isinstance(found[1], User) else None
    return found[0] is not None, user
