"""The one place that persists a state transition (house rules 1-3).

A transition is planned first, in memory: ``plan()`` asks the domain machine for the target state, so an
illegal move raises ``IllegalTransition`` before anything is written. ``commit()`` then writes one
DynamoDB transaction holding, for every planned change:

* an Update of the item, conditioned on ``state = :prior AND version = :v``, that sets the target state,
  ``version + 1``, ``updated_at``, ``last_request_id`` and any extra attributes;
* a Put of the log entry (entity id, new version) conditioned on ``attribute_not_exists``.

A creation is the same with a Put of the item conditioned on ``attribute_not_exists`` (version 1).
A ``Guard`` adds a ConditionCheck: "this item is still as I read it", without changing it.
A ``Touch`` adds an unversioned Update of a few attributes (no state move, no log entry), e.g. the last
``seq`` a session accepted, folded into the transaction of the action that message asked for.
An ``Append`` adds a Put of a new record of another table (an ``admin_audit`` entry), conditioned on
its key not existing: it lands with the changes or not at all.
Several changes in one ``commit()`` are all-or-nothing.

Cost: a commit is one TransactWriteItems request. Updates and log Puts ask for
``ReturnValuesOnConditionCheckFailure=ALL_OLD``, so a conflict usually costs nothing more: the cancellation
reasons carry the stored item and log entry. Only when they do not (an older DynamoDB-compatible server)
is one GetItem spent to check idempotency. A ``TransactionConflict`` cancellation (another transaction
in flight on the same item, seen on AWS under contention) is retried up to ``CONFLICT_RETRIES`` times.

Idempotency, two cases of a retried request (same ``request_id``) whose change was already committed:

* it re-read the item: the item carries ``last_request_id == request_id``, so ``transition()`` /
  ``create()`` return it untouched (``already_applied()``; no request). Callers planning several changes
  check ``already_applied()`` themselves before planning.
* it still holds the item as first read: its conditions fail, and ``commit()`` finds its own write in the
  cancellation reasons (the log entry for the new version, or the item, carries this request id and the
  target state) and returns success without writing again, even if the item has moved on since.

Request ids must therefore be unique per mutation: two different mutations of one item must not share one.

Side effects (notify, enqueue timers) belong after ``commit()`` returns, never before. A caller that
must read again and plan again after a ``TransitionConflict`` uses ``conflicts.retry_on_conflict``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from pynamodb.attributes import Attribute
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import CancellationReason, TransactWriteError
from pynamodb.transactions import TransactWrite

from vkyc.domain.machine import StateMachine
from vkyc.repositories import pynamodb_internals, tables
from vkyc.repositories.errors import AlreadyExists, RepositoryError, TransitionConflict
from vkyc.repositories.tables import LogModel, StatefulModel, VkycModel

__all__ = [
    "CONFLICT_RETRIES",
    "AlreadyExists",
    "Append",
    "Change",
    "Guard",
    "RepositoryError",
    "Touch",
    "TouchRejected",
    "TransitionConflict",
    "already_applied",
    "commit",
    "create",
    "plan",
    "plan_create",
    "transition",
]

M = TypeVar("M", bound=StatefulModel)
S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)

CONFLICT_RETRIES = 3
CREATE_EVENT = "create"

# Written by commit() itself: a caller setting them through ``attrs`` would break the version chain.
_MANAGED = frozenset({"state", "version", "created_at", "updated_at", "last_request_id"})


@dataclass(frozen=True)
class Change:
    """One planned write of a stateful item: a transition, or a creation when ``prior_state`` is None.

    Build it with ``plan()`` / ``plan_create()``; it is only a value until ``commit()``.
    ``attrs`` maps Python attribute names to new values; None (or an empty set) removes the attribute.
    """

    item: StatefulModel
    prior_state: str | None
    prior_version: int
    target: str
    event: str
    actor: str
    reason: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    # A creation that moves on at once (e.g. a call created already ringing): the state it is created
    # in, then (event, state) per move, each with its own version and log entry; ``target`` is the last.
    created_as: str | None = None
    then: tuple[tuple[str, str], ...] = ()

    @property
    def is_creation(self) -> bool:
        return self.prior_state is None

    @property
    def new_version(self) -> int:
        return self.prior_version + 1 + len(self.then)


@dataclass(frozen=True)
class Guard:
    """A condition on an item that the transaction does not change: still ``state`` at ``version``."""

    item: StatefulModel
    state: str
    version: int


@dataclass(frozen=True)
class Touch:
    """An unversioned update of ``attrs`` on an existing item, inside a transaction: no state move, no
    version, no log entry. ``condition`` (a PynamoDB condition, or None) must hold, and the item must
    exist, or the whole transaction fails with ``TouchRejected(name)``. ``on_commit`` runs once the
    transaction committed (e.g. to note that a message's ``seq`` was accepted with it). Derived
    attributes are not recomputed: touch none that one derives from (or write the derived ones too)."""

    item: StatefulModel
    attrs: Mapping[str, Any]
    name: str
    condition: Any = None
    on_commit: Callable[[], None] | None = None


@dataclass(frozen=True)
class Append:
    """A new record written with the transaction (an audit entry that must exist exactly when the changes
    do). Its key must be new (a random part, as ``admin_store.AuditRecord`` gives): a record is never
    overwritten; a clash fails the whole transaction with ``RepositoryError``. A retry of a committed
    request writes it no more than the changes."""

    item: VkycModel


class TouchRejected(RepositoryError):
    """The condition of a ``Touch`` failed: nothing of the transaction was written."""

    def __init__(self, name: str, stored: StatefulModel | None) -> None:
        self.name = name
        self.stored = stored  # the item as it was, when the server said
        super().__init__(f"{name}: condition failed")


Op = Change | Guard | Touch | Append


def plan(
    item: StatefulModel,
    machine: StateMachine[S, E],
    event: E,
    *,
    actor: str,
    reason: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Change:
    """Plan ``event`` on ``item`` (as read: its ``state`` and ``version`` become the write's condition).

    Raises ``IllegalTransition`` if ``machine`` has no such move, ``ValueError`` if ``item.state`` is not
    one of the machine's states or ``attrs`` names an unknown or managed attribute. Writes nothing.
    """
    state_type = type(machine.initial)
    prior = state_type(item.state)
    target = machine.transition(prior, event)
    _check_attrs(type(item), attrs or {})
    return Change(
        item=item,
        prior_state=str(prior.value),
        prior_version=int(item.version),
        target=str(target.value),
        event=str(event.value),
        actor=actor,
        reason=reason,
        attrs={**item.derived(str(target.value), attrs or {}), **(attrs or {})},
    )


def plan_note(
    item: StatefulModel,
    *,
    event: str,
    actor: str,
    reason: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Change:
    """Plan a versioned, logged change of attributes that moves no state (e.g. the decision recorded on a
    call already FINISHED). Conditioned, like a transition, on the item's state and version. Derived
    attributes (``StatefulModel.derived``) that the change moves, or that the item as read lacks, are
    written with it (e.g. a ticket's ``open_for`` when its assignee changes)."""
    derived = {
        name: value
        for name, value in item.derived(item.state, attrs or {}).items()
        if getattr(item, name) != (None if _is_empty(value) else value)
    }
    return Change(
        item=item,
        prior_state=item.state,
        prior_version=item.version,
        target=item.state,
        event=event,
        actor=actor,
        reason=reason,
        attrs={**derived, **(attrs or {})},
    )


def plan_create(
    item: StatefulModel,
    machine: StateMachine[S, E],
    *,
    actor: str,
    reason: str | None = None,
    event: str = CREATE_EVENT,
    then: Sequence[E] = (),
) -> Change:
    """Plan the creation of ``item`` in ``machine.initial`` at version 1 (its other attributes as set);
    with ``then``, the item is created having made those moves too, one version and log entry each
    (raises ``IllegalTransition`` as ``plan`` does)."""
    state = machine.initial
    moves: list[tuple[str, str]] = []
    for next_event in then:
        state = machine.transition(state, next_event)
        moves.append((str(next_event.value), str(state.value)))
    for name, value in item.derived(str(state.value)).items():
        setattr(item, name, value)
    return Change(
        item=item,
        prior_state=None,
        prior_version=0,
        target=str(state.value),
        event=event,
        actor=actor,
        reason=reason,
        created_as=str(machine.initial.value),
        then=tuple(moves),
    )


def commit(*ops: Op, request_id: str, at: datetime | None = None) -> None:
    """Write ``ops`` as one all-or-nothing transaction; on success, update the in-memory items.

    Raises ``TransitionConflict`` (``AlreadyExists`` for a creation) naming the first item whose
    condition failed, unless this ``request_id`` had already committed these changes (then it returns
    as if it had written them now); ``TouchRejected`` when a ``Touch`` condition failed (checked
    first). Raises ``RepositoryError`` for any other DynamoDB failure.
    ``at`` (default: now, UTC) stamps ``updated_at`` and the log entries.
    """
    if not any(isinstance(op, Change | Guard | Touch) for op in ops):
        raise ValueError("commit() needs at least one change")
    _check_distinct(ops)
    when = at or datetime.now(UTC)
    changes = [op for op in ops if isinstance(op, Change)]
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            _write(ops, request_id, when)
        except _Cancelled as cancelled:
            if cancelled.only_in_flight and attempt < CONFLICT_RETRIES:
                # Another transaction holds one of our items and may still fail: ask again.
                time.sleep(random.uniform(0.005, 0.02) * (2**attempt))
                continue
            _resolve(cancelled, request_id)  # returns only when this request had already committed
        break
    for change in changes:
        _apply_locally(change, request_id, when)
    for op in ops:
        if isinstance(op, Touch):
            for name, value in op.attrs.items():
                setattr(op.item, name, None if _is_empty(value) else value)
            if op.on_commit is not None:
                op.on_commit()


def already_applied(item: StatefulModel, request_id: str) -> bool:
    """True if ``item`` (as read) was last written by ``request_id``: a retry of that request is done."""
    return item.last_request_id == request_id


def transition(
    item: M,
    machine: StateMachine[S, E],
    event: E,
    *,
    request_id: str,
    actor: str,
    reason: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> M:
    """Plan and commit one transition of one item; return the item, updated. See ``plan``/``commit``.

    If the item as read was last written by ``request_id``, this is a retry of a committed transition:
    the item is returned as is, without planning (the domain would see the move as illegal) or writing.
    """
    if already_applied(item, request_id):
        return item
    commit(plan(item, machine, event, actor=actor, reason=reason, attrs=attrs), request_id=request_id, at=at)
    return item


def create(
    item: M,
    machine: StateMachine[S, E],
    *,
    request_id: str,
    actor: str,
    reason: str | None = None,
    at: datetime | None = None,
) -> M:
    """Create ``item`` in the machine's initial state, with its log entry; return it, stamped.

    Raises ``AlreadyExists`` if an item with the same key was created by another request; a retry of
    this request returns the item.
    """
    commit(plan_create(item, machine, actor=actor, reason=reason), request_id=request_id, at=at)
    return item


# --- internals ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """One entry of the TransactItems list, to map a cancellation reason back to its item."""

    index: int  # position of ``op`` in the commit() arguments
    op: Op
    is_log: bool = False


class _Cancelled(Exception):
    def __init__(self, failed: list[tuple[_Slot, CancellationReason]]) -> None:
        self.failed = failed
        super().__init__(", ".join(reason.code for _, reason in failed))

    @property
    def only_in_flight(self) -> bool:
        return all(reason.code == "TransactionConflict" for _, reason in self.failed)


def _write(ops: Sequence[Op], request_id: str, when: datetime) -> None:
    # PynamoDB sends condition checks, then deletes, then puts, then updates, whatever the call order,
    # and reports cancellation reasons in that order: keep one list per kind to map them back.
    checks: list[_Slot] = []
    puts: list[_Slot] = []
    updates: list[_Slot] = []
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            for index, op in enumerate(ops):
                if isinstance(op, Append):
                    key = getattr(type(op.item), pynamodb_internals.hash_key_name(type(op.item)))
                    tx.save(op.item, condition=key.does_not_exist())
                    puts.append(_Slot(index, op))
                    continue
                model = type(op.item)
                if isinstance(op, Guard):
                    condition = (model.state == op.state) & (model.version == op.version)
                    tx.condition_check(model, op.item.entity_id(), condition=condition)
                    checks.append(_Slot(index, op))
                    continue
                if isinstance(op, Touch):
                    exists = _hash_attribute(model).exists()
                    tx.update(
                        op.item,
                        [_set_or_remove(getattr(model, n), v) for n, v in op.attrs.items()],
                        condition=exists if op.condition is None else exists & op.condition,
                        return_values=ALL_OLD,
                    )
                    updates.append(_Slot(index, op))
                    continue
                if op.is_creation:
                    tx.save(
                        _stamped_copy(op, request_id, when),
                        condition=_hash_attribute(model).does_not_exist(),
                        return_values=ALL_OLD,
                    )
                    puts.append(_Slot(index, op))
                else:
                    tx.update(
                        op.item,
                        _update_actions(op, request_id, when),
                        condition=(model.state == op.prior_state) & (model.version == op.prior_version),
                        return_values=ALL_OLD,
                    )
                    updates.append(_Slot(index, op))
                for entry in _log_entries(op, request_id, when):
                    tx.save(entry, condition=model.LOG.version.does_not_exist(), return_values=ALL_OLD)
                    puts.append(_Slot(index, op, is_log=True))
    except TransactWriteError as error:
        if error.cause_response_code != "TransactionCanceledException":
            raise RepositoryError(f"transaction failed: {error.cause_response_message}") from error
        slots = checks + puts + updates
        reasons = error.cancellation_reasons
        failed = [(slot, reason) for slot, reason in zip(slots, reasons, strict=False) if reason is not None]
        if not failed:
            raise RepositoryError(f"transaction cancelled: {error.cause_response_message}") from error
        raise _Cancelled(failed) from error


def _resolve(cancelled: _Cancelled, request_id: str) -> None:
    """Return if the cancellation proves this request already committed; raise the conflict otherwise."""
    conditional = [(s, r) for s, r in cancelled.failed if r.code == "ConditionalCheckFailed"]
    if not conditional:
        codes = ", ".join(sorted({r.code for _, r in cancelled.failed}))
        raise RepositoryError(f"transaction cancelled: {codes}")
    for slot, reason in conditional:
        if isinstance(slot.op, Touch):
            model = type(slot.op.item)
            stored = model.from_raw_data(reason.raw_item) if reason.raw_item else None
            raise TouchRejected(slot.op.name, stored)
    if all(isinstance(slot.op, Append) for slot, _ in conditional):
        raise RepositoryError(f"{type(conditional[0][0].op.item).TABLE}: a record with this key exists")
    # A request id is unique per mutation and lands only with the whole transaction, so one change
    # proven committed by this request proves every change of it was.
    by_change: dict[int, dict[bool, CancellationReason]] = {}  # op index -> {is_log: reason}
    changes: dict[int, Change] = {}
    for slot, reason in conditional:
        if isinstance(slot.op, Change):
            # A creation with ``then`` has several log entries: any one of them proves who wrote it.
            by_change.setdefault(slot.index, {})[slot.is_log] = reason
            changes[slot.index] = slot.op
    for index, reasons in by_change.items():
        if _committed_by(changes[index], reasons, request_id):
            return
    slot, _reason = next((s, r) for s, r in conditional if isinstance(s.op, Change | Guard))
    assert isinstance(slot.op, Change | Guard)
    raise _conflict(slot.op, by_change.get(slot.index, {}))


def _committed_by(change: Change, reasons: Mapping[bool, CancellationReason], request_id: str) -> bool:
    model = type(change.item)
    log_reason = reasons.get(True)
    if log_reason is not None and log_reason.raw_item:
        entry = model.LOG.from_raw_data(log_reason.raw_item)
        if entry.request_id == request_id and entry.to_state in (change.target, change.created_as):
            return True
    item_reason = reasons.get(False)
    stored: StatefulModel | None = None
    if item_reason is not None and item_reason.raw_item:
        stored = model.from_raw_data(item_reason.raw_item)
    elif not (log_reason is not None and log_reason.raw_item):
        # The server returned neither image: one GetItem decides.
        try:
            stored = model.get(change.item.entity_id(), consistent_read=True)
        except model.DoesNotExist:
            return False
    return stored is not None and stored.last_request_id == request_id and stored.state == change.target


def _conflict(op: Change | Guard, reasons: Mapping[bool, CancellationReason]) -> TransitionConflict:
    model = type(op.item)
    entity_id = op.item.entity_id()
    if isinstance(op, Guard):
        return TransitionConflict(model.KIND, entity_id, op.state, op.version)
    actual_state: str | None = None
    actual_version: int | None = None
    item_reason = reasons.get(False)
    log_reason = reasons.get(True)
    if item_reason is not None and item_reason.raw_item:
        stored = model.from_raw_data(item_reason.raw_item)
        actual_state, actual_version = stored.state, stored.version
    elif log_reason is not None and log_reason.raw_item:
        entry = model.LOG.from_raw_data(log_reason.raw_item)
        actual_state, actual_version = entry.to_state, entry.version
    error_type = AlreadyExists if op.is_creation else TransitionConflict
    return error_type(model.KIND, entity_id, op.prior_state, op.prior_version, actual_state, actual_version)


def _update_actions(change: Change, request_id: str, when: datetime) -> list[Any]:
    model = type(change.item)
    actions: list[Any] = [
        model.state.set(change.target),
        model.version.set(change.new_version),
        model.updated_at.set(when),
        model.last_request_id.set(request_id),
    ]
    for name, value in change.attrs.items():
        actions.append(_set_or_remove(getattr(model, name), value))
    return actions


def _set_or_remove(attribute: Attribute[Any], value: Any) -> Any:
    return attribute.remove() if _is_empty(value) else attribute.set(value)


def _stamped_copy(change: Change, request_id: str, when: datetime) -> StatefulModel:
    # A copy, so a failed creation leaves the caller's object as it was.
    model = type(change.item)
    copy = model.from_raw_data(change.item.serialize(null_check=False))
    _stamp(copy, change, request_id, when)
    return copy


def _log_entries(change: Change, request_id: str, when: datetime) -> list[LogModel]:
    """One entry per version the change writes: the change itself, then each move of ``then``."""
    model = type(change.item)
    first_to = change.created_as if change.then and change.created_as else change.target
    entries = [
        model.LOG(
            change.item.entity_id(),
            change.prior_version + 1,
            from_state=change.prior_state,
            to_state=first_to,
            event=change.event,
            actor=change.actor,
            reason=change.reason,
            request_id=request_id,
            at=when,
        )
    ]
    previous = first_to
    for version, (event, state) in enumerate(change.then, start=change.prior_version + 2):
        entries.append(
            model.LOG(
                change.item.entity_id(),
                version,
                from_state=previous,
                to_state=state,
                event=event,
                actor=change.actor,
                request_id=request_id,
                at=when,
            )
        )
        previous = state
    return entries


def _apply_locally(change: Change, request_id: str, when: datetime) -> None:
    _stamp(change.item, change, request_id, when)
    for name, value in change.attrs.items():
        setattr(change.item, name, None if _is_empty(value) else value)


def _stamp(item: StatefulModel, change: Change, request_id: str, when: datetime) -> None:
    item.state = change.target
    item.version = change.new_version
    item.updated_at = when
    item.last_request_id = request_id
    if change.is_creation and item.created_at is None:
        item.created_at = when


def _is_empty(value: Any) -> bool:
    # DynamoDB stores no empty sets: an empty set means "remove".
    return value is None or (isinstance(value, set | frozenset) and not value)


def _hash_attribute(model: type[StatefulModel]) -> Attribute[Any]:
    attribute: Attribute[Any] = getattr(model, pynamodb_internals.hash_key_name(model))
    return attribute


def _check_attrs(model: type[StatefulModel], attrs: Mapping[str, Any]) -> None:
    known = model.get_attributes()
    for name in attrs:
        if name in _MANAGED:
            raise ValueError(f"{model.KIND}: {name!r} is written by the transition itself")
        if name not in known:
            raise ValueError(f"{model.KIND}: no attribute {name!r}")
        if known[name].is_hash_key or known[name].is_range_key:
            raise ValueError(f"{model.KIND}: {name!r} is a key and cannot change")


def _check_distinct(ops: Sequence[Op]) -> None:
    # DynamoDB rejects a transaction that touches one item twice (ValidationException): fail clearly.
    seen: set[tuple[str, str]] = set()
    for op in ops:
        if isinstance(op, Append):
            continue  # a new record of its own (its key has a random part)
        key = (type(op.item).TABLE, op.item.entity_id())
        if key in seen:
            raise ValueError(f"{type(op.item).KIND} {key[1]!r} appears twice in one transaction")
        seen.add(key)
