"""A supervisor sets an agent's status or logs them out (issue #16), on moto: only agents of the units
they serve, never while ringing or in a call, the agent's page told who and why, and each forced move
in the agent's log with the supervisor as actor and the reason (the audit trail)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.test_media_service import Recorder, new_session, stamped
from tests.graph import Cases, graph_on
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import SupervisorSetAgentStatus
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.tables import Agent
from vkyc.repositories.units import UnitView
from vkyc.services.supervision import SupervisionService


class Desk:
    def __init__(self, state: str = "AVAILABLE") -> None:
        self.unit = f"u{uuid.uuid4().hex[:5]}"
        self.pushes = Recorder()
        self.graph = graph_on(self.pushes)
        units = [UnitView(self.unit, "Khu vực thử", self.unit, True), UnitView("far", "Xa", "far", True)]
        self.service = SupervisionService(self.graph.sessions, units=lambda: units)
        self.cases = Cases(self.graph, set_status=self.service.set_agent_status)
        self.agent_id = f"tdv-{uuid.uuid4().hex[:5]}"
        self.agent = new_session("agent", self.agent_id, agent_id=self.agent_id, unit_id=self.unit)
        stamped(Agent(self.agent_id, unit_id=self.unit, connection_id=self.agent.connection_id), state)
        self.supervisor = new_session("supervisor", "gs-test", unit_id=self.unit)

    def ask(self, status: str, reason: str = "Họp đột xuất", agent_id: str | None = None) -> Any:
        message = SupervisorSetAgentStatus(
            action="supervisor.set_agent_status",
            request_id=f"s-{uuid.uuid4().hex[:6]}",
            seq=1,
            ts=1767225600000,
            mac="A" * 43,
            agent_id=agent_id or self.agent_id,
            status=status,
            reason=reason,
        )
        return self.cases.set_status(self.supervisor, message)

    def pushed(self, action: str) -> list[dict[str, Any]]:
        return [m for m in self.pushes.to(self.agent.connection_id) if m["action"] == action]


def test_a_supervisor_sets_an_agent_unavailable_and_the_log_says_who_and_why(tables: Any):
    desk = Desk()
    reply = desk.ask("unavailable")
    assert (reply.agent_id, reply.status) == (desk.agent_id, "UNAVAILABLE")
    last = AgentRepository().history(desk.agent_id)[-1]
    assert (last.event, last.actor, last.reason) == ("break", "gs-test", "forced by gs-test: Họp đột xuất")
    [told] = desk.pushed("agent.status")
    assert (told["status"], told["by"], told["reason"]) == ("UNAVAILABLE", "gs-test", "Họp đột xuất")
    assert desk.ask("available").status == "AVAILABLE"


def test_a_logout_ends_the_agents_sessions(tables: Any):
    desk = Desk()
    assert desk.ask("offline", "Hết ca").status == "OFFLINE"
    assert SessionRepository().get(desk.agent.session_id).state == "ENDED"
    [ended] = desk.pushed("session.ended")
    assert ended["reason"] == "logged_out_by_supervisor"
    assert AgentRepository().get(desk.agent_id).state == "OFFLINE"


@pytest.mark.parametrize("state", ["RINGING", "IN_CALL"])
def test_a_live_call_is_never_cut_from_the_console(tables: Any, state: str):
    desk = Desk(state)
    version = AgentRepository().get(desk.agent_id).version
    for status in ("available", "unavailable", "offline"):
        with pytest.raises(ProtocolError) as refused:
            desk.ask(status)
        assert refused.value.code == "AGENT_BUSY"
    assert AgentRepository().get(desk.agent_id).version == version
    assert SessionRepository().get(desk.agent.session_id).state != "ENDED"


def test_an_agent_of_a_unit_not_served_is_not_found(tables: Any):
    desk = Desk()
    stranger = f"far-{uuid.uuid4().hex[:5]}"
    stamped(Agent(stranger, unit_id="far"), "AVAILABLE")
    for agent_id in (stranger, "no-such-agent"):
        with pytest.raises(ProtocolError) as refused:
            desk.ask("unavailable", agent_id=agent_id)
        assert refused.value.code == "NOT_FOUND"
    assert AgentRepository().get(stranger).state == "AVAILABLE"
