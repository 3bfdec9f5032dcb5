"""A generic repository for one stateful table (dossiers, calls, agents, offers).

Reads are plain GetItem/Query; every write goes through ``vkyc.repositories.transitions``. The machine
is passed per call, because one table may hold several machines (inbound calls and call-backs).
Several items changing together: ``plan()`` each change here, then ``transitions.commit(a, b, ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from vkyc.domain.machine import StateMachine
from vkyc.repositories import transitions
from vkyc.repositories.errors import NotFound
from vkyc.repositories.tables import LogModel, StatefulModel
from vkyc.repositories.transitions import Change, Guard

M = TypeVar("M", bound=StatefulModel)
S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class StatefulRepository(Generic[M]):
    """Get, create and transition the items of ``model``; read their transition log."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def find(self, entity_id: str, *, consistent: bool = True) -> M | None:
        """The item, or None. Strongly consistent by default: reads usually precede a transition, and
        a stale read only buys a ``TransitionConflict``. One GetItem; none for an empty id (no such
        item can exist, and DynamoDB refuses an empty key)."""
        if not entity_id:
            return None
        try:
            return self.model.get(entity_id, consistent_read=consistent)
        except self.model.DoesNotExist:
            return None

    def get(self, entity_id: str, *, consistent: bool = True) -> M:
        """The item; raises ``NotFound``. One GetItem."""
        item = self.find(entity_id, consistent=consistent)
        if item is None:
            raise NotFound(self.model.KIND, entity_id)
        return item

    def create(
        self,
        item: M,
        machine: StateMachine[S, E],
        *,
        request_id: str,
        actor: str,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> M:
        """Store a new item in ``machine.initial`` (version 1) with its log entry. Raises ``AlreadyExists``.
        One TransactWriteItems."""
        return transitions.create(item, machine, request_id=request_id, actor=actor, reason=reason, at=at)

    def plan(
        self,
        item: M,
        machine: StateMachine[S, E],
        event: E,
        *,
        actor: str,
        reason: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Change:
        """Plan a transition to commit together with others (``transitions.commit``). Writes nothing;
        raises ``IllegalTransition``."""
        return transitions.plan(item, machine, event, actor=actor, reason=reason, attrs=attrs)

    def transition(
        self,
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
        """Apply ``event`` to ``item`` as read. Raises ``IllegalTransition`` (nothing written) or
        ``TransitionConflict``. One TransactWriteItems."""
        return transitions.transition(
            item, machine, event, request_id=request_id, actor=actor, reason=reason, attrs=attrs, at=at
        )

    @staticmethod
    def guard(item: StatefulModel) -> Guard:
        """A condition for ``transitions.commit``: ``item`` is still in the state and version read."""
        return Guard(item, item.state, item.version)

    def history(self, entity_id: str) -> list[LogModel]:
        """The item's log, oldest first (entry n = how version n came to be). One Query per 1 MB."""
        return list(self.model.LOG.query(entity_id, consistent_read=True))
