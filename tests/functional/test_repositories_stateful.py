"""The small repositories on moto: get / create / transition / log for dossiers, calls, agents, offers,
and the GSI lookups they expose. Machines here are stand-ins: the real ones live in ``vkyc.domain``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest

from vkyc.domain.dossier import DossierEvent
from vkyc.domain.machine import StateMachine
from vkyc.repositories import transitions
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import INBOUND, CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import NotFound
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.tables import Agent, Call, Offer


class St(StrEnum):
    A = "A"
    B = "B"


class Ev(StrEnum):
    GO = "go"
    BACK = "back"


FLIP = StateMachine[St, Ev](name="flip", initial=St.A, table={(St.A, Ev.GO): St.B, (St.B, Ev.BACK): St.A})

calls = CallRepository()
agents = AgentRepository()
offers = OfferRepository()
dossiers = DossierRepository()


def rid() -> str:
    return uuid.uuid4().hex


def test_dossier_create_get_transition_and_history(tables):
    dossier_id = "d-" + rid()
    dossiers.create(
        dossier_id,
        unit_id="6",
        subscriber="84901234567",
        sub_type="ZP",
        customer_type="KHCN",
        request_id=rid(),
        actor="dealer:7",
    )
    dossier = dossiers.get(dossier_id)
    assert (dossier.unit_id, dossier.sub_type, dossier.kyc_at_counter, dossier.state) == (
        "6",
        "ZP",
        False,
        "N",
    )
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:7", reason="ready")
    assert [(e.from_state, e.to_state) for e in dossiers.history(dossier_id)] == [(None, "N"), ("N", "W")]


def test_get_of_a_missing_item_raises_not_found(tables):
    with pytest.raises(NotFound) as raised:
        calls.get("nope-" + rid())
    assert raised.value.code == "NOT_FOUND"
    assert raised.value.kind == "call"
    assert calls.find("nope") is None
    assert dossiers.find("nope") is None


def test_agents_of_a_unit_are_listed_with_their_state(tables):
    unit = "u-" + rid()
    created = [
        agents.create(Agent(f"a{i}-{rid()}", unit_id=unit, name=f"A{i}"), FLIP, request_id=rid(), actor="x")
        for i in range(3)
    ]
    agents.transition(created[0], FLIP, Ev.GO, request_id=rid(), actor="x")
    listed = {a.agent_id: a.state for a in agents.of_unit(unit)}
    assert listed == {created[0].agent_id: "B", created[1].agent_id: "A", created[2].agent_id: "A"}
    free = agents.of_unit(unit, state="A")
    assert {a.agent_id for a in free} == {created[1].agent_id, created[2].agent_id}
    # The index carries the version: a transition can be planned from it directly.
    from_index = free[0]
    agents.transition(from_index, FLIP, Ev.GO, request_id=rid(), actor="router")
    assert agents.get(from_index.agent_id).state == "B"
    assert agents.get(from_index.agent_id).name is not None, "a partial item must not erase attributes"


def test_calls_and_offers_are_found_by_dossier_and_call(tables):
    dossier_id = "d-" + rid()
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    made = []
    for i in range(2):
        call = Call(
            f"c{i}-{rid()}", direction=INBOUND, unit_id="6", serving_unit_id="1", dossier_id=dossier_id
        )
        made.append(
            calls.create(call, FLIP, request_id=rid(), actor="mobile", at=start + timedelta(minutes=i))
        )
    assert [c.call_id for c in calls.of_dossier(dossier_id)] == [c.call_id for c in made]

    call = made[1]
    agent = agents.create(Agent("a-" + rid(), unit_id="1"), FLIP, request_id=rid(), actor="x")
    offer = Offer("o-" + rid(), call_id=call.call_id, agent_id=agent.agent_id)
    request_id = rid()
    transitions.commit(
        transitions.plan_create(offer, FLIP, actor="router"),
        calls.plan(call, FLIP, Ev.GO, actor="router", attrs={"offer_id": offer.offer_id}),
        agents.plan(agent, FLIP, Ev.GO, actor="router", attrs={"offer_id": offer.offer_id}),
        request_id=request_id,
    )
    assert [(o.offer_id, o.agent_id, o.state) for o in offers.of_call(call.call_id)] == [
        (offer.offer_id, agent.agent_id, "A")
    ]
    assert calls.get(call.call_id).offer_id == offer.offer_id
    assert [e.event for e in offers.history(offer.offer_id)] == ["create"]
    assert [e.request_id for e in calls.history(call.call_id)][-1] == request_id


def test_calls_of_a_unit_are_listed_by_creation_time_with_report_columns(tables):
    unit = "u-" + rid()
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    made = [
        calls.create(
            Call(f"c{i}-{rid()}", direction=INBOUND, unit_id=unit, subscriber="8490000000" + str(i)),
            FLIP,
            request_id=rid(),
            actor="mobile",
            at=start + timedelta(hours=i),
        )
        for i in range(4)
    ]
    window = calls.of_unit(unit, start + timedelta(hours=1), start + timedelta(hours=2))
    assert [c.call_id for c in window] == [made[1].call_id, made[2].call_id]
    assert window[0].subscriber == "84900000001"
    assert window[0].device_id is None  # not projected: reports do not carry whole items


def test_find_with_an_empty_id_is_none_without_a_request(tables, dynamodb_calls):
    from vkyc.repositories.calls import CallRepository

    assert CallRepository().find("") is None
    assert dynamodb_calls == []
