"""The media of a call (issue #5): routing a party's WebRTC offer to a media node, the node's answers
and reports, and what happens when a node dies.

Parties (mobile, agent) talk to signaling only; a media node is one more client of the WebSocket API
(role ``media``) that receives orders as pushes and reports with signed messages. SDP never takes
another path.

Client use cases (each answered ``ack`` at once; the outcome is pushed later with the client's
``request_id``, because the node answers after an ICE gathering or a key frame):

- ``offer`` (``media.offer``): checks the party and the call's state (``vkyc.domain.media``) and the
  SDP's shape, gives the call a node on its first offer (the least-loaded live node, one conditional
  transaction: ``vkyc.repositories.call_media.assign_node``), and pushes ``media.attach`` to the node.
  The node answers with ``media.answer`` (→ the party's ``media.answer``) or ``media.error``
  (→ the party's ``error``). (The no-call timer starts at the answer: ``CallService.accept``.)
- ``snapshot`` (``media.snapshot``): the agent, during the call → ``media.snapshot_request`` to the
  node → ``media.snapshot_taken`` (the key is kept on the call, for the evidence bundle).

Node use cases: ``node_answer``, ``node_snapshot``, ``node_event`` (both links up connects an answered
call: A → CONNECTED), ``node_recording`` (the recording's facts on the call, once; a decided call then
gets its evidence bundle), ``node_error``, ``node_sync`` (which of the node's calls are over). A node
is its token's principal (its own key: ``vkyc.security.node_keys``), and each report passes one guard,
``_node_call``, before anything else: the call is this node's (or, for a recording and its errors, the
node was asked to recover it), else MEDIA_NODE_NOT_ASSIGNED. Recording facts are then checked against
what S3 reports (``ObjectFacts``, ``vkyc.domain.media_facts``) before they are stored: forged facts never
reach the evidence bundle. A refusal writes nothing.

System: ``call_ended`` (any path that ends a call tells its node to close it: ``media.close``),
``node_dropped`` / ``node_check`` / ``node_left`` / ``node_lost`` (a node whose socket is gone for
``NODE_LOST_CHECK_S``, whose session ended, or whose heartbeat is 15 s old (the sweeper) is lost: its
answered calls end ``media_node_lost`` with ``recording_incomplete``, callers still waiting are told
``MEDIA_NODE_LOST`` and re-offer to another node, and the recordings are assembled from the parts the
dead node left in S3 by a live node: ``media.recover``), ``recover`` (that timer: the node asked is
written on the call first, ``recovery_node_ids``), ``no_call_timeout``.

Side effects (pushes, timers) run after the writes they follow. Everything is idempotent: facts are
written once, transitions are conditioned on the state read, timers re-read before acting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from vkyc.domain import media_facts
from vkyc.domain.call import LIVE_STATES, CallState, EndReason
from vkyc.domain.callback import CallbackState
from vkyc.domain.eligibility import is_live_call
from vkyc.domain.media import (
    NoNode,
    answered,
    assignable_states,
    choose_node,
    dead,
    offer_allowed,
    snapshot_allowed,
)
from vkyc.domain.media_facts import ReportedRecording
from vkyc.domain.session import SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import CATALOGUE, ProtocolError
from vkyc.protocol.messages import (
    Ack,
    MediaAnswer,
    MediaAttach,
    MediaClose,
    MediaOffer,
    MediaRecover,
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
from vkyc.repositories.calls import OUTBOUND, CallRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, MediaNode, Session, WsConnection
from vkyc.services.ports import Clock, Notifier, ObjectFacts, Timers, as_utc, utc_now

log = logging.getLogger("vkyc.media")

NODE_TIMER = "media_node_check"  # {node_id, session_id?, generation?}: is the node lost?
NO_CALL_TIMER = "no_call_arrived"  # {call_id}: answered, media never connected → T
RECOVER_TIMER = "recording_recover"  # {call_id}: assemble the recording its dead node left
EVIDENCE_TIMER = "evidence"  # {call_id}: build the decision's evidence bundle (vkyc.services.evidence)

NODE_LOST_CHECK_S = 3
"""A node's socket gone this long (not resumed) makes it lost: well within the parties' 15 s grace,
and long enough for the node's own reconnect after a blip (the SDK resumes within a second)."""
RECOVER_AFTER_S = 8
"""When the recording of a dead node's call is assembled, after the node was declared lost: its
newest part is then older than ``RECOVER_MIN_IDLE_S`` (it died at least ``NODE_LOST_CHECK_S`` before)."""
RECOVER_MIN_IDLE_S = 10
RECOVER_RETRY_S = 10
RECOVER_GIVE_UP = timedelta(hours=1)
ASSIGN_ATTEMPTS = 3

MEDIA_NODE_LOST = EndReason.MEDIA_NODE_LOST.value


class MediaService:
    """See the module docstring. ``end_call(call, reason)`` ends an answered call for its media (the
    inbound or call-back use case, by its direction); signaling wires it, as it wires the session hooks.
    """

    def __init__(
        self,
        notifier: Notifier,
        timers: Timers,
        *,
        end_call: Callable[[Call, str], bool],
        media_connected: Callable[[Call], bool],
        objects: ObjectFacts,
        clock: Clock = utc_now,
        settings: Callable[[str | None], CallSettings] = cached_settings,
    ) -> None:
        self.notifier = notifier
        self.timers = timers
        self.end_call = end_call
        self.media_connected = media_connected
        self.objects = objects
        self.clock = clock
        self.settings = settings
        self.calls = CallRepository()
        self.sessions = SessionRepository()

    # -- the parties ------------------------------------------------------------------------------

    def offer(self, connection: WsConnection, message: MediaOffer) -> Ack:
        """Route the party's offer to the call's media node (assigned on the first offer). Raises
        ProtocolError: CALL_NOT_FOUND, MEDIA_CALL_STATE, MEDIA_BAD_SDP, MEDIA_NODE_UNAVAILABLE,
        MEDIA_NODE_FULL."""
        party = Role.AGENT.value if connection.role == Role.AGENT.value else Role.MOBILE.value
        call = self._party_call(connection, message.call_id, party)
        if not offer_allowed(call.direction, call.state, party):
            raise _state_error(call, f"A {party} cannot send media now.")
        _check_sdp(message.sdp)
        node, fresh = self._node_for(call)
        attach = MediaAttach(
            call_id=call.call_id,
            party=party,  # type: ignore[arg-type]  # a Literal: checked above
            sdp=message.sdp,
            answered=answered(call.direction, call.state),
            waiting_media=self._waiting_media(call),
            reply_to=ReplyTo(connection_id=connection.connection_id, request_id=message.request_id),
        )
        if not node.connection_id or not self.notifier.send(
            node.connection_id, attach.model_dump(mode="json")
        ):
            if fresh:
                call_media.release_node(call.call_id, node.node_id)
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE",
                f"Media node {node.node_id} cannot be reached.",
                call_id=call.call_id,
            )
        return Ack(request_id=message.request_id)

    def snapshot(self, connection: WsConnection, message: MediaSnapshot) -> Ack:
        """Ask the call's node for the decision snapshot. Raises ProtocolError: CALL_NOT_FOUND,
        MEDIA_CALL_STATE, MEDIA_NO_CUSTOMER_VIDEO, MEDIA_NODE_UNAVAILABLE."""
        call = self._party_call(connection, message.call_id, Role.AGENT.value)
        if not snapshot_allowed(call.direction, call.state):
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
            or not self.notifier.send(node.connection_id, request.model_dump(mode="json"))
        ):
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE", "The call's media node cannot be reached.", call_id=call.call_id
            )
        return Ack(request_id=message.request_id)

    # -- the media node -----------------------------------------------------------------------------

    def node_answer(self, node: WsConnection, message: NodeMediaAnswer) -> Ack:
        """The node's SDP answer: to the party that offered. A call that ended meanwhile gets the party
        an error instead. Raises MEDIA_NODE_NOT_ASSIGNED (see ``_node_call``)."""
        call = self._node_call(node, message.call_id)
        if is_live_call(call.direction, call.state):
            answer = MediaAnswer(
                request_id=message.reply_to.request_id, call_id=call.call_id, sdp=message.sdp
            )
            self._reply(call, message.party, message.reply_to, answer.model_dump(mode="json"))
        else:
            error = ProtocolError("MEDIA_CALL_STATE", f"The call is {call.state}.", call_id=call.call_id)
            self._reply(call, message.party, message.reply_to, _error(error, message.reply_to.request_id))
        return Ack(request_id=message.request_id)

    def node_snapshot(self, node: WsConnection, message: NodeSnapshotTaken) -> Ack:
        """The snapshot is in S3: remember its key on the call, and tell the agent. Raises
        MEDIA_NODE_NOT_ASSIGNED; MEDIA_KEY_OUTSIDE_CALL for a key outside the call's ``snapshots/``
        (nothing kept: the agent is told MEDIA_SNAPSHOT_FAILED and may take another)."""
        call = self._node_call(node, message.call_id)
        refusal = media_facts.snapshot_refusal(call.call_id, message.key)
        if refusal is not None:
            log.warning(
                "node %s reported snapshot %s of %s: refused", node.principal_id, message.key, call.call_id
            )
            failed = ProtocolError("MEDIA_SNAPSHOT_FAILED", call_id=call.call_id)
            self._reply(call, Role.AGENT.value, message.reply_to, _error(failed, message.reply_to.request_id))
            raise ProtocolError(refusal.code, refusal.detail, call_id=call.call_id)
        call_media.add_snapshot(call.call_id, message.key, message.snapshot_id, face_found=message.face_found)
        box = list(message.face_box) if message.face_box is not None else None
        taken = MediaSnapshotTaken(
            request_id=message.reply_to.request_id,
            call_id=call.call_id,
            snapshot_id=message.snapshot_id,
            face_found=message.face_found,
            face_box=box,
            sharpness=message.sharpness_tenths / 10,
            taken_at=_from_ms(message.taken_at_ms).isoformat().replace("+00:00", "Z"),
            width=message.width,
            height=message.height,
        )
        self._reply(call, Role.AGENT.value, message.reply_to, taken.model_dump(mode="json"))
        return Ack(request_id=message.request_id)

    def node_event(self, node: WsConnection, message: NodeMediaEvent) -> Ack:
        """A link went up or was lost. Both parties' links up: the answered call is connected. Raises
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
            self._media_up(call)
        return Ack(request_id=message.request_id)

    def _media_up(self, call: Call) -> None:
        """Both parties' media up: the fact a decision to let the subscriber in rests on
        (``media_connected_at``), and an answered inbound call is now CONNECTED (the stamp rides on
        that transition: no request more on the usual path)."""
        if self.media_connected(call):
            return
        if call.media_connected_at is None and _is_answered(call):
            call_media.mark_media_connected(call.call_id, self.clock())

    def node_recording(self, node: WsConnection, message: NodeRecording) -> Ack:
        """A call's recording is closed (or recovered): its facts go on the call, once; the node that
        carried it no longer holds it; a decided call gets its evidence bundle now.

        Raises, storing nothing: MEDIA_NODE_NOT_ASSIGNED (neither the call's node nor one asked to
        recover it), MEDIA_KEY_OUTSIDE_CALL, RECORDING_OBJECT_MISSING, RECORDING_MISMATCH (the facts
        against S3's HeadObject: ``vkyc.domain.media_facts``). A repeated report of stored facts is
        acknowledged without asking S3. S3 failing: INTERNAL_ERROR, and a recovery is scheduled, which
        has a live node report the recording again."""
        call = self._node_call(node, message.call_id, recovery=True)
        if call.recording_closed_at is not None:
            self._stored(call, None)
            return Ack(request_id=message.request_id)
        reported = ReportedRecording(message.key, message.size, message.sha256)
        refusal = media_facts.recording_key_refusal(call.call_id, reported)
        if refusal is None and message.key is not None:
            try:
                stored_object = self.objects.stat(message.key)
            except Exception:
                self.timers.schedule(RECOVER_TIMER, {"call_id": call.call_id}, RECOVER_RETRY_S)
                raise
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
        self._stored(call, call_media.store_recording(call.call_id, facts, self.clock()))
        return Ack(request_id=message.request_id)

    def node_error(self, node: WsConnection, message: NodeMediaError) -> Ack:
        """An order failed on the node: the party that asked is told; a node that was full gives the call
        back (the next offer goes elsewhere); a recording not assembled is retried. Raises
        MEDIA_NODE_NOT_ASSIGNED: only the call's node reports on it (a recovery's error: also a node
        asked to recover it)."""
        call = self._node_call(node, message.call_id, recovery=message.op == "recover")
        if message.op in ("attach", "snapshot") and message.reply_to is not None:
            code = message.code if message.code in CATALOGUE else "INTERNAL_ERROR"
            error = ProtocolError(code, message.message or None, call_id=call.call_id)
            party = Role.AGENT.value if message.op == "snapshot" else message.party
            self._reply(call, party, message.reply_to, _error(error, message.reply_to.request_id))
            if message.code == "MEDIA_NODE_FULL":
                call_media.release_node(call.call_id, node.principal_id)
        elif message.op == "recover" and message.code == "RECORDING_NOT_FOUND":
            # Nothing was ever recorded: the recording is "none", and that is a fact too.
            self._store_none(call, incomplete=True)
        elif message.op in ("recover", "close"):
            log.warning(
                "media %s of %s failed on %s: %s",
                message.op,
                message.call_id,
                node.principal_id,
                message.code,
            )
            self.timers.schedule(RECOVER_TIMER, {"call_id": message.call_id}, RECOVER_RETRY_S)
        return Ack(request_id=message.request_id)

    def node_sync(self, node: WsConnection, message: NodeSync) -> MediaSyncResult:
        """Which of the calls the node carries are over (final, unknown, or assigned elsewhere): the
        node closes them. One BatchGetItem per 100 calls."""
        found = {c.call_id: c for c in call_media.calls(message.call_ids)}
        ended = []
        for call_id in message.call_ids:
            call = found.get(call_id)
            mine = call is not None and call.media_node_id == node.principal_id
            if call is None or not mine or not is_live_call(call.direction, call.state):
                ended.append(call_id)
        return MediaSyncResult(request_id=message.request_id, ended=ended)

    # -- hooks and timers ---------------------------------------------------------------------------

    def call_ended(self, call: Call, reason: str) -> None:
        """A call just ended (any path): its node hangs up the media and finalizes the recording. Best
        effort: a node that cannot be reached closes it at its next ``media.sync``, or is lost."""
        if not call.media_node_id:
            return
        try:
            node = media_nodes.find(call.media_node_id)
        except Exception:  # the call has ended whatever happens here: never fail its use case
            log.exception("media.close of %s: node %s not read", call.call_id, call.media_node_id)
            return
        if node is None or not node.connection_id:
            return
        close = MediaClose(call_id=call.call_id, reason=reason)
        if not self.notifier.send(node.connection_id, close.model_dump(mode="json")):
            log.info(
                "media.close of %s not delivered to %s; its sync will close it", call.call_id, node.node_id
            )

    def node_dropped(self, session: Session) -> None:
        """A node's socket dropped: unreachable from now, lost unless it resumes within
        ``NODE_LOST_CHECK_S``."""
        node = media_nodes.find(session.principal_id)
        if node is not None and node.connection_id:
            media_nodes.detach(node.node_id, node.connection_id)
        payload = {
            "node_id": session.principal_id,
            "session_id": session.session_id,
            "generation": session.generation,
        }
        self.timers.schedule(NODE_TIMER, payload, NODE_LOST_CHECK_S)

    def node_left(self, session: Session, reason: str) -> None:
        """A node's session ended (grace expired, bye, replaced): it is lost."""
        self.node_lost(session.principal_id, reason)

    def node_check(self, node_id: str, session_id: str | None = None, generation: int | None = None) -> bool:
        """The node-check timer. With a session: lost if still detached from that drop. Without (the
        sweeper): lost if its heartbeat is older than 15 s. True when it declared the node lost."""
        if session_id is not None:
            session = self.sessions.find(session_id)
            if session is not None and (
                session.state == SessionState.ACTIVE or session.generation != generation
            ):
                return False  # resumed, or a later drop has a timer of its own
        else:
            node = media_nodes.find(node_id)
            if node is None or not dead(media_nodes.view(node), self.clock()):
                return False
        return self.node_lost(node_id, "media_node_lost")

    def node_lost(self, node_id: str, reason: str) -> bool:
        """End what the dead node carried (see the module docstring). Idempotent."""
        node = media_nodes.find(node_id)
        if node is None:
            return False
        first = media_nodes.mark_lost(node_id, self.clock())
        if first:
            log.warning("media node %s is lost (%s): %d call(s)", node_id, reason, len(node.call_ids or ()))
        for call in call_media.calls(sorted(node.call_ids or ())):
            if call.media_node_id != node_id or (
                call.recording_closed_at is not None and not is_live_call(call.direction, call.state)
            ):
                media_nodes.remove_call(node_id, call.call_id)  # not (or no longer) its business
                continue
            try:
                self._lost_call(call)
            except Exception:  # one call's failure must not keep the others live
                log.exception("ending call %s of lost node %s failed", call.call_id, node_id)
        return first

    def recover(self, call_id: str) -> bool:
        """The recovery timer: a live node assembles the recording of a call whose node died. Retried
        every ``RECOVER_RETRY_S`` until it is stored (or for ``RECOVER_GIVE_UP``). True if asked."""
        call = self.calls.find(call_id)
        if call is None or call.recording_closed_at is not None:
            return False
        ended = as_utc(call.ended_at or call.updated_at or call.created_at)
        if self.clock() - ended > RECOVER_GIVE_UP:
            log.error(
                "giving up the recording of %s: no node recovered it within %s", call_id, RECOVER_GIVE_UP
            )
            return False
        # Recovery is no call: any live node may do it, full or not; the least loaded does.
        now = self.clock()
        live = [n for n in media_nodes.all_nodes() if media_nodes.view(n).live(now)]
        if not live:
            self.timers.schedule(RECOVER_TIMER, {"call_id": call_id}, RECOVER_RETRY_S)
            return False
        target = min(live, key=lambda n: (media_nodes.view(n).effective_load, n.node_id))
        # Written before the push: the node's report must find itself allowed (``_node_call``).
        if not call_media.add_recoverer(call_id, target.node_id):
            return False  # stored meanwhile
        push = MediaRecover(call_id=call_id, min_idle_s=RECOVER_MIN_IDLE_S)
        if not target.connection_id or not self.notifier.send(
            target.connection_id, push.model_dump(mode="json")
        ):
            self.timers.schedule(RECOVER_TIMER, {"call_id": call_id}, RECOVER_RETRY_S)
            return False
        return True

    # -- internals ----------------------------------------------------------------------------------

    def _lost_call(self, call: Call) -> None:
        if not is_live_call(call.direction, call.state):
            if call.recording_closed_at is None:
                self.timers.schedule(RECOVER_TIMER, {"call_id": call.call_id}, RECOVER_AFTER_S)
            return
        if _is_answered(call):
            if call.recording_closed_at is None:
                call_media.mark_incomplete(call.call_id)
            self.end_call(call, MEDIA_NODE_LOST)
            if call.recording_closed_at is None:
                self.timers.schedule(RECOVER_TIMER, {"call_id": call.call_id}, RECOVER_AFTER_S)
            return
        # Still waiting for an agent: the call goes on; the caller's next offer finds another node. What
        # the dead node recorded of the waiting (the caller alone) is discarded by that node.
        if call_media.release_node(call.call_id, call.media_node_id or ""):
            error = ProtocolError("MEDIA_NODE_LOST", call_id=call.call_id)
            self._to_session(call.mobile_session_id, call.mobile_connection_id, _error(error, None))

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
                if call_media.assign_node(call.call_id, choice.node_id, assignable_states()):
                    return nodes[choice.node_id], True
            except NodeGone:
                continue
            # The other party's offer assigned one first, or the call ended: look again.
            found = self.calls.find(call.call_id)
            if found is None or not is_live_call(found.direction, found.state):
                raise _state_error(found or call, "The call has ended.")
            call = found
        raise ProtocolError(
            "MEDIA_NODE_UNAVAILABLE", "No media node could take the call.", call_id=call.call_id
        )

    def _waiting_media(self, call: Call) -> str | None:
        """The serving unit's waiting media (S3 key), for a caller who will wait; None: the default."""
        if call.direction == OUTBOUND:
            return None
        return self.settings(call.serving_unit_id or call.unit_id).waiting_media_key

    def _party_call(self, connection: WsConnection, call_id: str, party: str) -> Call:
        """The call of which this connection's session is ``party``, or CALL_NOT_FOUND."""
        call = self.calls.find(call_id)
        if call is None:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        if party == Role.AGENT.value:
            mine = connection.role == Role.AGENT.value and call.agent_id == connection.principal_id
        else:
            mine = call.mobile_session_id == connection.session_id
        if not mine:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call

    def _node_call(self, node: WsConnection, call_id: str, *, recovery: bool = False) -> Call:
        """The call a node reports on, if it may (``vkyc.domain.media_facts.may_report``): the node
        that carries it, or (``recovery``) one asked to recover its recording. Otherwise raises
        MEDIA_NODE_NOT_ASSIGNED, having written nothing, and pushes ``media.close`` (``not_assigned``)
        to the node: media it holds for a call that is not its own must stop."""
        call = self.calls.find(call_id)
        if call is not None and media_facts.may_report(
            node.principal_id, call.media_node_id, call.recovery_node_ids or (), recovery=recovery
        ):
            return call
        log.warning("node %s reported on call %s, which is not its own", node.principal_id, call_id)
        self.notifier.send(
            node.connection_id, MediaClose(call_id=call_id, reason="not_assigned").model_dump(mode="json")
        )
        raise ProtocolError("MEDIA_NODE_NOT_ASSIGNED", call_id=call_id)

    def _store_none(self, call: Call, *, incomplete: bool) -> None:
        facts = RecordingFacts(key=None, size=0, duration_s=0.0, sha256=None, incomplete=incomplete)
        self._stored(call, call_media.store_recording(call.call_id, facts, self.clock()))

    def _stored(self, call: Call, stored: Call | None) -> None:
        """After a recording report: the node no longer holds an ended call (a live one stays listed, so
        that the node's loss still ends it: a node shutting down reports its calls first); a decided
        call gets its evidence bundle (the decision came first)."""
        current = stored or call
        if current.media_node_id and not is_live_call(current.direction, current.state):
            media_nodes.remove_call(current.media_node_id, current.call_id)
        if stored is not None and stored.decision:
            self.timers.schedule(EVIDENCE_TIMER, {"call_id": call.call_id}, 0)

    def _reply(self, call: Call, party: str | None, reply_to: ReplyTo, message: dict[str, Any]) -> None:
        """To the connection that asked; if it is gone (the party resumed on another socket), to where
        the party's session is now."""
        if self.notifier.send(reply_to.connection_id, message) or party is None:
            return
        session_id = call.agent_session_id if party == Role.AGENT.value else call.mobile_session_id
        session = self.sessions.find(session_id or "")
        if session is not None and session.connection_id and session.connection_id != reply_to.connection_id:
            self.notifier.send(session.connection_id, message)

    def _to_session(self, session_id: str | None, hint: str | None, message: dict[str, Any]) -> None:
        if hint and self.notifier.send(hint, message):
            return
        session = self.sessions.find(session_id or "")
        if session is not None and session.connection_id and session.connection_id != hint:
            self.notifier.send(session.connection_id, message)


def _is_answered(call: Call) -> bool:
    if call.direction == OUTBOUND:
        return call.state == CallbackState.ACCEPTED
    return CallState(call.state) in LIVE_STATES


def _check_sdp(sdp: str) -> None:
    """What signaling can tell of an SDP without parsing it: the node checks the rest."""
    if not sdp.startswith("v=0") or "\nm=" not in sdp:
        raise ProtocolError("MEDIA_BAD_SDP", "An SDP starts with v=0 and has at least one m= line.")


def _state_error(call: Call, hint: str) -> ProtocolError:
    return ProtocolError("MEDIA_CALL_STATE", f"The call is {call.state}. {hint}", call_id=call.call_id)


def _error(error: ProtocolError, request_id: str | None) -> dict[str, Any]:
    return {
        "action": "error",
        "code": error.code,
        "message": error.message,
        "request_id": request_id,
        "call_id": error.call_id,
    }


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
