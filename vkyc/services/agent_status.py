"""The status an agent chooses (``agent.set_status``): available, unavailable (a break), offline."""

from __future__ import annotations

from datetime import UTC, datetime

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.protocol.messages import AgentSetStatus, AgentStatus
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.tables import WsConnection
from vkyc.repositories.transitions import transition
from vkyc.services.effects import AgentFreed, Done, Effects
from vkyc.services.ports import Clock, utc_now

STATUS_EVENTS = {"available": AgentEvent.READY, "unavailable": AgentEvent.BREAK, "offline": AgentEvent.LOGOUT}
STATUS_TARGETS = {
    "available": AgentState.AVAILABLE,
    "unavailable": AgentState.UNAVAILABLE,
    "offline": AgentState.OFFLINE,
}


class AgentStatusService:
    def __init__(self, *, agents: AgentRepository | None = None, clock: Clock = utc_now) -> None:
        self.agents = agents or AgentRepository()
        self.clock = clock

    def set_status(self, connection: WsConnection, message: AgentSetStatus) -> Done[AgentStatus]:
        """Move the agent to the status asked (asking for the current one again is a no-op, not an
        error). Available: the unit's waiting calls may be offered to them. Raises ILLEGAL_TRANSITION
        (e.g. offline while in a call)."""
        agent = self.agents.get(connection.principal_id)
        target = STATUS_TARGETS[message.status]
        effects = Effects()
        if agent.state != target:
            attrs = {"available_since": self.clock()} if target is AgentState.AVAILABLE else None
            agent = transition(
                agent,
                AGENT,
                STATUS_EVENTS[message.status],
                request_id=message.request_id,
                actor=connection.principal_id,
                reason="status control",
                attrs=attrs,
            )
            if target is AgentState.AVAILABLE:
                effects.event(AgentFreed(agent.unit_id))
        reply = AgentStatus(
            request_id=message.request_id,
            agent_id=agent.agent_id,
            status=agent.state,
            since_ms=_ms(agent.updated_at),
        )
        return Done(reply, effects)


def _ms(when: datetime | None) -> int:
    return int((when or datetime.now(UTC)).timestamp() * 1000)
