"""The media use cases (``vkyc.services.media``) and the evidence bundle (``vkyc.services.evidence``) on
moto, with a recording notifier and timers: node choice and assignment, the guards of ``media.offer``
and ``media.snapshot`` (refused with a stable code, nothing stored), the node's reports, a node's
loss, the no-call timer, and the bundle built once, whichever of decision and recording comes last.
The same through the signaling entry point for what only it checks (role, field limits)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from media_node.storage import MemoryStore
from tests.graph import Cases, graph_on
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierState
from vkyc.domain.media_facts import StoredObject
from vkyc.domain.session import SESSION
from vkyc.domain.settings import CallSettings
from vkyc.evidence import verify_bundle
from vkyc.protocol import signing
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    LinkStates,
    MediaOffer,
    MediaSnapshot,
    NodeMediaAnswer,
    NodeMediaError,
    NodeMediaEvent,
    NodeRecording,
    NodeSync,
    ReplyTo,
)
from vkyc.repositories import call_media, media_nodes
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.sessions import SessionRepository, new_connection, put_connection
from vkyc.repositories.tables import Agent, Call, DossierImages, Session, WsConnection
from vkyc.repositories.transitions import transition
from vkyc.services.evidence import EvidenceService, Outcome
from vkyc.services.timers import BuildEvidence, NoCallArrived, NodeCheck, RecordingRecover
from vkyc.wiring import SignalingGraph

EVIDENCE_TIMER, NO_CALL_TIMER = BuildEvidence.KIND, NoCallArrived.KIND
NODE_TIMER, RECOVER_TIMER = NodeCheck.KIND, RecordingRecover.KIND

NOW = datetime.now(UTC).replace(microsecond=0)
SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


class Recorder:
    """Notifier and timers in one. Connections in ``gone`` answer 410 (send returns False)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.timers: list[tuple[str, dict[str, Any], int]] = []
        self.gone: set[str] = set()

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        if connection_id in self.gone:
            return False
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
        return [m for cid, m in self.sent if cid == connection_id]

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.timers]


def new_session(role: str, principal: str, **attrs: Any) -> WsConnection:
    session = Session(
        str(uuid.uuid4()),
        principal_id=principal,
        role=role,
        unit_id=attrs.pop("unit_id", "1"),
        session_key=signing.b64url(bytes(range(32))),
        key_delivered=True,
        connection_id=f"conn-{uuid.uuid4().hex[:8]}",
        **attrs,
    )
    SessionRepository().create(session, SESSION, request_id=uuid.uuid4().hex, actor="test")
    connection = new_connection(session.connection_id or "", session, connected_at=NOW, expires_at=NOW)
    put_connection(connection)
    return connection


def stamped(item: Any, state: str, version: int = 3, at: datetime = NOW) -> Any:
    item.state, item.version = state, version
    item.created_at = item.updated_at = at
    item.last_request_id = f"setup-{uuid.uuid4().hex[:6]}"
    item.save()
    return item


class BucketFacts:
    """``ObjectFacts`` over a ``MemoryStore``: size and sha256 of what it holds, as S3's HeadObject
    reports them; keys in ``unchecked`` were uploaded without a SHA-256 checksum; ``failing`` raises."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self.unchecked: set[str] = set()
        self.failing = False
        self.asked: list[str] = []

    def stat(self, key: str) -> StoredObject | None:
        self.asked.append(key)
        if self.failing:
            raise ConnectionError("S3 is unreachable")
        try:
            data = self.store.get(key)
        except KeyError:
            return None
        return StoredObject(len(data), None if key in self.unchecked else hashlib.sha256(data).hexdigest())

    def put(self, key: str, data: bytes) -> tuple[int, str]:
        """Store ``data`` at ``key``: its size and sha256, as a node reports them."""
        self.store.put(key, data)
        return len(data), hashlib.sha256(data).hexdigest()


@dataclass
class World:
    media: Cases
    calls: Cases
    pushes: Recorder
    mobile: WsConnection
    agent: WsConnection
    unit_id: str
    bucket: BucketFacts
    graph: SignalingGraph


@pytest.fixture
def world(tables: Any) -> World:
    return build_world()


def build_world() -> World:
    """Services on a recording notifier and an in-memory bucket, a unit, an agent and a mobile session,
    and no media node registered (each test registers the nodes it wants)."""
    pushes = Recorder()
    bucket = BucketFacts()
    graph = graph_on(
        pushes,
        objects=bucket,
        settings=lambda unit: CallSettings(waiting_media_key=None, no_call_arrived_s=20),
    )
    party, fleet, lifecycle = graph.party_media, graph.fleet, graph.lifecycle
    media = Cases(
        graph,
        offer=party.offer,
        snapshot=party.snapshot,
        node_answer=party.node_answer,
        node_snapshot=party.node_snapshot,
        node_event=party.node_event,
        node_recording=party.node_recording,
        node_error=party.node_error,
        node_sync=party.node_sync,
        call_ended=fleet.call_ended,
        node_dropped=fleet.node_dropped,
        node_check=fleet.node_check,
        node_left=fleet.node_left,
        node_lost=fleet.node_lost,
        recover=fleet.recover,
    )
    calls = Cases(
        graph,
        media_connected=lifecycle.media_up,
        no_call_timeout=lifecycle.no_call_timeout,
        end_for_media=lifecycle.end_for_media,
        hangup=lifecycle.hangup,
    )
    unit_id = f"u{uuid.uuid4().hex[:6]}"
    agent_id = f"a-{uuid.uuid4().hex[:6]}"
    agent = new_session("agent", agent_id, agent_id=agent_id, unit_id=unit_id)
    mobile = new_session("mobile", f"dealer-{uuid.uuid4().hex[:4]}", unit_id=unit_id)
    for node in list(media_nodes.all_nodes()):  # each test registers the nodes it wants
        node.delete()
    return World(media, calls, pushes, mobile, agent, unit_id, bucket, graph)


def node_up(node_id: str, *, load: int = 0, capacity: int = 8, age_s: float = 1.0) -> str:
    """A registered node with a socket; returns its connection id."""
    connection_id = f"node-conn-{node_id}"
    media_nodes.record_heartbeat(
        node_id,
        "10.0.0.1",
        capacity,
        load,
        at=datetime.now(UTC) - timedelta(seconds=age_s),
        connection_id=connection_id,
        session_id=f"node-session-{node_id}",
    )
    return connection_id


def new_call(world: World, state: str = "W", **attrs: Any) -> Call:
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    DossierRepository().create(dossier_id, unit_id=world.unit_id, request_id=uuid.uuid4().hex, actor="test")
    call = Call(
        str(uuid.uuid4()),
        direction="in",
        unit_id=world.unit_id,
        serving_unit_id=world.unit_id,
        dossier_id=dossier_id,
        mobile_session_id=world.mobile.session_id,
        mobile_connection_id=world.mobile.connection_id,
        agent_id=world.agent.principal_id,
        **attrs,
    )
    if state in ("A", "CONNECTED", "RECONNECTING"):
        call.agent_session_id = world.agent.session_id
        call.agent_connection_id = world.agent.connection_id
        call.answered_at = attrs.get("answered_at", NOW)
    return stamped(call, state)


def in_call(world: World, call: Call) -> Agent:
    agent = Agent(world.agent.principal_id, unit_id=world.unit_id, call_id=call.call_id)
    return stamped(agent, "IN_CALL")


def offer(world: World, call_id: str, connection: WsConnection | None = None, sdp: str = SDP) -> Any:
    message = MediaOffer(
        action="media.offer",
        request_id=f"r-{uuid.uuid4().hex[:6]}",
        seq=1,
        ts=0,
        mac="A" * 43,
        call_id=call_id,
        sdp=sdp,
    )
    return world.media.offer(connection or world.mobile, message)


def refused(code: str, use_case: Any, *args: Any) -> None:
    with pytest.raises(ProtocolError) as caught:
        use_case(*args)
    assert caught.value.code == code, caught.value


def node_connection(node_id: str) -> WsConnection:
    return WsConnection(
        connection_id=f"node-conn-{node_id}",
        session_id=f"node-session-{node_id}",
        principal_id=node_id,
        role="media",
        unit_id="*",
        session_key="k",
        connected_at=NOW,
    )


def reply_to(connection: WsConnection, request_id: str = "m-1") -> ReplyTo:
    return ReplyTo(connection_id=connection.connection_id, request_id=request_id)


def signed(cls: Any, **fields: Any) -> Any:
    return cls(request_id=f"n-{uuid.uuid4().hex[:6]}", seq=1, ts=0, mac="A" * 43, **fields)


# -- routing and the offer ---------------------------------------------------------------------------


def test_the_first_offer_gives_the_call_the_least_loaded_live_node_and_the_node_gets_it(world: World) -> None:
    node_up("busy", load=5)
    idle = node_up("idle", load=1)
    node_up("silent", load=0, age_s=30)
    call = new_call(world, "W")
    ack = offer(world, call.call_id)
    assert ack.action == "ack"
    stored = CallRepository().get(call.call_id)
    assert stored.media_node_id == "idle" and stored.version == call.version  # no transition
    assert media_nodes.find("idle").call_ids == {call.call_id}  # type: ignore[union-attr]
    [attach] = world.pushes.to(idle)
    assert attach["action"] == "media.attach" and attach["party"] == "mobile" and attach["answered"] is False
    assert attach["reply_to"] == {"connection_id": world.mobile.connection_id, "request_id": ack.request_id}


def test_the_agents_offer_goes_to_the_same_node(world: World) -> None:
    node_up("n1")
    second = node_up("n2")
    call = new_call(world, "A", media_node_id="n2", answered_at=datetime.now(UTC) - timedelta(seconds=5))
    offer(world, call.call_id, world.agent)
    [attach] = world.pushes.to(second)
    assert attach["party"] == "agent" and attach["answered"] is True
    assert world.pushes.timers == [], "the no-call timer started at the answer, not at a media offer"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown_call", "CALL_NOT_FOUND"),
        ("another_mobile", "CALL_NOT_FOUND"),
        ("another_agent", "CALL_NOT_FOUND"),
        ("agent_before_answer", "MEDIA_CALL_STATE"),
        ("ended", "MEDIA_CALL_STATE"),
        ("bad_sdp", "MEDIA_BAD_SDP"),
        ("no_live_node", "MEDIA_NODE_UNAVAILABLE"),
        ("all_full", "MEDIA_NODE_FULL"),
        ("node_unreachable", "MEDIA_NODE_UNAVAILABLE"),
    ],
)
def test_a_refused_offer_has_a_stable_code_and_stores_nothing(world: World, case: str, code: str) -> None:
    if case != "no_live_node":
        node_up("n1", load=8 if case == "all_full" else 0)
    if case == "node_unreachable":
        world.pushes.gone.add("node-conn-n1")
    call = new_call(world, "FINISHED" if case == "ended" else "W")
    call_id, connection, sdp = call.call_id, world.mobile, SDP
    if case == "unknown_call":
        call_id = "no-such-call"
    elif case == "another_mobile":
        connection = new_session("mobile", "someone-else")
    elif case == "another_agent":
        connection = new_session("agent", "a-other", agent_id="a-other")
    elif case == "agent_before_answer":
        connection = world.agent
    elif case == "bad_sdp":
        sdp = "hello"
    refused(code, offer, world, call_id, connection, sdp)
    stored = CallRepository().get(call.call_id)
    assert (stored.version, stored.media_node_id, stored.state) == (call.version, None, call.state)
    node = media_nodes.find("n1")
    assert node is None or not node.call_ids
    assert world.pushes.timers == []


def test_a_snapshot_is_asked_of_the_calls_node_during_the_call_only(world: World) -> None:
    connection_id = node_up("n1")
    ringing = new_call(world, "W", media_node_id="n1")
    snap = MediaSnapshot(
        action="media.snapshot", request_id="b-1", seq=1, ts=0, mac="A" * 43, call_id=ringing.call_id
    )
    refused("MEDIA_CALL_STATE", world.media.snapshot, world.agent, snap)
    refused("CALL_NOT_FOUND", world.media.snapshot, world.mobile, snap)
    live = new_call(world, "CONNECTED", media_node_id="n1")
    no_node = new_call(world, "CONNECTED")
    world.media.snapshot(world.agent, snap.model_copy(update={"call_id": live.call_id}))
    [request] = world.pushes.to(connection_id)
    assert request["action"] == "media.snapshot_request" and request["reply_to"]["request_id"] == "b-1"
    refused(
        "MEDIA_NO_CUSTOMER_VIDEO",
        world.media.snapshot,
        world.agent,
        snap.model_copy(update={"call_id": no_node.call_id}),
    )


# -- the node's reports ---------------------------------------------------------------------------------


def test_the_nodes_answer_reaches_the_party_even_after_it_resumed_on_another_socket(world: World) -> None:
    node_up("n1")
    call = new_call(world, "W", media_node_id="n1")
    answer = signed(
        NodeMediaAnswer,
        action="media.answer",
        call_id=call.call_id,
        party="mobile",
        sdp=SDP,
        reply_to=reply_to(world.mobile),
    )
    world.media.node_answer(node_connection("n1"), answer)
    [pushed] = world.pushes.to(world.mobile.connection_id)
    assert pushed == {"action": "media.answer", "request_id": "m-1", "call_id": call.call_id, "sdp": SDP}
    # The socket that asked is gone; the session is now on another one.
    world.pushes.gone.add(world.mobile.connection_id)
    session = SessionRepository().get(world.mobile.session_id)
    Session(session.session_id).update(actions=[Session.connection_id.set("conn-resumed")])
    world.media.node_answer(node_connection("n1"), answer)
    assert world.pushes.to("conn-resumed") == [pushed]


def test_an_answer_on_a_call_that_is_not_the_nodes_is_refused_and_closed_on_that_node(world: World) -> None:
    node_up("n1")
    call = new_call(world, "W", media_node_id="other")
    answer = signed(
        NodeMediaAnswer,
        action="media.answer",
        call_id=call.call_id,
        party="mobile",
        sdp=SDP,
        reply_to=reply_to(world.mobile),
    )
    refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_answer, node_connection("n1"), answer)
    assert world.pushes.to(world.mobile.connection_id) == []
    assert world.pushes.to("node-conn-n1") == [
        {"action": "media.close", "call_id": call.call_id, "reason": "not_assigned"}
    ]


def test_a_full_node_gives_the_call_back_and_the_party_gets_the_error(world: World) -> None:
    node_up("n1")
    call = new_call(world, "W")
    offer(world, call.call_id)
    error = signed(
        NodeMediaError,
        action="media.error",
        call_id=call.call_id,
        op="attach",
        code="MEDIA_NODE_FULL",
        message="node n1 carries 8 of 8 calls",
        party="mobile",
        reply_to=reply_to(world.mobile, "m-7"),
    )
    world.media.node_error(node_connection("n1"), error)
    [pushed] = world.pushes.to(world.mobile.connection_id)
    assert (pushed["code"], pushed["request_id"], pushed["call_id"]) == (
        "MEDIA_NODE_FULL",
        "m-7",
        call.call_id,
    )
    assert CallRepository().get(call.call_id).media_node_id is None
    assert not media_nodes.find("n1").call_ids  # type: ignore[union-attr]


def test_both_links_up_connect_an_answered_call(world: World) -> None:
    call = new_call(world, "A", media_node_id="n1")
    event = signed(
        NodeMediaEvent,
        action="media.event",
        call_id=call.call_id,
        kind="link.up",
        party="agent",
        stream=1,
        links=LinkStates(mobile="up", agent="connecting"),
    )
    world.media.node_event(node_connection("n1"), event)
    assert CallRepository().get(call.call_id).state == "A"
    world.media.node_event(
        node_connection("n1"), event.model_copy(update={"links": LinkStates(mobile="up", agent="up")})
    )
    connected = CallRepository().get(call.call_id)
    assert connected.state == "CONNECTED"
    assert [e.event for e in CallRepository().history(call.call_id)][-1] == "media_connected"
    world.media.node_event(
        node_connection("n1"), event.model_copy(update={"links": LinkStates(mobile="up", agent="up")})
    )
    assert CallRepository().get(call.call_id).version == connected.version  # once


def test_the_agent_is_told_each_link_change_the_node_reports(world: World) -> None:
    call = new_call(world, "CONNECTED", media_node_id="n1")
    lost = signed(
        NodeMediaEvent,
        action="media.event",
        call_id=call.call_id,
        kind="link.lost",
        party="mobile",
        stream=1,
        links=LinkStates(mobile="lost", agent="up"),
    )
    world.media.node_event(node_connection("n1"), lost)
    told = [m for m in world.pushes.to(world.agent.connection_id) if m["action"] == "media.links"]
    assert told == [
        {"action": "media.links", "call_id": call.call_id, "links": {"mobile": "lost", "agent": "up"}}
    ]
    assert not [m for m in world.pushes.to(world.mobile.connection_id) if m["action"] == "media.links"]


def test_recording_facts_are_stored_once_and_a_decided_call_then_gets_its_bundle(world: World) -> None:
    node_up("n1")
    call = new_call(world, "W")
    offer(world, call.call_id)
    stamped(CallRepository().get(call.call_id), "FINISHED", version=call.version)
    key = f"calls/{call.call_id}/recording.webm"
    size, digest = world.bucket.put(key, b"w" * 1234)
    report = signed(
        NodeRecording,
        action="media.recording",
        call_id=call.call_id,
        key=key,
        size=size,
        duration_ms=65_432,
        sha256=digest,
        incomplete=False,
        end_reason="completed",
    )
    world.media.node_recording(node_connection("n1"), report)
    stored = CallRepository().get(call.call_id)
    assert (stored.recording_size, stored.recording_duration_s, stored.recording_incomplete) == (
        1234,
        65.432,
        False,
    )
    assert stored.recording_sha256 == digest
    assert stored.recording_closed_at is not None and stored.version == call.version
    assert not media_nodes.find("n1").call_ids  # type: ignore[union-attr]
    assert EVIDENCE_TIMER not in world.pushes.kinds()  # not decided
    asked = len(world.bucket.asked)
    world.media.node_recording(node_connection("n1"), report.model_copy(update={"size": 9}))
    assert CallRepository().get(call.call_id).recording_size == 1234  # once
    assert len(world.bucket.asked) == asked  # a repeated report costs no S3 request


def test_the_sync_names_the_calls_the_node_must_close(world: World) -> None:
    live = new_call(world, "CONNECTED", media_node_id="n1")
    ended = new_call(world, "FINISHED", media_node_id="n1")
    elsewhere = new_call(world, "CONNECTED", media_node_id="n2")
    sync = signed(
        NodeSync, action="media.sync", call_ids=[live.call_id, ended.call_id, elsewhere.call_id, "gone"]
    )
    result = world.media.node_sync(node_connection("n1"), sync)
    assert result.ended == [ended.call_id, elsewhere.call_id, "gone"]


def test_ending_a_call_tells_its_node_to_close_it(world: World) -> None:
    connection_id = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    in_call(world, call)
    world.calls.hangup(world.agent, call.call_id, "b-9")
    assert world.pushes.to(connection_id) == [
        {"action": "media.close", "call_id": call.call_id, "reason": "completed"}
    ]


# -- a node's loss ----------------------------------------------------------------------------------------


def test_a_lost_node_ends_its_answered_calls_and_sends_waiting_callers_elsewhere(world: World) -> None:
    node_up("dying")
    waiting = new_call(world, "W")
    offer(world, waiting.call_id)
    live = new_call(world, "W")
    offer(world, live.call_id)
    live = stamped(CallRepository().get(live.call_id), "CONNECTED", version=live.version)
    Call(live.call_id).update(
        actions=[Call.agent_session_id.set(world.agent.session_id), Call.answered_at.set(NOW)]
    )
    in_call(world, live)
    world.pushes.sent.clear()

    assert world.media.node_lost("dying", "media_node_lost") is True
    assert world.media.node_lost("dying", "media_node_lost") is False  # once
    ended = CallRepository().get(live.call_id)
    assert (ended.state, ended.end_reason, ended.recording_incomplete) == (
        "FINISHED",
        "media_node_lost",
        True,
    )
    assert AgentRepository().get(world.agent.principal_id).state == "WRAP_UP"
    for connection in (world.agent, world.mobile):
        pushes = [m for m in world.pushes.to(connection.connection_id) if m["action"] == "call.ended"]
        assert pushes and pushes[0]["reason"] == "media_node_lost" and pushes[0]["call_id"] == live.call_id
    assert (RECOVER_TIMER, {"call_id": live.call_id}) in [(k, p) for k, p, _ in world.pushes.timers]
    still = CallRepository().get(waiting.call_id)
    assert (still.state, still.media_node_id) == ("W", None)
    lost = [m for m in world.pushes.to(world.mobile.connection_id) if m.get("code") == "MEDIA_NODE_LOST"]
    assert lost and lost[0]["call_id"] == waiting.call_id and lost[0]["request_id"] is None
    node = media_nodes.find("dying")
    assert node is not None and node.lost_at is not None and not node.connection_id


def test_a_dropped_node_is_lost_only_if_it_has_not_resumed(world: World) -> None:
    node_up("blip")
    session = stamped(
        Session(
            "node-session-blip", principal_id="blip", role="media", unit_id="*", session_key="k", generation=1
        ),
        "DETACHED",
    )
    world.media.node_dropped(session)
    [(kind, payload, delay)] = world.pushes.timers
    assert delay == 3
    assert kind == NODE_TIMER and payload == {
        "node_id": "blip",
        "session_id": session.session_id,
        "generation": 1,
    }
    assert not media_nodes.find("blip").connection_id  # type: ignore[union-attr]  # no order goes there now
    stamped(session, "ACTIVE", version=session.version + 1)
    assert world.media.node_check("blip", session.session_id, 1) is False
    stamped(session, "DETACHED", version=session.version + 1)
    assert world.media.node_check("blip", session.session_id, 1) is True


def test_the_recovery_goes_to_a_live_node_or_waits_for_one(world: World) -> None:
    call = new_call(world, "FINISHED", media_node_id="dead")
    assert world.media.recover(call.call_id) is False
    assert world.pushes.kinds() == [RECOVER_TIMER]
    connection_id = node_up("rescuer", load=8)  # full of calls, but recovering is no call
    assert world.media.recover(call.call_id) is True
    assert world.pushes.to(connection_id) == [
        {"action": "media.recover", "call_id": call.call_id, "min_idle_s": 10}
    ]
    assert CallRepository().get(call.call_id).recovery_node_ids == {"rescuer"}  # it may report it


# -- the no-call timer ------------------------------------------------------------------------------------


def test_an_answered_call_without_media_ends_t_when_its_time_is_up(world: World) -> None:
    early = new_call(world, "A", answered_at=datetime.now(UTC) - timedelta(seconds=5))
    assert world.calls.no_call_timeout(early.call_id) is False
    [(kind, _, delay)] = world.pushes.timers
    assert kind == NO_CALL_TIMER and 14 <= delay <= 16  # set again for the rest of the 20 s

    late = new_call(world, "A", answered_at=datetime.now(UTC) - timedelta(seconds=25))
    in_call(world, late)
    assert world.calls.no_call_timeout(late.call_id) is True
    ended = CallRepository().get(late.call_id)
    assert (ended.state, ended.end_reason, ended.ended_by) == ("T", "no_call_arrived", "system")
    assert AgentRepository().get(world.agent.principal_id).state == "WRAP_UP"
    assert world.calls.no_call_timeout(late.call_id) is False  # once
    connected = new_call(world, "CONNECTED", answered_at=datetime.now(UTC) - timedelta(seconds=25))
    assert world.calls.no_call_timeout(connected.call_id) is False


# -- the evidence bundle ----------------------------------------------------------------------------------


def decided_call(world: World, store: MemoryStore, *, with_media: bool = True) -> Call:
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    images = {}
    for role in ("id_front", "id_back", "portrait"):
        images[role] = f"dossiers/{dossier_id}/{role}.jpg"
        if role != "id_back":  # the back of the ID card was never uploaded
            store.put(images[role], f"{role} picture".encode())
    dossier = DossierRepository().create(
        dossier_id,
        unit_id=world.unit_id,
        request_id=uuid.uuid4().hex,
        actor="test",
        images=DossierImages(
            id_front_key=images["id_front"], id_back_key=images["id_back"], portrait_key=images["portrait"]
        ),
    )
    dossier = stamped(dossier, "W")
    event = DECISION_EVENTS[DossierState.APPROVED]
    transition(dossier, DOSSIER, event, request_id=uuid.uuid4().hex, actor="tdv9", reason="looks right")
    call = Call(
        str(uuid.uuid4()),
        direction="in",
        unit_id=world.unit_id,
        dossier_id=dossier_id,
        decision="A",
        decision_version=dossier.version,
        media_node_id="n1" if with_media else None,
    )
    if with_media:
        snapshot = f"calls/{call.call_id}/snapshots/snap-1.jpg"
        store.put(snapshot, b"\xff\xd8 a face \xff\xd9")
        call.snapshot_keys = {snapshot}
    return stamped(call, "FINISHED")


def test_the_bundle_waits_for_the_recording_then_is_built_once_and_verifies(world: World) -> None:
    store = MemoryStore()
    evidence = EvidenceService(store)
    call = decided_call(world, store)
    assert evidence.build(call.call_id) is Outcome.RECORDING_PENDING
    recording = f"calls/{call.call_id}/recording.webm"
    store.put(recording, b"webm bytes" * 100)
    import hashlib

    digest = hashlib.sha256(store.get(recording)).hexdigest()
    facts = call_media.RecordingFacts(recording, 1000, 12.5, digest, False)
    assert call_media.store_recording(call.call_id, facts, NOW) is not None
    assert evidence.build(call.call_id) is Outcome.BUILT
    assert evidence.build(call.call_id) is Outcome.ALREADY_BUILT
    entry = call_media.decision_entry(call.dossier_id or "", call.decision_version or 0)
    assert entry is not None and entry.to_state == "A" and entry.evidence_key and entry.evidence_sha256
    result = verify_bundle(store, entry.evidence_key, entry.evidence_sha256)
    assert result.ok and result.files_checked == 4  # front, portrait, snapshot, recording
    manifest = json.loads(store.get(entry.evidence_key))
    assert manifest["agent_id"] == "tdv9" and manifest["decision"] == {"code": "A", "reason": "looks right"}
    assert manifest["extra"]["missing_id_back"].endswith("id_back.jpg")
    assert [f["role"] for f in manifest["files"]] == ["id_front", "portrait", "snapshot", "recording"]


def test_a_call_without_media_gets_its_bundle_at_once_and_one_claim_wins(world: World) -> None:
    store = MemoryStore()
    call = decided_call(world, store, with_media=False)
    assert call_media.claim_evidence(
        call.dossier_id or "", call.decision_version or 0, NOW, NOW - timedelta(minutes=5)
    )
    # At NOW, not the wall clock: under load the module's NOW is minutes old and the claim already stale.
    assert EvidenceService(store, clock=lambda: NOW).build(call.call_id) is Outcome.CLAIMED_ELSEWHERE
    later = NOW + timedelta(minutes=10)  # that builder died: its claim goes stale
    assert EvidenceService(store, clock=lambda: later).build(call.call_id) is Outcome.BUILT


def test_an_undecided_call_has_no_bundle(world: World) -> None:
    call = new_call(world, "FINISHED")
    assert EvidenceService(MemoryStore()).build(call.call_id) is Outcome.NOT_DECIDED
    assert EvidenceService(MemoryStore()).build("no-such-call") is Outcome.UNKNOWN_CALL


# -- through signaling's entry point ----------------------------------------------------------------------


def through_signaling(world: World, connection: WsConnection, action: str, **fields: Any) -> dict[str, Any]:
    """One signed message through ``SignalingService.on_message``, as the WebSocket handler sends it."""
    service = world.graph.signaling
    session = SessionRepository().get(connection.session_id)
    message = {
        "action": action,
        "request_id": f"r-{uuid.uuid4().hex[:6]}",
        "seq": session.last_seq + 1,
        "ts": int(datetime.now(UTC).timestamp() * 1000),
        **fields,
    }
    return service.on_message(
        connection.connection_id, json.dumps(signing.sign(bytes(range(32)), message))
    ).reply


@pytest.mark.parametrize(
    ("role", "action", "code"),
    [
        ("supervisor", "media.offer", "FORBIDDEN_ACTION"),
        ("media", "media.snapshot", "FORBIDDEN_ACTION"),
        ("mobile", "media.snapshot", "FORBIDDEN_ACTION"),
        ("mobile", "media.answer", "FORBIDDEN_ACTION"),
        ("agent", "media.recording", "FORBIDDEN_ACTION"),
    ],
)
def test_a_role_that_may_not_send_a_media_message_is_refused(
    world: World, role: str, action: str, code: str
) -> None:
    node_up("n1")
    call = new_call(world, "CONNECTED")
    connection = new_session(role, f"{role}-x")
    fields: dict[str, Any] = {"call_id": call.call_id}
    if action in ("media.offer", "media.answer"):
        fields["sdp"] = SDP
    if action == "media.answer":
        fields.update(party="mobile", reply_to={"connection_id": "c", "request_id": "r"})
    if action == "media.recording":
        fields.update(key=None, size=0, duration_ms=0, sha256=None, incomplete=True)
    reply = through_signaling(world, connection, action, **fields)
    assert reply["code"] == code, reply
    assert CallRepository().get(call.call_id).media_node_id is None and world.pushes.sent == []


def test_an_sdp_over_the_limit_is_refused_naming_the_field(world: World) -> None:
    node_up("n1")
    call = new_call(world, "W")
    reply = through_signaling(
        world, world.mobile, "media.offer", call_id=call.call_id, sdp="v=0\r\nm=" + "x" * 20_000
    )
    assert reply["code"] == "BAD_MESSAGE" and "sdp: String should have at most 20000" in reply["message"]
    assert CallRepository().get(call.call_id).media_node_id is None


def test_a_call_backs_media_goes_to_the_media_use_case(world: World) -> None:
    connection_id = node_up("n1")
    call = Call(
        f"cb-{uuid.uuid4()}",
        direction="out",
        unit_id=world.unit_id,
        mobile_session_id=world.mobile.session_id,
        agent_id=world.agent.principal_id,
        agent_session_id=world.agent.session_id,
    )
    stamped(call, "A")
    reply = through_signaling(world, world.mobile, "media.offer", call_id=call.call_id, sdp=SDP)
    assert reply["action"] == "ack", reply
    [attach] = world.pushes.to(connection_id)
    assert (
        attach["call_id"] == call.call_id and attach["answered"] is True and attach["waiting_media"] is None
    )


def test_the_sweeper_finds_silent_nodes_that_hold_calls_and_signaling_declares_them_lost(
    world: World,
) -> None:
    from vkyc.services.housekeeping import Housekeeping

    node_up("silent", age_s=20)
    node_up("fresh")
    node_up("silent-idle", age_s=20)
    for node_id in ("silent", "fresh"):
        call = new_call(world, "CONNECTED")
        assert call_media.assign_node(call.call_id, node_id, {"CONNECTED"})
    found: list[str] = []
    sweeper = Housekeeping(world.pushes, on_media_node_dead=found.append)
    assert sweeper.dead_media_nodes(datetime.now(UTC)) == ["silent"] and found == ["silent"]
    assert world.media.node_check("fresh") is False  # the timer the routing app sets re-checks
    assert world.media.node_check("silent") is True
    assert sweeper.dead_media_nodes(datetime.now(UTC)) == []  # declared lost: not again


def test_a_lost_node_ends_an_answered_call_back_by_its_own_machine(world: World) -> None:
    node_up("dying")
    call = Call(
        f"cb-{uuid.uuid4()}",
        direction="out",
        unit_id=world.unit_id,
        mobile_session_id=world.mobile.session_id,
        agent_id=world.agent.principal_id,
        agent_session_id=world.agent.session_id,
    )
    stamped(call, "A")
    assert call_media.assign_node(call.call_id, "dying", {"A"})
    in_call(world, call)
    world.media.node_lost("dying", "media_node_lost")
    ended = CallRepository().get(call.call_id)
    assert (ended.state, ended.end_reason, ended.recording_incomplete) == ("C", "media_node_lost", True)
    assert AgentRepository().get(world.agent.principal_id).state == "WRAP_UP"


def test_the_no_call_timer_of_a_ringing_call_looks_again_later(world: World) -> None:
    """Set with the offer (no request of its own at the answer): while the call rings it comes back
    every ``no_call_arrived_s``, so it is due at most that long after the answer."""
    ringing = new_call(world, "W")
    assert world.calls.no_call_timeout(ringing.call_id) is False
    assert world.pushes.timers == [(NO_CALL_TIMER, {"call_id": ringing.call_id}, 20)]
    queued = new_call(world, "N")
    assert world.calls.no_call_timeout(queued.call_id) is False
    assert len(world.pushes.timers) == 1, "back in the queue: the next offer sets its own"


def test_a_hang_up_as_the_media_comes_up_ends_the_call_instead_of_failing(world: World, monkeypatch) -> None:
    # The race seen under load: the agent's hang-up reads the call answered (A), the node's "both links
    # up" moves it to CONNECTED before the hang-up commits. The hang-up must look again, not answer
    # STATE_CONFLICT to a user who only pressed "end".
    node_up("n1")
    call = new_call(world, "A", media_node_id="n1")
    in_call(world, call)
    lifecycle = world.graph.lifecycle
    real = lifecycle.party_call
    raced = []

    def party_call_then_media_up(connection, call_id):
        found = real(connection, call_id)
        if not raced:
            raced.append(True)
            up = signed(
                NodeMediaEvent,
                action="media.event",
                call_id=call_id,
                kind="link.up",
                party="agent",
                stream=1,
                links=LinkStates(mobile="up", agent="up"),
            )
            world.media.node_event(node_connection("n1"), up)
            assert CallRepository().get(call_id).state == "CONNECTED"
        return found

    monkeypatch.setattr(lifecycle, "party_call", party_call_then_media_up)
    world.calls.hangup(world.agent, call.call_id, "hangup-race")
    ended = CallRepository().get(call.call_id)
    assert (ended.state, ended.end_reason) == ("FINISHED", "completed")
