"""What a supervisor does to an agent of the units they serve (issue #16): set the agent's status
(available, unavailable) or log them out, with a reason.

Audit: each forced move is a transition of the agent in ``agent_log`` whose ``actor`` is the supervisor
and whose ``reason`` is ``"forced by <supervisor>: <reason>"`` (there is no separate audit table yet:
the agent's log is the audit trail, read with the agent's history). A logout ends the agent's sessions
(``SessionService.revoke``: ``session.ended`` with reason ``logged_out_by_supervisor``), so the page
cannot resume; the agent goes OFFLINE.

Refusals: ``NOT_FOUND`` for an agent outside the supervisor's reach (as one that does not exist);
``AGENT_BUSY`` while the agent is ringing or in a call (a live verification is never cut from the
console); the move the agent machine does not allow otherwise: ``ILLEGAL_TRANSITION``.
"""

from __future__ import annotations

from collections.abc import Callable

from vkyc.domain.agent import AGENT, AgentState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import AgentStatus, SupervisorSetAgentStatus
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.tables import WsConnection
from vkyc.repositories.transitions import transition
from vkyc.repositories.units import UnitView, list_units
from vkyc.services.agent_status import STATUS_EVENTS, STATUS_TARGETS, _ms
from vkyc.services.effects import AgentFreed, Done, Effects
from vkyc.services.ports import Clock, utc_now
from vkyc.services.reports_monitor import reach
from vkyc.services.sessions import SessionService

BUSY = frozenset({AgentState.RINGING, AgentState.IN_CALL})
LOGGED_OUT = "logged_out_by_supervisor"


class SupervisionService:
    def __init__(
        self,
        sessions: SessionService,
        *,
        units: Callable[[], list[UnitView]] = list_units,
        clock: Clock = utc_now,
    ) -> None:
        self.sessions = sessions
        self.units = units
        self.clock = clock
        self.agents = AgentRepository()

    def set_agent_status(
        self, connection: WsConnection, message: SupervisorSetAgentStatus
    ) -> Done[AgentStatus]:
        """Move ``message.agent_id`` to ``message.status`` (asking for its current status changes
        nothing). The agent's page is told: ``agent.status`` with ``by`` and ``reason``, or for a logout
        ``session.ended``. Answered by ``agent.status`` (the agent's status after it)."""
        agent = self.agents.find(message.agent_id)
        served = {u.unit_id for u in reach(connection.unit_id, self.units())}
        if agent is None or agent.unit_id not in served:
            raise ProtocolError("NOT_FOUND", f"No agent {message.agent_id!r} among the units you serve.")
        state = AgentState(agent.state)
        if state in BUSY:
            raise ProtocolError("AGENT_BUSY", f"{message.agent_id} is {state.value}.")
        target = STATUS_TARGETS[message.status]
        why = f"forced by {connection.principal_id}: {message.reason}"
        effects = Effects()
        if message.status == "offline":
            ended = self.sessions.revoke(agent.agent_id, LOGGED_OUT)
            effects += ended.effects
            agent = self.agents.get(agent.agent_id)
        if agent.state != target and AGENT.can(AgentState(agent.state), STATUS_EVENTS[message.status]):
            attrs = {"available_since": self.clock()} if target is AgentState.AVAILABLE else None
            agent = transition(
                agent,
                AGENT,
                STATUS_EVENTS[message.status],
                request_id=message.request_id,
                actor=connection.principal_id,
                reason=why,
                attrs=attrs,
            )
            if target is AgentState.AVAILABLE:
                effects.event(AgentFreed(agent.unit_id))
        elif agent.state != target and message.status != "offline":
            raise ProtocolError("ILLEGAL_TRANSITION", f"{message.agent_id} is {agent.state}.")
        if agent.connection_id and message.status != "offline":
            told = AgentStatus(
                agent_id=agent.agent_id,
                status=agent.state,
                since_ms=_ms(agent.updated_at),
                by=connection.principal_id,
                reason=message.reason,
            )
            effects.to_connection(agent.connection_id, told.model_dump(mode="json", exclude_none=True))
        reply = AgentStatus(
            request_id=message.request_id,
            agent_id=agent.agent_id,
            status=agent.state,
            since_ms=_ms(agent.updated_at),
        )
        return Done(reply, effects)
