"""The login audit trail (``auth_events``): who tried to get in, from where, and what came of it.

``record_auth_event`` is the one way to write it: the credential endpoints call it for every success,
failure, lockout and token issued, and token revocation calls it with ``TOKEN_REVOKED``. An audit
write that fails is logged and swallowed: the trail must not turn a login into an error (nor let a
flood of failures fail the endpoint). Events are kept ``AUTH_EVENT_TTL_DAYS`` days.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vkyc.domain.audit import AuthEventKind
from vkyc.repositories.tables import AuthEvent

log = logging.getLogger("vkyc.audit")

AUTH_EVENT_TTL_DAYS = 90
NO_UNIT = "*"  # events of no known unit (unknown username, wrong API key, media nodes): admins only
MAX_TEXT = 200


@dataclass(frozen=True)
class AuthEventView:
    at: datetime
    kind: AuthEventKind
    scope: str
    unit_id: str
    principal: str | None
    source: str | None
    detail: str | None


def record_auth_event(
    kind: AuthEventKind,
    principal: str | None,
    unit_id: str | None,
    source: str | None,
    detail: str | None = None,
    *,
    scope: str = "login",
    at: datetime | None = None,
) -> None:
    """Append one event to the unit's trail (``unit_id`` None: the ``*`` trail). ``scope`` names the
    credential path (``login``, ``mobile``, ``node``, ``connect``, ``session``). One PutItem; never
    raises."""
    when = at or datetime.now(UTC)
    try:
        AuthEvent(
            unit_id=unit_id or NO_UNIT,
            event_key=f"{_iso(when)}#{secrets.token_hex(4)}",
            kind=kind.value,
            scope=scope,
            principal=_clip(principal),
            source=_clip(source),
            detail=_clip(detail),
            at=when,
            expires_at=when + timedelta(days=AUTH_EVENT_TTL_DAYS),
        ).save()
    except Exception:
        log.exception("audit event %s of %r (unit %s) not written", kind.value, principal, unit_id)


def events_of(unit_id: str, start: datetime, until: datetime, limit: int) -> tuple[list[AuthEventView], bool]:
    """The unit's events from ``start`` to ``until`` (inclusive), newest first, at most ``limit``, and
    whether more were left out. One Query per 1 MB read."""
    found: list[AuthEventView] = []
    query = AuthEvent.query(
        unit_id,
        AuthEvent.event_key.between(_iso(start), _iso(until) + "#~"),
        scan_index_forward=False,
        limit=limit + 1,
    )
    for item in query:
        found.append(
            AuthEventView(
                at=item.at,
                kind=AuthEventKind(item.kind),
                scope=item.scope,
                unit_id=item.unit_id,
                principal=item.principal,
                source=item.source,
                detail=item.detail,
            )
        )
        if len(found) > limit:
            break
    return found[:limit], len(found) > limit


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:MAX_TEXT]
