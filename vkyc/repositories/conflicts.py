"""Read, plan, commit; on a lost race, read again and plan again.

A commit (``transitions.commit``) is conditioned on the version it was planned from: when somebody moved
the item first (a concurrent request, a timer, the sweeper) it raises ``TransitionConflict`` and writes
nothing. A use case that must not give up at once looks at the item as it is now and decides again,
a bounded number of times; ``retry_on_conflict`` is that loop, once:

* ``read()`` returns the item as stored now (None, or raise, when it is gone: ``plan`` decides);
* ``plan(item)`` decides on it: a ``Commit`` to write, or ``Settled(result)`` when there is nothing to
  write (the item vanished, or moved where this use case has nothing left to do), or it raises a
  refusal;
* ``Commit.write()`` commits and returns the result; a conflict it raises sends the loop back to
  ``read()``. ``plan`` runs outside the catch: an error of planning is never taken for a lost race.

Nothing waits between attempts: the loser reads what the winner has already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Generic, TypeVar

from vkyc.domain.machine import IllegalTransition
from vkyc.repositories import transitions
from vkyc.repositories.errors import TransitionConflict

__all__ = ["LOST_OR_STALE", "Commit", "Settled", "retry_on_conflict"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
ItemT = TypeVar("ItemT")

# For a write that plans as it commits (``CallLifecycle.finish``, ``Offers.end_offer``): on an item
# already moved on, it may refuse the move (``IllegalTransition``) before it can meet the newer version.
LOST_OR_STALE: tuple[type[Exception], ...] = (TransitionConflict, IllegalTransition)


class _Unread(Enum):
    UNREAD = "unread"


@dataclass(frozen=True)
class Commit(Generic[T_co]):
    """What a plan decided to write. ``write()`` commits (``transitions.commit``, or a use case's method
    that plans and commits), raising ``TransitionConflict`` when it lost the race, and returns the
    result. Work after the commit that may raise a conflict of its own does not belong in it: that
    conflict would be taken for this write's, and the write tried again."""

    write: Callable[[], T_co]

    @staticmethod
    def of(*ops: transitions.Op, request_id: str, at: datetime | None = None, result: T) -> Commit[T]:
        """The write of ``ops`` in one transaction (``transitions.commit``), whose result is ``result``
        (an item it updates in memory is the same object, updated)."""

        def write() -> T:
            transitions.commit(*ops, request_id=request_id, at=at)
            return result

        return Commit(write)


@dataclass(frozen=True)
class Settled(Generic[T_co]):
    """What a plan decided when there is nothing to write: ``value`` is the result."""

    value: T_co


def retry_on_conflict(
    read: Callable[[], ItemT],
    plan: Callable[[ItemT], Commit[T] | Settled[T]],
    *,
    attempts: int,
    lost: Callable[[Exception], T] | None = None,
    conflicts: tuple[type[Exception], ...] = (TransitionConflict,),
    first: ItemT | _Unread = _Unread.UNREAD,
) -> T:
    """Plan on ``read()`` (or on ``first``, the item as the caller already read it), commit what the plan
    decided and return its result; when the commit raises one of ``conflicts``, read and plan again, at
    most ``attempts`` plans in all.

    A plan that returns ``Settled(value)`` ends the loop with ``value``; what ``read``, ``plan`` and
    ``write`` raise otherwise goes to the caller. When the last attempt's commit conflicts too, the result
    is ``lost(conflict)`` (which may return a value, e.g. "lost the race", or raise the caller's error),
    or, without ``lost``, the conflict is raised again. ``read`` is not called after the last attempt.
    (mypy takes the item's type from ``first`` too: give ``first`` the type ``read`` returns, e.g.
    ``Call | None``.)
    """
    if attempts < 1:
        raise ValueError("retry_on_conflict needs at least one attempt")
    item = read() if isinstance(first, _Unread) else first
    attempt = 1
    while True:
        step = plan(item)
        if isinstance(step, Settled):
            return step.value
        try:
            return step.write()
        except conflicts as conflict:
            if attempt == attempts:
                last = conflict
                break
        attempt += 1
        item = read()
    # Out of the except block: the caller's error is not chained to the conflict it replaces.
    if lost is None:
        raise last
    return lost(last)
