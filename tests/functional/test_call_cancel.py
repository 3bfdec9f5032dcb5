"""A caller's cancel always wins before the answer (issue #10 item 9): in every not-yet-answered state,
and against the race seen under load (the cancel read the call between an agent's reject and the next
offer, the re-offer committed first), the call ends E and no agent is left ringing for nobody."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import pytest

from tests.functional.test_media_service import NOW, Recorder, new_session, stamped
from tests.graph import Cases, graph_on
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.tables import Agent, Call, Dossier, WsConnection
from vkyc.services.claims import Route


class Anyone:
    """Eligibility that lets every dossier call."""

    def check(self, dossier: Dossier) -> None:
        return None


class Desks:
    """A router over a fixed list of agents (best first), skipping those tried or not AVAILABLE.
    ``on_choose`` runs before each choice: the test's hook into the moment between two commits."""

    def __init__(self, unit_id: str, agent_ids: Sequence[str]) -> None:
        self.unit_id = unit_id
        self.agent_ids = list(agent_ids)
        self.on_choose: Any = None

    def route(self, dossier: Dossier) -> Route:
        return Route(self.unit_id, None, ring_timeout_s=60, queue_timeout_s=180)

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        if self.on_choose is not None:
            self.on_choose(call)
        agents = AgentRepository()
        found = [agents.find(a) for a in self.agent_ids if a not in excluded]
        return [a for a in found if a is not None and a.state == "AVAILABLE"]

    def overflow_in(self, call: Call) -> float | None:
        return None


class Setup:
    def __init__(self) -> None:
        self.unit_id = f"u{uuid.uuid4().hex[:6]}"
        self.pushes = Recorder()
        self.agents: list[WsConnection] = []
        for n in range(2):
            agent_id = f"a{n}-{uuid.uuid4().hex[:6]}"
            connection = new_session("agent", agent_id, agent_id=agent_id, unit_id=self.unit_id)
            stamped(
                Agent(agent_id, unit_id=self.unit_id, connection_id=connection.connection_id),
                "AVAILABLE",
            )
            self.agents.append(connection)
        self.router = Desks(self.unit_id, [a.principal_id for a in self.agents])
        self.graph = graph_on(self.pushes, eligibility=Anyone(), router=self.router)
        self.service = Cases(
            self.graph,
            request=self.graph.inbound.request,
            cancel=self.graph.inbound.cancel,
            accept=self.graph.offers.accept,
            reject=self.graph.offers.reject,
        )
        self.dossier_id = f"D-{uuid.uuid4().hex[:8]}"
        DossierRepository().create(
            self.dossier_id, unit_id=self.unit_id, request_id=uuid.uuid4().hex, actor="test"
        )
        self.mobile = new_session("mobile", "dealer", unit_id=self.unit_id, dossier_id=self.dossier_id)
        self.mobile.dossier_id = self.dossier_id

    def call(self) -> str:
        return self.service.request(self.mobile, f"req-{uuid.uuid4().hex[:6]}").call_id

    def offers_to(self, agent: WsConnection) -> list[dict[str, Any]]:
        return [m for m in self.pushes.to(agent.connection_id) if m["action"] == "call.offer"]


@pytest.fixture
def setup(tables: Any) -> Setup:
    return Setup()


def _state(agent: WsConnection) -> str:
    return AgentRepository().get(agent.principal_id).state


def test_a_cancel_that_read_the_call_between_a_reject_and_the_next_offer_still_ends_it(setup: Setup):
    first, second = setup.agents
    call_id = setup.call()
    [offer] = setup.offers_to(first)
    seen: list[Call] = []
    # The cancel reads the call at the moment the reject has committed (R) and the re-offer has not.
    setup.router.on_choose = lambda call: seen.append(CallRepository().get(call_id)) if not seen else None
    setup.service.reject(first, offer["offer_id"], "a-reject")
    assert seen and seen[0].state == "R"
    assert CallRepository().get(call_id).state == "W", "the re-offer went out: the second agent rings"
    [second_offer] = setup.offers_to(second)

    reads = iter([seen[0]])  # the cancel's first read is that stale copy; later ones are fresh
    calls = setup.graph.inbound.calls
    real_find = calls.find
    calls.find = lambda cid, **kw: next(reads, None) or real_find(cid, **kw)  # type: ignore[method-assign]
    ended = setup.service.cancel(setup.mobile, call_id, "m-cancel")

    assert (ended.state, ended.reason) == ("E", "caller_hung_up")
    call = CallRepository().get(call_id)
    assert (call.state, call.end_reason) == ("E", "caller_hung_up")
    assert OfferRepository().get(second_offer["offer_id"]).state == "CANCELLED"
    assert _state(second) == "AVAILABLE", "nobody rings for a caller who left"
    withdrawn = [m for m in setup.pushes.to(second.connection_id) if m["action"] == "offer.withdrawn"]
    assert [m["offer_id"] for m in withdrawn] == [second_offer["offer_id"]]


def test_a_re_offer_that_lost_the_race_to_a_cancel_rings_nobody(setup: Setup):
    first, second = setup.agents
    call_id = setup.call()
    [offer] = setup.offers_to(first)

    def cancel_now(call: Call) -> None:
        setup.router.on_choose = None
        setup.service.cancel(setup.mobile, call_id, "m-cancel")

    setup.router.on_choose = cancel_now  # the cancel commits between the reject and the re-offer
    setup.service.reject(first, offer["offer_id"], "a-reject")
    assert CallRepository().get(call_id).state == "E"
    assert setup.offers_to(second) == [] and _state(second) == "AVAILABLE"
    assert _state(first) == "AVAILABLE"


@pytest.mark.parametrize("state", ["N", "R", "M"])
def test_a_cancel_in_a_waiting_state_ends_e(setup: Setup, state: str):
    call = stamped(
        Call(
            str(uuid.uuid4()),
            direction="in",
            unit_id=setup.unit_id,
            serving_unit_id=setup.unit_id,
            dossier_id=setup.dossier_id,
            mobile_session_id=setup.mobile.session_id,
            mobile_connection_id=setup.mobile.connection_id,
            waiting_in=setup.unit_id,
            created_at=NOW,
        ),
        state,
    )
    ended = setup.service.cancel(setup.mobile, call.call_id, "m-cancel")
    assert (ended.state, CallRepository().get(call.call_id).state) == ("E", "E")
    assert all(_state(a) == "AVAILABLE" for a in setup.agents) and setup.pushes.sent == []


def test_a_cancel_while_ringing_withdraws_the_offer(setup: Setup):
    first, _ = setup.agents
    call_id = setup.call()
    assert _state(first) == "RINGING"
    setup.service.cancel(setup.mobile, call_id, "m-cancel")
    assert CallRepository().get(call_id).state == "E" and _state(first) == "AVAILABLE"


def test_a_cancel_after_the_answer_is_refused_and_changes_nothing(setup: Setup):
    first, _ = setup.agents
    call_id = setup.call()
    [offer] = setup.offers_to(first)
    setup.service.accept(first, offer["offer_id"], "a-accept")
    version = CallRepository().get(call_id).version
    with pytest.raises(ProtocolError) as caught:
        setup.service.cancel(setup.mobile, call_id, "m-cancel")
    assert (caught.value.code, caught.value.call_id) == ("ILLEGAL_TRANSITION", call_id)
    assert CallRepository().get(call_id).version == version
