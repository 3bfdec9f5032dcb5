"""Admin writes: a change of configuration items and its audit entry, in one DynamoDB transaction.

Every configuration item carries ``rev`` (absent = 0), the admin API's ETag. ``commit`` writes each
item conditioned on the ``rev`` it was read with (a creation: on the item not existing) and raises it by
one; the ``AdminAudit`` entry is a Put of the same ``TransactWriteItems``. Either all of it is stored or
nothing is: a stale write (someone changed an item since it was read) raises ``StaleWrite`` and leaves
every item, and the audit log, as it was.

Cost: one TransactWriteItems per admin change (at most 100 items: a settings scope has ~30 fields).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from vkyc.repositories import pynamodb_internals, tables
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import AdminAudit, VkycModel

NO_UNIT = "*"
MAX_AUDIT_DAYS = 31


class StaleWrite(RepositoryError):
    """An item was changed (or created, or deleted) since it was read: nothing was written."""

    code = "PRECONDITION_FAILED"


@dataclass(frozen=True)
class Put:
    """Store ``item`` whole, if its stored ``rev`` is still ``prior_rev`` (None: if it does not exist).
    ``item.rev`` is set to ``prior_rev + 1``. With ``delete``, the item is deleted under the same
    condition instead."""

    item: VkycModel
    prior_rev: int | None
    delete: bool = False
    checked: bool = True  # False: written whatever is stored (a setting field: its scope's item is checked)


@dataclass(frozen=True)
class Patch:
    """Update some attributes of ``item`` if its ``rev`` is still ``prior_rev``, raising it: for items
    other writers update too (a media node's heartbeat), which a whole-item ``Put`` would overwrite."""

    item: VkycModel
    actions: Sequence[Any]
    prior_rev: int


@dataclass(frozen=True)
class Touch:
    """Update some attributes of an existing item of another kind in the same transaction (e.g. an
    agent's groups, kept on its state item), without a ``rev`` check."""

    item: VkycModel
    actions: Sequence[Any]


@dataclass(frozen=True)
class AuditRecord:
    """What one admin change was: who, on what, before and after (admin views, JSON-ready)."""

    actor: str
    unit_id: str | None
    kind: str
    object_id: str
    action: str
    before: Any = None
    after: Any = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def item(self) -> AdminAudit:
        return AdminAudit(
            day=self.at.date().isoformat(),
            event_key=f"{self.at.isoformat()}#{secrets.token_hex(4)}",
            actor=self.actor,
            unit_id=self.unit_id or NO_UNIT,
            kind=self.kind,
            object_id=self.object_id,
            action=self.action,
            before=self.before,
            after=self.after,
            at=self.at,
        )


def rev(item: VkycModel | None) -> int:
    """The stored revision of ``item`` (0 for an item no admin write has touched yet)."""
    return int(getattr(item, "rev", None) or 0) if item is not None else 0


def _rev_condition(item: VkycModel, prior_rev: int | None) -> Any:
    model = type(item)
    key = getattr(model, pynamodb_internals.hash_key_name(model))
    rev_attr = model.rev  # type: ignore[attr-defined]
    if prior_rev is None:
        return key.does_not_exist()
    if prior_rev == 0:
        return key.exists() & rev_attr.does_not_exist()
    return rev_attr == prior_rev


def commit(
    puts: Sequence[Put], audit: AuditRecord, touches: Sequence[Touch] = (), patches: Sequence[Patch] = ()
) -> None:
    """Write ``puts``, ``patches`` and ``touches`` and the audit entry at once. Raises ``StaleWrite``
    (nothing written) when a condition fails, ``RepositoryError`` for another cancellation."""
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            for put in puts:
                condition = _rev_condition(put.item, put.prior_rev) if put.checked else None
                if put.delete:
                    tx.delete(put.item, condition=condition)
                else:
                    if put.checked:
                        put.item.rev = (put.prior_rev or 0) + 1  # type: ignore[attr-defined]
                    tx.save(put.item, condition=condition)
            for patch in patches:
                rev_attr = type(patch.item).rev  # type: ignore[attr-defined]
                actions = [*patch.actions, rev_attr.set(patch.prior_rev + 1)]
                tx.update(patch.item, actions, condition=_rev_condition(patch.item, patch.prior_rev))
            for touch in touches:
                model = type(touch.item)
                key = getattr(model, pynamodb_internals.hash_key_name(model))
                tx.update(touch.item, list(touch.actions), condition=key.exists())
            tx.save(audit.item())
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            reasons = [r for r in error.cancellation_reasons or [] if r is not None]
            if any(r.code == "ConditionalCheckFailed" for r in reasons):
                raise StaleWrite(f"{audit.kind} {audit.object_id!r} changed meanwhile") from error
        raise RepositoryError(f"admin change failed: {error.cause_response_message}") from error


def audit_entries(since: date, until: date) -> list[AdminAudit]:
    """Every audit entry of the UTC days ``since`` .. ``until`` (at most ``MAX_AUDIT_DAYS``), oldest
    first. One Query per day."""
    days = (until - since).days + 1
    if days < 1 or days > MAX_AUDIT_DAYS:
        raise ValueError(f"from..to spans {days} days; at most {MAX_AUDIT_DAYS}")
    found: list[AdminAudit] = []
    for offset in range(days):
        day = (since + timedelta(days=offset)).isoformat()
        found.extend(AdminAudit.query(day))
    return found


def scan_all(model: type[VkycModel]) -> Iterable[Any]:
    """Every item of a configuration table (a handful to a few thousand: one Scan per MB)."""
    return model.scan()
