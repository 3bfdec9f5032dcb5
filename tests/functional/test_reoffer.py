"""A call rejected once goes back to that agent when nobody else may take it (issue #16): one Esc too
many must not leave the caller waiting to the queue timeout beside an Available agent. Only after
``reoffer_after_s``, only once per agent, never to an agent who let it ring out, and never while another
agent is free."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.functional.test_call_cancel import Desks
from tests.functional.test_media_service import Recorder, new_session, stamped
from tests.graph import Cases, graph_on
from vkyc.domain.settings import CallSettings
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import Agent, WsConnection
from vkyc.services.ports import utc_now

DELAY_S = CallSettings().reoffer_after_s


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Desk:
    """One unit, ``free`` Available agents (and a clock the test moves), a caller with a dossier."""

    def __init__(self, free: int) -> None:
        self.unit_id = f"u{uuid.uuid4().hex[:6]}"
        self.clock = Clock()
        self.pushes = Recorder()
        self.agents: list[WsConnection] = []
        for n in range(free):
            agent_id = f"a{n}-{uuid.uuid4().hex[:6]}"
            connection = new_session("agent", agent_id, agent_id=agent_id, unit_id=self.unit_id)
            stamped(
                Agent(agent_id, unit_id=self.unit_id, connection_id=connection.connection_id),
                "AVAILABLE",
                at=self.clock.now - timedelta(minutes=5 - n),
            )
            self.agents.append(connection)
        self.router = Desks(self.unit_id, [a.principal_id for a in self.agents])
        self.graph = graph_on(self.pushes, router=self.router, clock=self.clock)
        self.cases = Cases(
            self.graph,
            request=self.graph.inbound.request,
            reject=self.graph.offers.reject,
            ring_timeout=self.graph.offers.ring_timeout,
            dispatch=self.graph.inbound.dispatch,
        )
        dossier_id = f"D-{uuid.uuid4().hex[:8]}"
        DossierRepository().create(dossier_id, unit_id=self.unit_id, request_id=uuid.uuid4().hex, actor="t")
        self.mobile = new_session("mobile", "dealer", unit_id=self.unit_id, dossier_id=dossier_id)
        self.mobile.dossier_id = dossier_id

    def call(self) -> str:
        return str(self.cases.request(self.mobile, f"req-{uuid.uuid4().hex[:6]}").call_id)

    def offers_to(self, agent: WsConnection) -> list[dict[str, Any]]:
        return [m for m in self.pushes.to(agent.connection_id) if m["action"] == "call.offer"]

    def reject_latest(self, agent: WsConnection) -> None:
        self.cases.reject(agent, self.offers_to(agent)[-1]["offer_id"], f"r-{uuid.uuid4().hex[:6]}")

    def dispatch_timers(self) -> list[int]:
        return [delay for kind, payload, delay in self.pushes.timers if kind == "dispatch"]


def test_a_call_rejected_by_the_only_free_agent_rings_there_again_after_the_delay(tables: Any):
    desk = Desk(free=1)
    [agent] = desk.agents
    call_id = desk.call()
    desk.reject_latest(agent)
    assert CallRepository().get(call_id).state == "N"  # waiting in the queue
    assert AgentRepository().get(agent.principal_id).state == "AVAILABLE"
    assert DELAY_S in desk.dispatch_timers(), "a dispatch is due when the second chance opens"
    assert len(desk.offers_to(agent)) == 1, "not rung again at once"

    desk.clock.advance(DELAY_S - 1)
    assert desk.cases.dispatch(desk.unit_id) == 0
    desk.clock.advance(1)
    assert desk.cases.dispatch(desk.unit_id) == 1
    assert len(desk.offers_to(agent)) == 2 and CallRepository().get(call_id).agent_id == agent.principal_id

    # A second reject is final: no timer for it, and the call never rings there a third time.
    timers_before = len(desk.dispatch_timers())
    desk.reject_latest(agent)
    assert len(desk.dispatch_timers()) == timers_before
    desk.clock.advance(DELAY_S * 3)
    assert desk.cases.dispatch(desk.unit_id) == 0
    assert len(desk.offers_to(agent)) == 2
    assert CallRepository().get(call_id).state == "N"  # waiting in the queue


def test_a_rejected_call_goes_to_another_free_agent_first(tables: Any):
    desk = Desk(free=2)
    first, second = desk.agents
    call_id = desk.call()
    desk.reject_latest(first)
    assert len(desk.offers_to(second)) == 1 and CallRepository().get(call_id).agent_id == second.principal_id
    desk.reject_latest(second)
    # Nobody new: both get their second chance once the delay passed, the one idle longest first.
    desk.clock.advance(DELAY_S)
    assert desk.cases.dispatch(desk.unit_id) == 1
    assert CallRepository().get(call_id).agent_id in {first.principal_id, second.principal_id}


def test_an_agent_who_let_the_call_ring_out_gets_no_second_chance(tables: Any):
    desk = Desk(free=1)
    [agent] = desk.agents
    call_id = desk.call()
    offer_id = desk.offers_to(agent)[-1]["offer_id"]
    assert desk.cases.ring_timeout(offer_id) is True
    stored = AgentRepository().get(agent.principal_id)
    assert stored.state == "UNAVAILABLE"
    stamped(stored, "AVAILABLE", version=stored.version + 1, at=desk.clock.now)  # back at the desk
    desk.clock.advance(DELAY_S * 3)
    assert desk.cases.dispatch(desk.unit_id) == 0
    assert len(desk.offers_to(agent)) == 1
    assert CallRepository().get(call_id).state == "N"  # waiting in the queue
