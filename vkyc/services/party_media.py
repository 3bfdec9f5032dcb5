"""The media of a call, as the parties and the nodes speak of it (issue #5): a party's WebRTC offer
routed to the call's media node, the snapshot, and the node's answers and reports. What happens when a
node dies, and the closing of an ended call's media, is ``vkyc.services.media_fleet``.

Parties (mobile, agent) talk to signaling only; a media node is one more client of the WebSocket API
(role ``media``) that receives orders as pushes and reports with signed messages. SDP never takes
another path.

Party use cases (each answered ``ack`` at once; the outcome is pushed later with the party's
``request_id``, because the node answers after an ICE gathering or a key frame):

- ``offer`` (``media.offer``): checks the party and the call's state (``CallRules.may_send_media``) and
  the SDP's shape, gives the call a node on its first offer (the least-loaded live node, one
  conditional transaction: ``vkyc.repositories.call_media.assign_node``), and orders ``media.attach``.
  The node answers with ``media.answer`` (→ the party's ``media.answer``) or ``media.error`` (→ the
  party's ``error``).
- ``snapshot`` (``media.snapshot``): the agent, during the call → ``media.snapshot_request`` to the
  node → ``media.snapshot_taken`` (kept on the call: the key for the evidence bundle, the id and whether
  it found a face for the decision rule).

Node use cases: ``node_answer``, ``node_snapshot``, ``node_event`` (both links up: the call's media is
connected, ``CallLifecycle.media_up``), ``node_recording`` (the recording's facts on the call, once; a
decided call then gets its evidence bundle), ``node_error``, ``node_sync`` (which of the node's calls
are over). A node is its token's principal (its own key: ``vkyc.security.node_keys``), and each report
passes one guard, ``_node_call``, before anything else: the call is this node's (or, for a recording and
its errors, the node was asked to recover it), else MEDIA_NODE_NOT_ASSIGNED. Recording facts are then
checked against what S3 reports (``ObjectFacts``, ``vkyc.domain.media_facts``) before they are stored:
forged facts never reach the evidence bundle. A refusal writes nothing.

Orders to a node whose delivery decides the answer (``media.attach``, ``media.snapshot_request``) go
straight through the notifier; every other push is an effect (``vkyc.services.effects``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from vkyc.domain import media_facts
from vkyc.domain.direction import Party, rules_of
from vkyc.domain.media import NoNode, choose_node
from vkyc.domain.media_facts import ReportedRecording
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import CATALOGUE, ProtocolError
from vkyc.protocol.messages import (
    Ack,
    MediaAnswer,
    MediaAttach,
    MediaClose,
    MediaLinks,
    MediaOffer,
    MediaSnapshot,
    MediaSnapshotRequest,
    MediaSnapshotTaken,
    MediaSyncResult,
    NodeMediaAnswer,
    NodeMediaError,
    NodeMediaEvent,
    NodeRecording,
    NodeSnapshotTaken,
    NodeSync,
    ReplyTo,
    Role,
)
from vkyc.repositories import call_media, media_nodes
from vkyc.repositories.call_media import NodeGone, RecordingFacts
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, MediaNode, WsConnection
from vkyc.services.call_lifecycle import CallLifecycle
from vkyc.services.effects import Done, Effects, Refused
from vkyc.services.failures import error_message
from vkyc.services.ports import Clock, Notifier, ObjectFacts, utc_now
from vkyc.services.timers import BuildEvidence, RecordingRecover

log = logging.getLogger("vkyc.media")

ASSIGN_ATTEMPTS = 3
RECOVER_RETRY_S = 10  # a recording not assembled, or not checked (S3 out of reach), is asked again


class PartyMedia:
    def __init__(
        self,
        nodes: Notifier,
        lifecycle: CallLifecycle,
        *,
        objects: ObjectFacts,
        clock: Clock = utc_now,
        settings: Callable[[str | None], CallSettings] = cached_settings,
    ) -> None:
        self.nodes = nodes  # orders to media nodes whose delivery decides the answer
        self.lifecycle = lifecycle
        self.objects = objects
        self.clock = clock
        self.settings = settings
        self.calls = CallRepository()

    # -- the parties ------------------------------------------------------------------------------

    def offer(self, connection: WsConnection, message: MediaOffer) -> Done[Ack]:
        """Route the party's offer to the call's media node (assigned on the first offer). Raises
        ProtocolError: CALL_NOT_FOUND, MEDIA_CALL_STATE, MEDIA_BAD_SDP, MEDIA_NODE_UNAVAILABLE,
        MEDIA_NODE_FULL."""
        party = Party.AGENT if connection.role == Role.AGENT.value else Party.MOBILE
        call = self._party_call(connection, message.call_id, party)
        rules = rules_of(call.direction)
        if not rules.may_send_media(call.state, party):
            raise _state_error(call, f"A {party.value} cannot send media now.")
        _check_sdp(message.sdp)
        node, fresh = self._node_for(call)
        attach = MediaAttach(
            call_id=call.call_id,
            party=party.value,
            sdp=message.sdp,
            answered=rules.is_answered(call.state),
            waiting_media=self._waiting_media(call),
            reply_to=ReplyTo(connection_id=connection.connection_id, request_id=message.request_id),
        )
        if not node.connection_id or not self.nodes.send(node.connection_id, attach.model_dump(mode="json")):
            if fresh:
                call_media.release_node(call.call_id, node.node_id)
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE",
                f"Media node {node.node_id} cannot be reached.",
                call_id=call.call_id,
            )
        return Done(Ack(request_id=message.request_id))

    def snapshot(self, connection: WsConnection, message: MediaSnapshot) -> Done[Ack]:
        """Ask the call's node for the decision snapshot. Raises ProtocolError: CALL_NOT_FOUND,
        MEDIA_CALL_STATE, MEDIA_NO_CUSTOMER_VIDEO, MEDIA_NODE_UNAVAILABLE."""
        call = self._party_call(connection, message.call_id, Party.AGENT)
        if not rules_of(call.direction).may_snapshot(call.state):
            raise _state_error(call, "The snapshot is taken during the call.")
        if not call.media_node_id:
            raise ProtocolError(
                "MEDIA_NO_CUSTOMER_VIDEO", "No media node carries the call.", call_id=call.call_id
            )
        node = media_nodes.find(call.media_node_id)
        request = MediaSnapshotRequest(
            call_id=call.call_id,
            reply_to=ReplyTo(connection_id=connection.connection_id, request_id=message.request_id),
        )
        if (
            node is None
            or not node.connection_id
            or not self.nodes.send(node.connection_id, request.model_dump(mode="json"))
        ):
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE", "The call's media node cannot be reached.", call_id=call.call_id
            )
        return Done(Ack(request_id=message.request_id))

    # -- the media node -----------------------------------------------------------------------------

    def node_answer(self, node: WsConnection, message: NodeMediaAnswer) -> Done[Ack]:
        """The node's SDP answer: to the party that offered. A call that ended meanwhile gets the party
        an error instead. Raises MEDIA_NODE_NOT_ASSIGNED (see ``_node_call``)."""
        call = self._node_call(node, message.call_id)
        reply_to = message.reply_to
        if rules_of(call.direction).is_live(call.state):
            answer = MediaAnswer(request_id=reply_to.request_id, call_id=call.call_id, sdp=message.sdp)
            effects = _reply(call, message.party, reply_to, answer.model_dump(mode="json"))
        else:
            error = ProtocolError("MEDIA_CALL_STATE", f"The call is {call.state}.", call_id=call.call_id)
            effects = _reply(call, message.party, reply_to, error_message(error, reply_to.request_id))
        return Done(Ack(request_id=message.request_id), effects)

    def node_snapshot(self, node: WsConnection, message: NodeSnapshotTaken) -> Done[Ack]:
        """The snapshot is in S3: remember it on the call, and tell the agent. Raises
        MEDIA_NODE_NOT_ASSIGNED; MEDIA_KEY_OUTSIDE_CALL for a key outside the call's ``snapshots/``
        (nothing kept: the agent is told MEDIA_SNAPSHOT_FAILED and may take another)."""
        call = self._node_call(node, message.call_id)
        reply_to = message.reply_to
        refusal = media_facts.snapshot_refusal(call.call_id, message.key)
        if refusal is not None:
            log.warning(
                "node %s reported snapshot %s of %s: refused", node.principal_id, message.key, call.call_id
            )
            failed = ProtocolError("MEDIA_SNAPSHOT_FAILED", call_id=call.call_id)
            effects = _reply(call, Role.AGENT.value, reply_to, error_message(failed, reply_to.request_id))
            raise Refused(ProtocolError(refusal.code, refusal.detail, call_id=call.call_id), effects)
        call_media.add_snapshot(call.call_id, message.key, message.snapshot_id, face_found=message.face_found)
        taken = MediaSnapshotTaken(
            request_id=reply_to.request_id,
            call_id=call.call_id,
            snapshot_id=message.snapshot_id,
            face_found=message.face_found,
            face_box=list(message.face_box) if message.face_box is not None else None,
            sharpness=message.sharpness_tenths / 10,
            taken_at=_from_ms(message.taken_at_ms).isoformat().replace("+00:00", "Z"),
            width=message.width,
            height=message.height,
        )
        effects = _reply(call, Role.AGENT.value, reply_to, taken.model_dump(mode="json"))
        return Done(Ack(request_id=message.request_id), effects)

    def node_event(self, node: WsConnection, message: NodeMediaEvent) -> Done[Ack]:
        """A link went up or was lost. Both parties' links up: the call's media is connected. Raises
        MEDIA_NODE_NOT_ASSIGNED: only the call's own node says whether its media is up."""
        call = self._node_call(node, message.call_id)
        log.info(
            "media %s of call %s on %s (stream %d); links %s",
            message.kind,
            message.call_id,
            node.principal_id,
            message.stream,
            message.links.model_dump(),
        )
        if message.kind == "link.up" and message.links.mobile == "up" and message.links.agent == "up":
            self.lifecycle.media_up(call)
        links = MediaLinks(call_id=call.call_id, links=message.links).model_dump(mode="json")
        effects = Effects().to_party(call.agent_connection_id, call.agent_session_id, links)
        return Done(Ack(request_id=message.request_id), effects)

    def node_recording(self, node: WsConnection, message: NodeRecording) -> Done[Ack]:
        """A call's recording is closed (or recovered): its facts go on the call, once; the node that
        carried it no longer holds it; a decided call gets its evidence bundle now.

        Raises, storing nothing: MEDIA_NODE_NOT_ASSIGNED (neither the call's node nor one asked to
        recover it), MEDIA_KEY_OUTSIDE_CALL, RECORDING_OBJECT_MISSING, RECORDING_MISMATCH (the facts
        against S3's HeadObject: ``vkyc.domain.media_facts``). A repeated report of stored facts is
        acknowledged without asking S3. S3 failing: its error, and a recovery is scheduled, which has a
        live node report the recording again."""
        call = self._node_call(node, message.call_id, recovery=True)
        if call.recording_closed_at is not None:
            return Done(Ack(request_id=message.request_id), _stored(call, None))
        reported = ReportedRecording(message.key, message.size, message.sha256)
        refusal = media_facts.recording_key_refusal(call.call_id, reported)
        if refusal is None and message.key is not None:
            try:
                stored_object = self.objects.stat(message.key)
            except Exception as exc:
                raise Refused(
                    exc, Effects().timer(RecordingRecover(call_id=call.call_id).after(RECOVER_RETRY_S))
                ) from exc
            refusal = media_facts.recording_refusal(reported, stored_object)
        if refusal is not None:
            log.warning(
                "recording of %s from %s refused: %s %s",
                call.call_id,
                node.principal_id,
                refusal.code,
                refusal.detail,
            )
            raise ProtocolError(refusal.code, refusal.detail, call_id=call.call_id)
        facts = RecordingFacts(
            key=message.key,
            size=message.size,
            duration_s=message.duration_ms / 1000,
            sha256=message.sha256,
            incomplete=message.incomplete,
        )
        stored = call_media.store_recording(call.call_id, facts, self.clock())
        return Done(Ack(request_id=message.request_id), _stored(call, stored))

    def node_error(self, node: WsConnection, message: NodeMediaError) -> Done[Ack]:
        """An order failed on the node: the party that asked is told; a node that was full gives the call
        back (the next offer goes elsewhere); a recording not assembled is retried. Raises
        MEDIA_NODE_NOT_ASSIGNED: only the call's node reports on it (a recovery's error: also a node
        asked to recover it)."""
        call = self._node_call(node, message.call_id, recovery=message.op == "recover")
        effects = Effects()
        if message.op in ("attach", "snapshot") and message.reply_to is not None:
            code = message.code if message.code in CATALOGUE else "INTERNAL_ERROR"
            error = ProtocolError(code, message.message or None, call_id=call.call_id)
            party = Role.AGENT.value if message.op == "snapshot" else message.party
            effects = _reply(call, party, message.reply_to, error_message(error, message.reply_to.request_id))
            if message.code == "MEDIA_NODE_FULL":
                call_media.release_node(call.call_id, node.principal_id)
        elif message.op == "recover" and message.code == "RECORDING_NOT_FOUND":
            # Nothing was ever recorded: the recording is "none", and that is a fact too.
            facts = RecordingFacts(key=None, size=0, duration_s=0.0, sha256=None, incomplete=True)
            effects = _stored(call, call_media.store_recording(call.call_id, facts, self.clock()))
        elif message.op in ("recover", "close"):
            log.warning(
                "media %s of %s failed on %s: %s",
                message.op,
                message.call_id,
                node.principal_id,
                message.code,
            )
            effects.timer(RecordingRecover(call_id=message.call_id).after(RECOVER_RETRY_S))
        return Done(Ack(request_id=message.request_id), effects)

    def node_sync(self, node: WsConnection, message: NodeSync) -> Done[MediaSyncResult]:
        """Which of the calls the node carries are over (final, unknown, or assigned elsewhere): the
        node closes them. One BatchGetItem per 100 calls."""
        found = {c.call_id: c for c in call_media.calls(message.call_ids)}
        ended = []
        for call_id in message.call_ids:
            call = found.get(call_id)
            mine = call is not None and call.media_node_id == node.principal_id
            if call is None or not mine or not rules_of(call.direction).is_live(call.state):
                ended.append(call_id)
        return Done(MediaSyncResult(request_id=message.request_id, ended=ended))

    # -- internals ----------------------------------------------------------------------------------

    def _node_for(self, call: Call) -> tuple[MediaNode, bool]:
        """The call's node (assigned now if it has none: True as second value)."""
        for _ in range(ASSIGN_ATTEMPTS):
            if call.media_node_id:
                node = media_nodes.find(call.media_node_id)
                if node is None or not node.connection_id or node.lost_at is not None:
                    raise ProtocolError(
                        "MEDIA_NODE_UNAVAILABLE",
                        "The call's media node cannot be reached.",
                        call_id=call.call_id,
                    )
                return node, False
            nodes = {n.node_id: n for n in media_nodes.all_nodes()}
            choice = choose_node([media_nodes.view(n) for n in nodes.values()], self.clock())
            if choice is NoNode.NONE_LIVE:
                raise ProtocolError("MEDIA_NODE_UNAVAILABLE", "No media node is live.", call_id=call.call_id)
            if choice is NoNode.ALL_FULL:
                raise ProtocolError(
                    "MEDIA_NODE_FULL", "Every media node is at capacity.", call_id=call.call_id
                )
            assert not isinstance(choice, NoNode)
            try:
                if call_media.assign_node(
                    call.call_id, choice.node_id, rules_of(call.direction).live_states()
                ):
                    return nodes[choice.node_id], True
            except NodeGone:
                continue
            # The other party's offer assigned one first, or the call ended: look again.
            found = self.calls.find(call.call_id)
            if found is None or not rules_of(found.direction).is_live(found.state):
                raise _state_error(found or call, "The call has ended.")
            call = found
        raise ProtocolError(
            "MEDIA_NODE_UNAVAILABLE", "No media node could take the call.", call_id=call.call_id
        )

    def _waiting_media(self, call: Call) -> str | None:
        """The serving unit's waiting media (S3 key), for a caller who will wait; None: the default."""
        if not rules_of(call.direction).plays_waiting_media:
            return None
        return self.settings(call.serving_unit_id or call.unit_id).waiting_media_key

    def _party_call(self, connection: WsConnection, call_id: str, party: Party) -> Call:
        """The call of which this connection's session is ``party``, or CALL_NOT_FOUND."""
        call = self.calls.find(call_id)
        if call is None:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        if party is Party.AGENT:
            mine = connection.role == Role.AGENT.value and call.agent_id == connection.principal_id
        else:
            mine = call.mobile_session_id == connection.session_id
        if not mine:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call

    def _node_call(self, node: WsConnection, call_id: str, *, recovery: bool = False) -> Call:
        """The call a node reports on, if it may (``vkyc.domain.media_facts.may_report``): the node
        that carries it, or (``recovery``) one asked to recover its recording. Otherwise refuses with
        MEDIA_NODE_NOT_ASSIGNED, having written nothing, and orders ``media.close`` (``not_assigned``):
        media a node holds for a call that is not its own must stop."""
        call = self.calls.find(call_id)
        if call is not None and media_facts.may_report(
            node.principal_id, call.media_node_id, call.recovery_node_ids or (), recovery=recovery
        ):
            return call
        log.warning("node %s reported on call %s, which is not its own", node.principal_id, call_id)
        close = MediaClose(call_id=call_id, reason="not_assigned").model_dump(mode="json")
        raise Refused(
            ProtocolError("MEDIA_NODE_NOT_ASSIGNED", call_id=call_id),
            Effects().to_connection(node.connection_id, close),
        )


def _stored(call: Call, stored: Call | None) -> Effects:
    """After a recording report: the node no longer holds an ended call (a live one stays listed, so
    that the node's loss still ends it: a node shutting down reports its calls first); a decided call
    gets its evidence bundle (the decision came first)."""
    current = stored or call
    if current.media_node_id and not rules_of(current.direction).is_live(current.state):
        media_nodes.remove_call(current.media_node_id, current.call_id)
    if stored is not None and stored.decision:
        return Effects().timer(BuildEvidence(call_id=call.call_id).after(0))
    return Effects()


def _reply(call: Call, party: str | None, reply_to: ReplyTo, message: dict[str, object]) -> Effects:
    """To the connection that asked; if it is gone (the party resumed on another socket), to where the
    party's session is now."""
    if party not in (Role.AGENT.value, Role.MOBILE.value):  # a supervisor's monitor: that socket only
        return Effects().to_connection(reply_to.connection_id, dict(message))
    session_id = call.agent_session_id if party == Role.AGENT.value else call.mobile_session_id
    return Effects().to_party(reply_to.connection_id, session_id, dict(message))


def _check_sdp(sdp: str) -> None:
    """What signaling can tell of an SDP without parsing it: the node checks the rest."""
    if not sdp.startswith("v=0") or "\nm=" not in sdp:
        raise ProtocolError("MEDIA_BAD_SDP", "An SDP starts with v=0 and has at least one m= line.")


def _state_error(call: Call, hint: str) -> ProtocolError:
    return ProtocolError("MEDIA_CALL_STATE", f"The call is {call.state}. {hint}", call_id=call.call_id)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
