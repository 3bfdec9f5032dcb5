"""Agents and their status log (``agent_log``: every status change). The machine (``vkyc.domain.agent``)
is passed by the caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.expressions.update import Action

from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Agent, AgentLog


class AgentRepository(StatefulRepository[Agent]):
    """``StatefulRepository`` for agents, plus the per-unit listing."""

    def __init__(self) -> None:
        super().__init__(Agent)

    def of_unit(self, unit_id: str, state: str | None = None) -> list[Agent]:
        """The unit's agents (only in ``state`` if given), from GSI ``by_unit``: keys, ``state``, ``name``,
        ``group_ids``, ``version``, ``updated_at``; eventually consistent. One Query.

        ``version`` is there so a router may plan a transition from this partial item directly: a stale
        entry just loses the conditional write with ``TransitionConflict``.
        """
        condition = Agent.state == state if state is not None else None
        return list(Agent.by_unit.query(unit_id, range_key_condition=condition))

    def set_connection(self, agent_id: str, connection_id: str | None) -> None:
        """Where to ring the agent now (their session's socket). Not a state change: no version bump."""
        action: Action = (
            Agent.connection_id.set(connection_id) if connection_id else Agent.connection_id.remove()
        )
        Agent(agent_id=agent_id).update(actions=[action])

    def log_between(self, agent_id: str, since: datetime, until: datetime) -> Iterator[AgentLog]:
        """The agent's status changes stamped in ``[since, until]``, newest first: read from the newest
        entry back, stopping at the first one before ``since`` (a day costs one Query page or two)."""
        for entry in AgentLog.query(agent_id, scan_index_forward=False):
            if entry.at < since:
                return
            if entry.at <= until:
                yield entry
