"""Media node identity (issue #10, item 3), each attack written as the test that it fails:

- **takeover**: a node holding its own valid key cannot get a token, a session, a registration, a
  heartbeat or the calls of another node id (``vkyc.security.node_keys``, ``AuthService.node_token``);
  the same node connecting again (a reconnect, a restart) still works;
- **foreign reports**: ``media.event``, ``media.recording`` and ``media.error`` (and the node's answers)
  on a call another node carries are refused with ``MEDIA_NODE_NOT_ASSIGNED`` and store nothing; the
  node asked to recover a dead node's recording may report it, no other;
- **forged facts from the right node**: a key outside the call's prefix, an object S3 does not hold,
  a size or a sha256 other than S3's are refused with a code and store nothing; the real report then
  still lands, and only it reaches the evidence bundle.

On moto (tables, and S3 for the adapter), through the use cases and signaling's entry point.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local.moto_server import MotoServer
from media_node.storage import S3Store
from tests.functional.test_media_service import (
    World,
    build_world,
    decided_call,
    new_call,
    new_session,
    node_connection,
    node_up,
    offer,
    refused,
    reply_to,
    signed,
    through_signaling,
)
from vkyc.adapters.media_bucket import MediaBucket
from vkyc.domain.media_facts import StoredObject
from vkyc.evidence import verify_bundle
from vkyc.protocol import signing
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    Hello,
    LinkStates,
    NodeMediaError,
    NodeMediaEvent,
    NodeRecording,
    NodeSnapshotTaken,
)
from vkyc.repositories import call_media, media_nodes
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.sessions import SessionRepository, find_connection
from vkyc.repositories.tables import Call
from vkyc.security import node_keys
from vkyc.services.auth import AuthService, NodeTokenRequest
from vkyc.services.evidence import EvidenceService, Outcome
from vkyc.services.timers import BuildEvidence, RecordingRecover

EVIDENCE_TIMER, RECOVER_TIMER = BuildEvidence.KIND, RecordingRecover.KIND

MASTER = "node-identity-master-for-functional-tests"


@pytest.fixture
def world(tables: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv(node_keys.MASTER_VARIABLE, MASTER)
    monkeypatch.setenv("VKYC_TOKEN_SECRET", "node-identity-token-secret-" + "t" * 16)
    return build_world()


def key_of(node_id: str) -> str:
    return node_keys.node_key(node_id, MASTER.encode())


def carried_call(world: World, node_id: str, state: str = "CONNECTED") -> Call:
    """A call given to ``node_id`` as the first offer gives it (the node's ``call_ids`` holds it)."""
    call = new_call(world, state)
    assert call_media.assign_node(call.call_id, node_id, {state})
    return CallRepository().get(call.call_id)


def recording_of(call: Call, **overrides: Any) -> NodeRecording:
    fields: dict[str, Any] = {
        "key": f"calls/{call.call_id}/recording.webm",
        "size": 0,
        "duration_ms": 42_000,
        "sha256": "0" * 64,
        "incomplete": False,
        "end_reason": "completed",
        **overrides,
    }
    return signed(NodeRecording, action="media.recording", call_id=call.call_id, **fields)


def recorded(world: World, call: Call, data: bytes = b"webm " * 400) -> NodeRecording:
    """The node's genuine report: the recording is in the bucket, the facts are its own."""
    key = f"calls/{call.call_id}/recording.webm"
    size, digest = world.bucket.put(key, data)
    return recording_of(call, key=key, size=size, sha256=digest)


def nothing_stored(before: Call) -> None:
    after = CallRepository().get(before.call_id)
    assert (
        after.recording_closed_at is None and after.recording_key is None and after.recording_sha256 is None
    )
    assert (after.state, after.version, after.media_node_id) == (
        before.state,
        before.version,
        before.media_node_id,
    )


# -- node id takeover ----------------------------------------------------------------------------------


class Nodes:
    """Signaling as the function wires it for media nodes: tokens, sessions whose drop and end go to the
    media use cases, and the message entry point."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.auth = world.graph.sessions.auth
        self.sessions = world.graph.sessions
        self.signaling = world.graph.signaling

    def token(self, node_id: str, key: str) -> str:
        return self.auth.node_token(NodeTokenRequest(node_id=node_id, node_key=key)).token

    def connect(self, node_id: str, key: str) -> str:
        """A node's new session on a new socket, its key delivered (``session.hello``): the connection."""
        connection_id = f"conn-{node_id}-{uuid.uuid4().hex[:6]}"
        self.world.graph.run(
            self.sessions.connect(connection_id, token=self.token(node_id, key), resume=None)
        )
        connection = find_connection(connection_id)
        assert connection is not None
        self.sessions.hello(connection, Hello(action="session.hello", request_id="h-1", protocol=1))
        return connection_id

    def send(self, connection_id: str, action: str, **fields: Any) -> dict[str, Any]:
        """One message signed under the session's own key, as the node's SDK sends it."""
        connection = find_connection(connection_id)
        assert connection is not None
        session = SessionRepository().get(connection.session_id)
        message = {
            "action": action,
            "request_id": f"n-{uuid.uuid4().hex[:6]}",
            "seq": session.last_seq + 1,
            "ts": int(datetime.now(UTC).timestamp() * 1000),
            **fields,
        }
        signed_message = signing.sign(signing.b64url_decode(session.session_key), message)
        return self.signaling.on_message(connection_id, json.dumps(signed_message)).reply

    def heartbeat(self, connection_id: str, address: str) -> dict[str, Any]:
        return self.send(connection_id, "node.heartbeat", address=address, capacity=8, load=0)


def test_a_nodes_key_gets_a_token_for_its_own_id_only(world: World) -> None:
    auth = AuthService()
    grant = auth.node_token(NodeTokenRequest(node_id="node-a", node_key=key_of("node-a")))
    principal = auth.principal_of(grant.token)
    assert (principal.role.value, principal.principal_id) == ("media", "node-a")
    for node_id, key in (("node-b", key_of("node-a")), ("node-a", key_of("node-b")), ("node-a", "guess")):
        with pytest.raises(ProtocolError) as caught:
            auth.node_token(NodeTokenRequest(node_id=node_id, node_key=key))
        assert caught.value.code == "INVALID_CREDENTIALS"


def test_a_node_cannot_take_over_another_nodes_registration_heartbeat_or_calls(world: World) -> None:
    nodes = Nodes(world)
    node_b = nodes.connect("node-b", key_of("node-b"))
    assert nodes.heartbeat(node_b, "10.0.0.2:9000")["action"] == "ack"
    call = carried_call(world, "node-b")
    registered = media_nodes.find("node-b")
    assert registered is not None and registered.connection_id == node_b

    # Node A's valid key names node A only: no token, hence no session, as node B.
    with pytest.raises(ProtocolError) as caught:
        nodes.token("node-b", key_of("node-a"))
    assert caught.value.code == "INVALID_CREDENTIALS"

    # With its own session, A's heartbeat registers A; its drop and its end lose A, never B.
    node_a = nodes.connect("node-a", key_of("node-a"))
    assert nodes.heartbeat(node_a, "10.0.0.66:9000")["action"] == "ack"
    assert nodes.send(node_a, "session.bye")["action"] == "ack"
    session_a = SessionRepository().get(find_connection(node_a).session_id)  # type: ignore[union-attr]
    assert session_a.state == "ENDED"
    node_a_again = nodes.connect("node-a", key_of("node-a"))
    assert nodes.heartbeat(node_a_again, "10.0.0.66:9000")["action"] == "ack"
    world.graph.dispatcher.run(nodes.sessions.disconnect(node_a_again))
    [(_, check, _)] = [t for t in world.pushes.timers if t[1].get("node_id") == "node-a"]
    assert world.media.node_check(**check) is True  # A is lost

    after = media_nodes.find("node-b")
    assert after is not None
    assert (after.connection_id, after.address, after.heartbeat_at, after.lost_at) == (
        node_b,
        "10.0.0.2:9000",
        registered.heartbeat_at,
        None,
    )
    assert after.call_ids == {call.call_id}
    still = CallRepository().get(call.call_id)
    assert (still.state, still.media_node_id, still.end_reason) == ("CONNECTED", "node-b", None)
    assert world.pushes.to(world.mobile.connection_id) == []  # no call.ended, no MEDIA_NODE_LOST


def test_the_same_node_connecting_again_gets_a_new_session_under_its_id(world: World) -> None:
    """A reconnect or a restart is a second session of the same id, with the same key."""
    nodes = Nodes(world)
    first = nodes.connect("node-r", key_of("node-r"))
    assert nodes.heartbeat(first, "10.0.0.7:9000")["action"] == "ack"
    second = nodes.connect("node-r", key_of("node-r"))
    assert nodes.heartbeat(second, "10.0.0.7:9000")["action"] == "ack"
    registered = media_nodes.find("node-r")
    assert registered is not None and registered.connection_id == second
    call = carried_call(world, "node-r", "A")
    event = {
        "call_id": call.call_id,
        "kind": "link.up",
        "party": "agent",
        "stream": 1,
        "links": {"mobile": "up", "agent": "up"},
    }
    assert nodes.send(second, "media.event", **event)["action"] == "ack"
    assert CallRepository().get(call.call_id).state == "CONNECTED"


# -- reports on another node's call --------------------------------------------------------------------


def test_a_foreign_media_event_cannot_connect_another_nodes_call(world: World) -> None:
    node_up("n1")
    node_up("n2")
    call = carried_call(world, "n1", "A")
    event = signed(
        NodeMediaEvent,
        action="media.event",
        call_id=call.call_id,
        kind="link.up",
        party="agent",
        stream=1,
        links=LinkStates(mobile="up", agent="up"),
    )
    refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_event, node_connection("n2"), event)
    unchanged = CallRepository().get(call.call_id)
    assert (unchanged.state, unchanged.version) == ("A", call.version)
    assert world.pushes.to("node-conn-n2") == [
        {"action": "media.close", "call_id": call.call_id, "reason": "not_assigned"}
    ]
    world.media.node_event(node_connection("n1"), event)  # the call's own node
    assert CallRepository().get(call.call_id).state == "CONNECTED"


def foreign_error(call: Call, case: str, connection: Any) -> NodeMediaError:
    fields: dict[str, Any] = {
        "recover_not_found": {"op": "recover", "code": "RECORDING_NOT_FOUND"},
        "close_failed": {"op": "close", "code": "MEDIA_STORAGE_ERROR"},
        "attach_full": {
            "op": "attach",
            "code": "MEDIA_NODE_FULL",
            "party": "mobile",
            "reply_to": reply_to(connection),
        },
        "snapshot_failed": {
            "op": "snapshot",
            "code": "MEDIA_SNAPSHOT_FAILED",
            "reply_to": reply_to(connection),
        },
    }[case]
    return signed(NodeMediaError, action="media.error", call_id=call.call_id, message="forged", **fields)


@pytest.mark.parametrize(
    "case", ["recording", "recover_not_found", "close_failed", "attach_full", "snapshot_failed"]
)
def test_a_foreign_recording_or_error_is_refused_and_stores_nothing(world: World, case: str) -> None:
    node_up("n1")
    node_up("n2")
    call = carried_call(world, "n1", "FINISHED")
    genuine = recorded(world, call)
    if case == "recording":
        refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_recording, node_connection("n2"), genuine)
    else:
        party = world.agent if case == "snapshot_failed" else world.mobile
        error = foreign_error(call, case, party)
        refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_error, node_connection("n2"), error)
    nothing_stored(call)
    assert media_nodes.find("n1").call_ids == {call.call_id}  # type: ignore[union-attr]
    assert world.pushes.timers == []
    assert world.pushes.to(world.mobile.connection_id) == world.pushes.to(world.agent.connection_id) == []
    # The call's own node's report still lands.
    world.media.node_recording(node_connection("n1"), genuine)
    stored = CallRepository().get(call.call_id)
    assert (stored.recording_key, stored.recording_sha256) == (genuine.key, genuine.sha256)


def test_only_the_node_asked_to_recover_a_dead_nodes_recording_may_report_it(world: World) -> None:
    node_up("rescuer", load=0)
    node_up("bystander", load=5)
    call = new_call(world, "FINISHED", media_node_id="dead")  # its node died (no longer registered)
    empty = new_call(world, "FINISHED", media_node_id="dead")
    for each in (call, empty):
        assert world.media.recover(each.call_id) is True
    assert {m["call_id"] for m in world.pushes.to("node-conn-rescuer")} == {call.call_id, empty.call_id}
    report = recorded(world, call).model_copy(update={"incomplete": True, "end_reason": "media_node_lost"})
    refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_recording, node_connection("bystander"), report)
    nothing_stored(call)
    world.media.node_recording(node_connection("rescuer"), report)
    stored = CallRepository().get(call.call_id)
    assert (stored.recording_key, stored.recording_incomplete) == (report.key, True)

    # "Nothing was ever recorded" is a fact too, and only the asked node's.
    not_found = signed(
        NodeMediaError, action="media.error", call_id=empty.call_id, op="recover", code="RECORDING_NOT_FOUND"
    )
    refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_error, node_connection("bystander"), not_found)
    nothing_stored(empty)
    world.media.node_error(node_connection("rescuer"), not_found)
    none = CallRepository().get(empty.call_id)
    assert none.recording_closed_at is not None and none.recording_key is None


def test_a_foreign_snapshot_is_refused_and_kept_nowhere(world: World) -> None:
    node_up("n1")
    node_up("n2")
    call = carried_call(world, "n1")
    taken = snapshot_taken(call, f"calls/{call.call_id}/snapshots/s-1.jpg", world)
    refused("MEDIA_NODE_NOT_ASSIGNED", world.media.node_snapshot, node_connection("n2"), taken)
    assert CallRepository().get(call.call_id).snapshot_keys is None
    assert world.pushes.to(world.agent.connection_id) == []


def test_a_refused_report_answers_its_code_through_signaling(world: World) -> None:
    node_up("n1")
    call = carried_call(world, "n1", "FINISHED")
    intruder = new_session("media", "n2", unit_id="*")
    report = recorded(world, call)
    reply = through_signaling(
        world,
        intruder,
        "media.recording",
        call_id=call.call_id,
        key=report.key,
        size=report.size,
        duration_ms=report.duration_ms,
        sha256=report.sha256,
        incomplete=False,
    )
    assert (reply["action"], reply["code"], reply["call_id"]) == (
        "error",
        "MEDIA_NODE_NOT_ASSIGNED",
        call.call_id,
    )
    nothing_stored(call)


# -- forged facts from the call's own node ----------------------------------------------------------------


def snapshot_taken(call: Call, key: str, world: World) -> NodeSnapshotTaken:
    return signed(
        NodeSnapshotTaken,
        action="media.snapshot_taken",
        call_id=call.call_id,
        reply_to=reply_to(world.agent, "b-6"),
        snapshot_id="s-1",
        key=key,
        face_found=True,
        face_box=[1, 2, 3, 4],
        sharpness_tenths=1000,
        taken_at_ms=1_767_226_040_196,
        width=640,
        height=480,
    )


FORGERIES = {
    # another call's genuine recording, its facts exactly right
    "key_of_another_call": "MEDIA_KEY_OUTSIDE_CALL",
    "key_outside_calls": "MEDIA_KEY_OUTSIDE_CALL",
    "missing_object": "RECORDING_OBJECT_MISSING",
    "wrong_size": "RECORDING_MISMATCH",
    "wrong_sha256": "RECORDING_MISMATCH",
    "no_checksum_in_s3": "RECORDING_MISMATCH",
    "no_key_but_a_size": "RECORDING_MISMATCH",
    "key_without_sha256": "RECORDING_MISMATCH",
}


def forged(world: World, call: Call, genuine: NodeRecording, case: str) -> NodeRecording:
    if case == "key_of_another_call":
        other = new_call(world, "FINISHED")
        return recorded(world, other, b"another customer " * 50).model_copy(update={"call_id": call.call_id})
    if case == "key_outside_calls":
        key = "dossiers/D-1/portrait.jpg"
        size, digest = world.bucket.put(key, b"a portrait")
        return genuine.model_copy(update={"key": key, "size": size, "sha256": digest})
    if case == "missing_object":
        return genuine.model_copy(update={"key": f"calls/{call.call_id}/recording-2.webm"})
    if case == "wrong_size":
        return genuine.model_copy(update={"size": genuine.size + 1})
    if case == "wrong_sha256":
        return genuine.model_copy(update={"sha256": hashlib.sha256(b"another file").hexdigest()})
    if case == "no_checksum_in_s3":
        key = f"calls/{call.call_id}/recording-unchecked.webm"
        size, digest = world.bucket.put(key, b"uploaded without a checksum")
        world.bucket.unchecked.add(key)
        return genuine.model_copy(update={"key": key, "size": size, "sha256": digest})
    if case == "no_key_but_a_size":
        return genuine.model_copy(update={"key": None, "sha256": None})
    assert case == "key_without_sha256"
    return genuine.model_copy(update={"sha256": None})


@pytest.mark.parametrize(("case", "code"), FORGERIES.items(), ids=FORGERIES.keys())
def test_forged_recording_facts_from_the_calls_node_are_refused_and_the_real_ones_then_land(
    world: World, case: str, code: str
) -> None:
    node_up("n1")
    call = carried_call(world, "n1", "FINISHED")
    genuine = recorded(world, call)
    with pytest.raises(ProtocolError) as caught:
        world.media.node_recording(node_connection("n1"), forged(world, call, genuine, case))
    assert (caught.value.code, caught.value.call_id) == (code, call.call_id)
    nothing_stored(call)
    assert world.pushes.timers == []
    world.media.node_recording(node_connection("n1"), genuine)
    stored = CallRepository().get(call.call_id)
    assert (stored.recording_key, stored.recording_size, stored.recording_sha256) == (
        genuine.key,
        genuine.size,
        genuine.sha256,
    )


def test_a_key_outside_the_calls_prefix_costs_no_s3_request(world: World) -> None:
    node_up("n1")
    call = carried_call(world, "n1", "FINISHED")
    report = forged(world, call, recorded(world, call), "key_outside_calls")
    refused("MEDIA_KEY_OUTSIDE_CALL", world.media.node_recording, node_connection("n1"), report)
    assert world.bucket.asked == []


def test_a_snapshot_outside_the_calls_snapshots_is_refused_and_the_agent_told(world: World) -> None:
    node_up("n1")
    call = carried_call(world, "n1")
    other = new_call(world, "FINISHED")
    for key in (f"calls/{other.call_id}/snapshots/s-1.jpg", f"calls/{call.call_id}/recording.webm"):
        taken = snapshot_taken(call, key, world)
        refused("MEDIA_KEY_OUTSIDE_CALL", world.media.node_snapshot, node_connection("n1"), taken)
    assert CallRepository().get(call.call_id).snapshot_keys is None
    told = world.pushes.to(world.agent.connection_id)
    assert [(m["code"], m["request_id"]) for m in told] == [("MEDIA_SNAPSHOT_FAILED", "b-6")] * 2
    world.media.node_snapshot(
        node_connection("n1"), snapshot_taken(call, f"calls/{call.call_id}/snapshots/s-1.jpg", world)
    )
    assert CallRepository().get(call.call_id).snapshot_keys == {f"calls/{call.call_id}/snapshots/s-1.jpg"}


def test_s3_failing_stores_nothing_and_has_the_recording_reported_again(world: World) -> None:
    node_up("n1")
    call = carried_call(world, "n1", "FINISHED")
    world.bucket.failing = True
    with pytest.raises(ConnectionError):
        world.media.node_recording(node_connection("n1"), recorded(world, call))
    nothing_stored(call)
    assert [(kind, payload) for kind, payload, _ in world.pushes.timers] == [
        (RECOVER_TIMER, {"call_id": call.call_id})
    ]


def test_forged_facts_never_reach_the_evidence_bundle(world: World) -> None:
    node_up("n1")
    call = decided_call(world, world.bucket.store)  # carried by n1
    evidence = EvidenceService(world.bucket.store)
    genuine = recorded(world, call, b"the real call " * 300)
    fake = forged(world, call, genuine, "key_of_another_call")
    refused("MEDIA_KEY_OUTSIDE_CALL", world.media.node_recording, node_connection("n1"), fake)
    assert EVIDENCE_TIMER not in world.pushes.kinds()
    assert evidence.build(call.call_id) is Outcome.RECORDING_PENDING
    world.media.node_recording(node_connection("n1"), genuine)
    assert EVIDENCE_TIMER in world.pushes.kinds()
    assert evidence.build(call.call_id) is Outcome.BUILT
    entry = call_media.decision_entry(call.dossier_id or "", call.decision_version or 0)
    assert entry is not None and entry.evidence_key and entry.evidence_sha256
    assert verify_bundle(world.bucket.store, entry.evidence_key, entry.evidence_sha256).ok
    manifest = json.loads(world.bucket.store.get(entry.evidence_key))
    [recording] = [f for f in manifest["files"] if f["role"] == "recording"]
    assert (recording["key"], recording["sha256"]) == (genuine.key, genuine.sha256)


# -- the adapter: what S3 (moto) reports ---------------------------------------------------------------


def test_the_media_bucket_reports_the_sha256_the_node_uploaded_with(
    moto_server: MotoServer, tmp_path: Any
) -> None:
    bucket_name = f"facts-{uuid.uuid4().hex[:8]}"
    store = S3Store.from_env(bucket_name)
    store.ensure_bucket()
    data = b"a recording " * 5000
    path = tmp_path / "recording.webm"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    store.put_file("calls/c-1/recording.webm", path, "video/webm", sha256=digest)
    store.put("calls/c-1/plain.webm", data)  # no SHA-256 asked of S3
    facts = MediaBucket(bucket_name)
    assert facts.stat("calls/c-1/recording.webm") == StoredObject(len(data), digest)
    assert facts.stat("calls/c-1/plain.webm") == StoredObject(len(data), None)
    assert facts.stat("calls/c-1/missing.webm") is None


# -- a node connecting again under its id --------------------------------------------------------------


def _fire_timers_since(world: World, count: int) -> None:
    """Fire every timer scheduled since the first ``count`` ones, as the timer function does."""
    for kind, payload, _ in list(world.pushes.timers[count:]):
        world.graph.fire({"kind": kind, **payload})


def test_a_stale_disconnect_of_a_nodes_old_socket_does_not_lose_it_once_it_reconnected(world: World) -> None:
    nodes = Nodes(world)
    old = nodes.connect("node-s", key_of("node-s"))
    assert nodes.heartbeat(old, "10.0.0.9:9000")["action"] == "ack"
    # The node reconnects (a network change) before API Gateway tells signaling the old socket is gone.
    new = nodes.connect("node-s", key_of("node-s"))
    assert nodes.heartbeat(new, "10.0.0.9:9000")["action"] == "ack"
    call = carried_call(world, "node-s")
    scheduled = len(world.pushes.timers)

    world.graph.dispatcher.run(nodes.sessions.disconnect(old))  # the old socket's late $disconnect
    _fire_timers_since(world, scheduled)  # the node check, the old session's grace

    registered = media_nodes.find("node-s")
    assert registered is not None and (registered.connection_id, registered.lost_at) == (new, None)
    still = CallRepository().get(call.call_id)
    assert (still.state, still.media_node_id, still.end_reason) == ("CONNECTED", "node-s", None)
    assert world.pushes.to(world.mobile.connection_id) == []  # no call.ended, no MEDIA_NODE_LOST


def test_a_node_declared_lost_is_given_calls_again_once_it_connects_again_under_its_id(world: World) -> None:
    nodes = Nodes(world)
    first = nodes.connect("node-l", key_of("node-l"))
    one_call = {"address": "10.0.0.8:9000", "capacity": 1, "load": 0}
    assert nodes.send(first, "node.heartbeat", **one_call)["action"] == "ack"
    lost_call = carried_call(world, "node-l")
    scheduled = len(world.pushes.timers)
    world.graph.dispatcher.run(nodes.sessions.disconnect(first))  # the node process died
    [(_, check, _)] = [t for t in world.pushes.timers[scheduled:] if t[1].get("node_id") == "node-l"]
    assert world.media.node_check(**check) is True
    assert CallRepository().get(lost_call.call_id).end_reason == "media_node_lost"

    again = nodes.connect("node-l", key_of("node-l"))  # restarted under its id
    assert nodes.send(again, "node.heartbeat", **one_call)["action"] == "ack"
    registered = media_nodes.find("node-l")
    assert registered is not None and (registered.connection_id, registered.lost_at) == (again, None)

    call = new_call(world, "W")
    assert offer(world, call.call_id).action == "ack"
    assert CallRepository().get(call.call_id).media_node_id == "node-l"
    assert [m["action"] for m in world.pushes.to(again)] == ["media.attach"]
