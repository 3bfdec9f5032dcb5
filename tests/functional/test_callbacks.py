"""The call-back (agent → mobile) and device registration on moto: every outcome (A then C, T by
timeout and by decline, E, I, F), the checks of ``callback.start`` in their order, the licence limit
(also under concurrency), the session hooks, and the history each call-back leaves."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.graph import Cases, RecordingDispatcher, graph_on
from tests.media_facts import customer_seen
from vkyc.domain.eligibility import NotEligible
from vkyc.domain.session import SESSION
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import devices
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.sessions import SessionRepository, new_connection
from vkyc.repositories.tables import Agent, Call, Group, Hotline, Session, Unit, WsConnection
from vkyc.services.callbacks import is_callback
from vkyc.services.effects import AgentFreed, SessionDropped, SessionLeft, SessionResumed
from vkyc.services.housekeeping import Housekeeping
from vkyc.services.timers import CallbackRingTimeout, NoCallArrived
from vkyc.wiring import SignalingGraph

CALLBACK_RING_TIMER, NO_CALL_TIMER = CallbackRingTimeout.KIND, NoCallArrived.KIND
NOW = datetime.now(UTC).replace(microsecond=0)
LONG_AGO = NOW - timedelta(minutes=10)


class Recorder:
    """Notifier and timers in one: what the service pushed and scheduled."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.timers: list[tuple[str, dict[str, Any], int]] = []

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        self.sent.append((connection_id, message))
        return True

    def close(self, connection_id: str) -> None:
        return None

    def schedule(self, kind: str, payload: dict[str, Any], delay_s: int) -> None:
        self.timers.append((kind, payload, delay_s))

    def schedule_many(self, timers: list[Any]) -> None:
        for timer in timers:
            self.schedule(timer.kind, timer.payload, timer.delay_s)

    def to(self, connection_id: str | None) -> list[dict[str, Any]]:
        return [message for cid, message in self.sent if cid == connection_id]


@dataclass
class World:
    """One self-serving unit: a hotline that lets group ``team`` call out, an AVAILABLE agent of that
    group with a live session, a dossier (W) and a live mobile session on it."""

    service: Cases
    pushes: Recorder
    graph: SignalingGraph
    settings: dict[str, Any]
    unit_id: str
    agent: WsConnection
    mobile: WsConnection
    dossier_id: str
    subscriber: str
    swept: list[str] = field(default_factory=list)  # units the sweeper freed an agent in

    @property
    def freed(self) -> list[str]:
        """The units in which an agent became AVAILABLE (their waiting calls were offered)."""
        assert isinstance(self.graph.dispatcher, RecordingDispatcher)
        return [event.unit_id for event in self.graph.dispatcher.events(AgentFreed)] + self.swept


def _stamp(item: Any, state: str, at: datetime = LONG_AGO, version: int = 3) -> Any:
    item.state, item.version = state, version
    item.created_at = item.updated_at = at
    item.last_request_id = f"setup-{uuid.uuid4().hex[:6]}"
    item.save()
    return item


def new_session(unit_id: str, role: str, principal: str, **attrs: Any) -> WsConnection:
    """A live session and the connection that carries it (the connection is not stored: the service
    gets it as signaling would)."""
    session = Session(
        str(uuid.uuid4()),
        principal_id=principal,
        role=role,
        unit_id=unit_id,
        session_key="k",
        connection_id=f"conn-{uuid.uuid4().hex[:8]}",
        **attrs,
    )
    SessionRepository().create(session, SESSION, request_id=uuid.uuid4().hex, actor="test")
    return new_connection(session.connection_id or "", session, connected_at=NOW, expires_at=NOW)


def new_dossier(unit_id: str, state: str = "W", subscriber: str | None = None) -> str:
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    dossier = DossierRepository().create(
        dossier_id,
        unit_id=unit_id,
        request_id=uuid.uuid4().hex,
        actor="test",
        subscriber=subscriber or "8490" + uuid.uuid4().hex[:7].translate(str.maketrans("abcdef", "123456")),
        sub_type="MC",
        customer_type="KHCN",
        payment_type="prepaid",
    )
    if state != "N":
        _stamp(dossier, state)
    return dossier_id


def new_agent(unit_id: str, groups: set[str], state: str = "AVAILABLE") -> WsConnection:
    agent_id = f"a-{uuid.uuid4().hex[:8]}"
    connection = new_session(unit_id, "agent", agent_id, agent_id=agent_id)
    agent = Agent(
        agent_id,
        unit_id=unit_id,
        name=f"Agent {agent_id}",
        group_ids=groups,
        connection_id=connection.connection_id,
    )
    _stamp(agent, state)
    return connection


@pytest.fixture
def world(tables, monkeypatch) -> World:
    monkeypatch.setenv("VKYC_CONFIG_CACHE_S", "0")  # configuration written by each test is read at once
    unit_id = f"u{uuid.uuid4().hex[:6]}"
    Unit(unit_id, name=f"Unit {unit_id}", has_agents=True).save()
    Group(f"{unit_id}-team", unit_id=unit_id, name="team").save()
    Hotline(
        f"1900{uuid.uuid4().hex[:6]}",
        unit_id=unit_id,
        name="hotline",
        allow_call_out=True,
        call_out_group_ids={f"{unit_id}-team"},
    ).save()
    pushes = Recorder()
    settings: dict[str, Any] = {"callback_timeout_s": 60}
    graph = graph_on(pushes, settings=lambda unit: CallSettings(**settings), clock=lambda: datetime.now(UTC))
    lifecycle, hooks = graph.lifecycle, graph.hooks
    service = Cases(
        graph,
        register=graph.devices.register,
        unregister=graph.devices.unregister,
        start=graph.callbacks.start,
        cancel=graph.callbacks.cancel,
        accept=graph.callbacks.accept,
        decline=graph.callbacks.decline,
        ring_timeout=graph.callbacks.ring_timeout,
        hangup=lifecycle.hangup,
        decide=lifecycle.decide,
        no_call_timeout=lifecycle.no_call_timeout,
        end_for_media=lifecycle.end_for_media,
        party_left=lambda session, reason: hooks.left(SessionLeft(session, reason)),
        party_dropped=lambda session: hooks.dropped(SessionDropped(session)),
        party_resumed=lambda session: hooks.resumed(SessionResumed(session)),
    )
    dossier_id = new_dossier(unit_id)
    dossier = DossierRepository().get(dossier_id)
    return World(
        service=service,
        pushes=pushes,
        graph=graph,
        settings=settings,
        unit_id=unit_id,
        agent=new_agent(unit_id, {f"{unit_id}-team"}),
        mobile=new_session(unit_id, "mobile", "dealer-1", dossier_id=dossier_id),
        dossier_id=dossier_id,
        subscriber=dossier.subscriber or "",
    )


def register(world: World, mobile: WsConnection | None = None, device: str = "device-1") -> Any:
    return world.service.register(mobile or world.mobile, device, uuid.uuid4().hex)


def start(world: World, agent: WsConnection | None = None, dossier_id: str | None = None) -> Any:
    return world.service.start(agent or world.agent, dossier_id or world.dossier_id, uuid.uuid4().hex)


def agent_of(connection: WsConnection) -> Agent:
    return AgentRepository().get(connection.principal_id)


def call_of(call_id: str) -> Call:
    return CallRepository().get(call_id)


def events_of(call_id: str) -> list[tuple[str | None, str, str]]:
    return [(e.from_state, e.event, e.to_state) for e in CallRepository().history(call_id)]


def refused(code: str, use_case: Any, *args: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        use_case(*args)
    assert caught.value.code == code, caught.value
    return caught.value


# -- registration ---------------------------------------------------------------------------------------


def test_a_registration_takes_one_licence_per_subscriber_and_unit(world):
    first = register(world, device="phone-a")
    assert (first.reply.new_registration, first.reply.unit_id, first.incoming) == (True, world.unit_id, [])
    again = register(world, device="phone-b")  # the same subscriber on another phone
    assert again.reply.new_registration is False
    assert devices.registered_count(world.unit_id) == 1
    stored = devices.find_registration(world.unit_id, world.subscriber)
    assert stored is not None and (stored.device_id, stored.session_id) == (
        "phone-b",
        world.mobile.session_id,
    )


def test_a_new_subscriber_over_the_licence_limit_is_refused_and_writes_nothing(world):
    world.settings["device_licence_limit"] = 1
    register(world)
    other_dossier = new_dossier(world.unit_id)
    other = new_session(world.unit_id, "mobile", "dealer-2", dossier_id=other_dossier)
    error = refused("DEVICE_LIMIT_REACHED", world.service.register, other, "phone-2", "r-over")
    assert "The limit is 1." in error.message
    assert devices.registered_count(world.unit_id) == 1
    subscriber = DossierRepository().get(other_dossier).subscriber
    assert devices.find_registration(world.unit_id, subscriber) is None
    # A subscriber already registered still re-registers at the limit.
    assert register(world, device="phone-3").reply.new_registration is False


def test_unregistering_frees_the_licence_for_another_subscriber(world):
    world.settings["device_licence_limit"] = 1
    register(world, device="phone-a")
    other = new_session(world.unit_id, "mobile", "dealer-2", dossier_id=new_dossier(world.unit_id))
    refused("DEVICE_LIMIT_REACHED", world.service.register, other, "phone-2", "r-full")

    gone = world.service.unregister(world.mobile, "phone-a", "r-unregister")

    assert (gone.released, gone.unit_id, gone.device_id) == (True, world.unit_id, "phone-a")
    assert devices.find_registration(world.unit_id, world.subscriber) is None
    assert devices.registered_count(world.unit_id) == 0
    assert world.service.register(other, "phone-2", "r-now").reply.new_registration is True
    assert devices.registered_count(world.unit_id) == 1


def test_unregistering_twice_or_another_devices_registration_changes_nothing(world):
    register(world, device="phone-a")
    register(world, device="phone-b")  # the subscriber moved to another phone
    stale = world.service.unregister(world.mobile, "phone-a", "r-stale")
    assert stale.released is False
    stored = devices.find_registration(world.unit_id, world.subscriber)
    assert stored is not None and stored.device_id == "phone-b"
    assert devices.registered_count(world.unit_id) == 1
    assert world.service.unregister(world.mobile, "phone-b", "r-1").released is True
    assert world.service.unregister(world.mobile, "phone-b", "r-2").released is False
    assert devices.registered_count(world.unit_id) == 0


def test_a_call_back_after_unregistering_records_i(world):
    register(world)
    world.service.unregister(world.mobile, "device-1", "r-unregister")
    error = refused("DEVICE_NOT_REGISTERED", start, world)
    assert error.call_id is not None and is_callback(error.call_id)
    call = call_of(error.call_id)
    assert (call.state, call.end_reason, call.dossier_id) == ("I", "device_not_registered", world.dossier_id)
    assert events_of(error.call_id) == [(None, "create", "N"), ("N", "device_not_registered", "I")]
    assert world.pushes.timers == [] and world.pushes.sent == [], "nobody is rung, no timer is set"


def test_concurrent_registrations_never_exceed_the_licence_limit(world):
    world.settings["device_licence_limit"] = 3
    mobiles = [
        new_session(world.unit_id, "mobile", f"dealer-{n}", dossier_id=new_dossier(world.unit_id))
        for n in range(8)
    ]
    outcomes: list[str] = []
    gate = threading.Barrier(len(mobiles))

    def one(mobile: WsConnection) -> None:
        gate.wait()
        try:
            world.service.register(mobile, "phone", uuid.uuid4().hex)
            outcomes.append("ok")
        except ProtocolError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=one, args=(m,)) for m in mobiles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["DEVICE_LIMIT_REACHED"] * 5 + ["ok"] * 3
    assert devices.registered_count(world.unit_id) == 3


def test_a_session_whose_dossier_has_no_subscriber_cannot_register(world):
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    DossierRepository().create(dossier_id, unit_id=world.unit_id, request_id=uuid.uuid4().hex, actor="test")
    mobile = new_session(world.unit_id, "mobile", "dealer-3", dossier_id=dossier_id)
    refused("NOT_FOUND", world.service.register, mobile, "phone", "r-1")
    assert devices.registered_count(world.unit_id) == 0


# -- start, and each outcome ----------------------------------------------------------------------------


def test_start_rings_the_registered_mobile_and_holds_the_agent(world):
    register(world)
    ringing = start(world)
    assert is_callback(ringing.call_id) and ringing.mobile_online is True and ringing.ring_timeout_s == 60
    call = call_of(ringing.call_id)
    assert (call.direction, call.state, call.agent_id, call.device_id) == (
        "out",
        "N",
        world.agent.principal_id,
        "device-1",
    )
    assert call.agent_started_from == "AVAILABLE" and call.hotline_id is not None
    agent = agent_of(world.agent)
    assert (agent.state, agent.call_id) == ("IN_CALL", ringing.call_id)
    (incoming,) = world.pushes.to(world.mobile.connection_id)
    assert incoming["action"] == "callback.incoming" and incoming["call_id"] == ringing.call_id
    assert incoming["agent_name"] == f"Agent {world.agent.principal_id}"
    assert incoming["expires_at_ms"] == ringing.expires_at_ms
    assert world.pushes.timers == [
        (CALLBACK_RING_TIMER, {"call_id": ringing.call_id}, 60),
        (NO_CALL_TIMER, {"call_id": ringing.call_id}, 20),  # in the same request: it rides along
    ]
    assert DossierRepository().get(world.dossier_id).last_call_id == ringing.call_id


def test_accepted_then_hung_up_ends_c_with_the_agent_in_wrap_up(world):
    register(world)
    call_id = start(world).call_id
    connected = world.service.accept(world.mobile, call_id, "m-accept")
    assert (connected.request_id, connected.agent_id) == ("m-accept", world.agent.principal_id)
    assert world.pushes.to(world.agent.connection_id)[-1]["action"] == "call.connected"
    sessions = SessionRepository()
    assert sessions.get(world.mobile.session_id).peer_session_id == world.agent.session_id
    assert sessions.get(world.agent.session_id).peer_session_id == world.mobile.session_id

    ended = world.service.hangup(world.mobile, call_id, "m-hangup")
    assert (ended.state, ended.reason, ended.ended_by) == ("C", "completed", "mobile")
    told = world.pushes.to(world.agent.connection_id)[-1]
    assert (told["action"], told["state"], told["call_id"]) == ("call.ended", "C", call_id)
    assert agent_of(world.agent).state == "WRAP_UP"
    assert [event for _, event, _ in events_of(call_id)] == ["create", "accept", "end"]
    assert call_of(call_id).answered_at is not None


def test_declined_ends_t_with_the_agent_holding_it_in_wrap_up(world):
    register(world)
    call_id = start(world).call_id
    ended = world.service.decline(world.mobile, call_id, "m-decline")
    assert (ended.state, ended.reason, ended.ended_by) == ("T", "declined", "mobile")
    agent = agent_of(world.agent)
    assert (agent.state, agent.call_id) == ("WRAP_UP", call_id), "held: D may be decided through it"
    assert world.pushes.to(world.agent.connection_id)[-1]["reason"] == "declined"
    assert world.freed == []
    assert events_of(call_id)[-1] == ("N", "decline", "T")


def test_cancelled_by_the_agent_ends_e_and_tells_the_mobile(world):
    register(world)
    call_id = start(world).call_id
    ended = world.service.cancel(world.agent, call_id, "a-cancel")
    assert (ended.state, ended.reason, ended.ended_by) == ("E", "agent_cancelled", "agent")
    assert world.pushes.to(world.mobile.connection_id)[-1]["state"] == "E"
    assert agent_of(world.agent).state == "AVAILABLE"
    refused("ILLEGAL_TRANSITION", world.service.accept, world.mobile, call_id, "m-late")


def test_the_ring_timeout_ends_t_once(world):
    register(world)
    call_id = start(world).call_id
    assert world.service.ring_timeout(call_id) is True
    call = call_of(call_id)
    assert (call.state, call.end_reason, call.ended_by) == ("T", "no_answer", "system")
    assert (agent_of(world.agent).state, agent_of(world.agent).call_id) == ("WRAP_UP", call_id)
    assert world.pushes.to(world.mobile.connection_id)[-1]["reason"] == "no_answer"
    assert world.pushes.to(world.agent.connection_id)[-1]["reason"] == "no_answer"
    version = call.version
    assert world.service.ring_timeout(call_id) is False, "a timer delivered twice does nothing"
    assert call_of(call_id).version == version


def test_an_answered_call_back_is_not_ended_by_its_ring_timer(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    assert world.service.ring_timeout(call_id) is False
    assert call_of(call_id).state == "A"


def test_no_registered_device_records_i_and_holds_the_agent_in_wrap_up(world):
    before = agent_of(world.agent)
    error = refused("DEVICE_NOT_REGISTERED", start, world)
    assert error.call_id is not None and is_callback(error.call_id)
    call = call_of(error.call_id)
    assert (call.state, call.end_reason, call.agent_id) == ("I", "device_not_registered", before.agent_id)
    assert events_of(error.call_id) == [(None, "create", "N"), ("N", "device_not_registered", "I")]
    after = agent_of(world.agent)
    assert (after.state, after.call_id) == ("WRAP_UP", error.call_id)
    assert world.pushes.timers == [] and world.pushes.sent == []
    refused("DECISION_NOT_ALLOWED", world.service.decide, world.agent, error.call_id, "A", "", None, "a-a")
    assert DossierRepository().get(world.dossier_id).state == "W", "a refusal changes nothing"
    decided = world.service.decide(world.agent, error.call_id, "D", "no device", None, "a-d")
    assert decided.dossier_state == "D" and agent_of(world.agent).state == "AVAILABLE"


# -- the checks of start, in order; each refusal changes nothing -------------------------------------


def _unchanged(world: World, agent: WsConnection) -> tuple[Any, ...]:
    dossier = DossierRepository().get(world.dossier_id)
    item = AgentRepository().find(agent.principal_id)
    return (dossier.version, dossier.last_call_id, item.version if item else None)


def test_an_unknown_dossier_or_one_of_a_unit_not_served_is_not_found(world):
    register(world)
    before = _unchanged(world, world.agent)
    refused("NOT_FOUND", start, world, None, "no-such-dossier")
    other_unit = f"u{uuid.uuid4().hex[:6]}"
    Unit(other_unit, name="other").save()
    refused("NOT_FOUND", start, world, None, new_dossier(other_unit))
    assert _unchanged(world, world.agent) == before


def test_a_dossier_of_a_served_unit_may_be_called_back(world):
    served = f"u{uuid.uuid4().hex[:6]}"
    Unit(served, name="served", served_by=world.unit_id).save()
    dossier_id = new_dossier(served)
    mobile = new_session(served, "mobile", "dealer-s", dossier_id=dossier_id)
    register(world, mobile)
    call = call_of(start(world, dossier_id=dossier_id).call_id)
    assert (call.unit_id, call.serving_unit_id) == (served, world.unit_id)


def test_an_agent_without_an_agent_item_is_agent_from_not_found(world):
    ghost = new_session(world.unit_id, "agent", "ghost", agent_id="ghost")
    refused("AGENT_FROM_NOT_FOUND", start, world, ghost)


def test_call_out_needs_a_hotline_that_allows_it_for_the_agents_group(world):
    register(world)
    before = _unchanged(world, world.agent)
    outsider = new_agent(world.unit_id, {"another-group"})
    refused("FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT", start, world, outsider)
    # A unit without any hotline, and one whose hotline does not allow call-out.
    bare = f"u{uuid.uuid4().hex[:6]}"
    Unit(bare, name="bare").save()
    refused("FROM_NUMBER_NOT_FOUND", start, world, new_agent(bare, {"g"}), new_dossier(bare))
    closed = f"u{uuid.uuid4().hex[:6]}"
    Unit(closed, name="closed").save()
    Hotline(f"1900{uuid.uuid4().hex[:6]}", unit_id=closed, name="h", allow_call_out=False).save()
    refused(
        "FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT", start, world, new_agent(closed, {"g"}), new_dossier(closed)
    )
    assert _unchanged(world, world.agent) == before


def test_a_hotline_without_group_list_lets_every_group_call_out(world):
    unit = f"u{uuid.uuid4().hex[:6]}"
    Unit(unit, name="open").save()
    Hotline(f"1900{uuid.uuid4().hex[:6]}", unit_id=unit, name="h", allow_call_out=True).save()
    dossier_id = new_dossier(unit)
    register(world, new_session(unit, "mobile", "dealer-o", dossier_id=dossier_id))
    assert start(world, new_agent(unit, {"any"}), dossier_id).mobile_online


def test_a_blacklisted_number_is_refused_before_the_agent_is_looked_at(world):
    register(world)
    world.settings["blacklist"] = [world.subscriber]
    busy = new_agent(world.unit_id, {f"{world.unit_id}-team"}, state="IN_CALL")
    before = _unchanged(world, busy)
    refused("TO_NUMBER_NOT_ALLOWS_CALLOUT", start, world, busy)
    assert _unchanged(world, busy) == before


@pytest.mark.parametrize(
    ("dossier_state", "counter", "code"),
    [
        ("A", False, "DOSSIER_ALREADY_APPROVED"),
        ("R", False, "DOSSIER_REJECTED"),
        ("C", False, "DOSSIER_IN_POST_AUDIT"),
        ("W", True, "KYC_AT_COUNTER_REQUIRED"),
    ],
)
def test_a_dossier_that_may_not_be_verified_by_video_is_not_called_back(world, dossier_state, counter, code):
    dossier_id = new_dossier(world.unit_id, state=dossier_state)
    if counter:
        stored = DossierRepository().get(dossier_id)
        stored.kyc_at_counter = True
        stored.save()
    register(world, new_session(world.unit_id, "mobile", "dealer-x", dossier_id=dossier_id))
    before = _unchanged(world, world.agent)
    with pytest.raises(NotEligible) as caught:
        start(world, dossier_id=dossier_id)
    assert caught.value.code == code
    assert _unchanged(world, world.agent) == before
    assert DossierRepository().get(dossier_id).state == dossier_state


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("IN_CALL", "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL"),
        ("RINGING", "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL"),
        ("UNAVAILABLE", "ILLEGAL_TRANSITION"),
        ("OFFLINE", "ILLEGAL_TRANSITION"),
    ],
)
def test_only_a_free_agent_may_call_back(world, state, code):
    register(world)
    agent = new_agent(world.unit_id, {f"{world.unit_id}-team"}, state=state)
    before = _unchanged(world, agent)
    refused(code, start, world, agent)
    assert _unchanged(world, agent) == before


def test_a_dossier_with_a_live_call_cannot_be_called_back(world):
    register(world)
    call_id = start(world).call_id
    second = new_agent(world.unit_id, {f"{world.unit_id}-team"})
    error = refused("CALL_IN_PROGRESS", start, world, second)
    assert error.call_id == call_id
    assert agent_of(second).state == "AVAILABLE"


def test_a_call_back_of_an_unreachable_dossier_retries_it(world):
    register(world)
    _stamp(DossierRepository().get(world.dossier_id), "D", version=7)
    call_id = start(world).call_id
    dossier = DossierRepository().get(world.dossier_id)
    assert (dossier.state, dossier.last_call_id) == ("W", call_id)


# -- who may act on a call-back ------------------------------------------------------------------------


def test_only_the_rung_mobile_and_the_calling_agent_may_act(world):
    register(world)
    call_id = start(world).call_id
    stranger = new_session(world.unit_id, "mobile", "dealer-x", dossier_id=new_dossier(world.unit_id))
    other_agent = new_agent(world.unit_id, {f"{world.unit_id}-team"})
    version = call_of(call_id).version
    refused("CALL_NOT_FOUND", world.service.accept, stranger, call_id, "x-1")
    refused("CALL_NOT_FOUND", world.service.decline, stranger, call_id, "x-2")
    refused("CALL_NOT_FOUND", world.service.cancel, other_agent, call_id, "x-3")
    refused("CALL_NOT_FOUND", world.service.accept, world.mobile, "not-a-call-back", "x-4")
    refused("ILLEGAL_TRANSITION", world.service.hangup, world.agent, call_id, "x-5")
    assert call_of(call_id).version == version


# -- from wrap-up, and the decision ------------------------------------------------------------------


def test_an_unanswered_call_back_from_wrap_up_returns_the_agent_to_wrap_up(world):
    register(world)
    _stamp(agent_of(world.agent), "WRAP_UP")
    call_id = start(world).call_id
    assert call_of(call_id).agent_started_from == "WRAP_UP"
    world.service.ring_timeout(call_id)
    assert agent_of(world.agent).state == "WRAP_UP", "the earlier call's decision is still owed"
    assert world.freed == []
    decided = world.service.decide(world.agent, call_id, "D", "no answer on call-back", None, "a-d")
    assert decided.dossier_state == "D" and agent_of(world.agent).state == "AVAILABLE"


def test_deciding_during_the_call_back_ends_it_and_frees_the_agent(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    refused("REASON_REQUIRED", world.service.decide, world.agent, call_id, "R", " ", None, "a-r")
    refused("DECISION_NOT_ALLOWED", world.service.decide, world.agent, call_id, "A", "", None, "a-early")
    customer_seen(call_id, "snap-1")
    decided = world.service.decide(world.agent, call_id, "A", "", "snap-1", "a-decide")
    assert (decided.dossier_state, decided.call_id) == ("A", call_id)
    call = call_of(call_id)
    assert (call.state, call.decision, call.end_reason) == ("C", "A", "completed")
    assert agent_of(world.agent).state == "AVAILABLE"
    to_mobile = [m["action"] for m in world.pushes.to(world.mobile.connection_id)]
    assert to_mobile[-2:] == ["call.ended", "call.result"]
    assert DossierRepository().get(world.dossier_id).snapshot_key == "snap-1"
    refused("ILLEGAL_TRANSITION", world.service.decide, world.agent, call_id, "A", "", None, "a-again")


def test_deciding_after_an_answered_call_back_in_wrap_up(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    customer_seen(call_id, face=False)
    world.service.hangup(world.agent, call_id, "a-hangup")
    decided = world.service.decide(world.agent, call_id, "C", "portrait blurred", None, "a-decide")
    assert decided.dossier_state == "C"
    assert agent_of(world.agent).state == "AVAILABLE"
    assert events_of(call_id)[-1] == ("C", "decided", "C")


def test_no_decision_on_a_ringing_call_back(world):
    register(world)
    call_id = start(world).call_id
    for decision in ("A", "R", "C", "D"):
        refused("DECISION_NOT_ALLOWED", world.service.decide, world.agent, call_id, decision, "x", None, "a")
    assert DossierRepository().get(world.dossier_id).state == "W"


# -- reconnects and the session hooks --------------------------------------------------------------


def test_a_mobile_that_registers_again_while_it_rings_gets_the_call_back(world):
    register(world)
    call_id = start(world).call_id
    newer = new_session(world.unit_id, "mobile", "dealer-1", dossier_id=world.dossier_id)
    again = register(world, newer)
    assert [incoming.call_id for incoming in again.incoming] == [call_id]
    assert call_of(call_id).mobile_session_id == newer.session_id
    assert events_of(call_id)[-1] == ("N", "mobile_attached", "N")
    refused("CALL_NOT_FOUND", world.service.accept, world.mobile, call_id, "old-session")
    assert world.service.accept(newer, call_id, "new-session").call_id == call_id


def test_the_agent_leaving_while_it_rings_cancels_it_and_takes_the_agent_offline(world):
    register(world)
    call_id = start(world).call_id
    session = SessionRepository().get(world.agent.session_id)
    world.service.party_left(session, "bye")
    call = call_of(call_id)
    assert (call.state, call.end_reason) == ("E", "agent_left")
    assert agent_of(world.agent).state == "OFFLINE"
    assert world.pushes.to(world.mobile.connection_id)[-1]["reason"] == "agent_left"


def test_the_mobile_gone_beyond_the_grace_ends_an_answered_call_back(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    session = SessionRepository().get(world.mobile.session_id)
    world.service.party_dropped(session)
    world.service.party_left(session, "grace_expired")
    call = call_of(call_id)
    assert (call.state, call.end_reason, call.ended_by) == ("C", "grace_expired", "system")
    assert agent_of(world.agent).state == "WRAP_UP"
    assert [event for _, event, _ in events_of(call_id)] == ["create", "accept", "party_dropped", "end"]


def test_a_drop_and_resume_are_noted_and_the_call_back_goes_on(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    session = SessionRepository().get(world.agent.session_id)
    world.service.party_dropped(session)
    world.service.party_resumed(session)
    assert call_of(call_id).state == "A"
    assert [event for _, event, _ in events_of(call_id)][-2:] == ["party_dropped", "party_resumed"]


# -- the sweeper ---------------------------------------------------------------------------------------


def _sweeper(world: World, at: datetime) -> Housekeeping:
    return Housekeeping(
        world.pushes, lambda: at, settings=lambda unit: CallSettings(), on_agent_freed=world.swept.append
    )


def test_the_sweeper_releases_a_call_back_whose_ring_timer_was_lost(world):
    register(world)
    call_id = start(world).call_id
    untouched = call_of(call_id).version
    _sweeper(world, datetime.now(UTC) + timedelta(seconds=70)).sweep()
    assert call_of(call_id).version == untouched, "within the deadline and margin: its timer may still fire"

    report = _sweeper(world, datetime.now(UTC) + timedelta(minutes=5)).sweep()
    call = call_of(call_id)
    assert (call.state, call.end_reason) == ("F", "swept") and report.calls_swept >= 1
    assert agent_of(world.agent).state == "AVAILABLE"
    assert world.pushes.to(world.agent.connection_id)[-1]["action"] == "agent.status"
    assert world.unit_id in world.freed


def test_the_sweeper_releases_an_answered_call_back_nobody_is_in(world):
    register(world)
    call_id = start(world).call_id
    world.service.accept(world.mobile, call_id, "m-accept")
    for connection in (world.mobile, world.agent):
        session = SessionRepository().get(connection.session_id)
        _stamp(session, "ENDED", version=session.version + 5)
    _sweeper(world, datetime.now(UTC) + timedelta(minutes=5)).sweep()
    assert call_of(call_id).state == "F"
    assert agent_of(world.agent).state == "AVAILABLE"


def test_the_sweeper_passes_over_final_call_backs_and_still_sweeps_the_stuck_one(world):
    register(world)
    ended = start(world).call_id
    world.service.cancel(world.agent, ended, "a-cancel")
    not_registered = refused("DEVICE_NOT_REGISTERED", start, world, None, new_dossier(world.unit_id)).call_id
    stuck = start(world).call_id  # its ring timer is never delivered here
    # States C, F and I are not inbound states: reading them as such would stop the whole pass.
    _sweeper(world, datetime.now(UTC) + timedelta(minutes=5)).sweep()
    assert (call_of(ended).state, call_of(not_registered or "").state) == ("E", "I")
    assert call_of(stuck).state == "F"
