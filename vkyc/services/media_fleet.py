"""The media nodes as a fleet: closing an ended call's media on its node, and what happens when a node
dies (issue #5).

- ``call_ended`` (the ``CallEnded`` event, whatever path ended the call): the node hangs up the media
  and closes the recording (``media.close``). Best effort: a node that cannot be reached closes it at
  its next ``media.sync``, or is lost.
- ``node_dropped`` / ``node_check`` / ``node_left`` / ``node_lost``: a node whose socket is gone for
  ``NODE_LOST_CHECK_S``, whose session ended, or whose heartbeat is 15 s old (the sweeper) is lost: its
  answered calls end ``media_node_lost`` with ``recording_incomplete``, callers still waiting are told
  ``MEDIA_NODE_LOST`` and offer again to another node, and the recordings are assembled by a live node
  from the parts the dead one left in S3 (``media.recover``). A node holding another ACTIVE session
  (it connected again under its id) is not lost by the drop or end of an older one, and a drop
  detaches the registration only from that session's socket. A lost node's calls stop counting as its
  load: from its next heartbeat the same id takes calls again.
- ``recover`` (the recovery timer): the node asked is written on the call first
  (``recovery_node_ids``: its report is then allowed), then ordered.

Orders whose delivery decides what happens next (``media.recover``) go straight through the notifier;
the rest is effects. Everything is idempotent: facts are written once, transitions are conditioned on
the state read, timers re-read before acting.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from vkyc.domain.call import EndReason
from vkyc.domain.direction import rules_of
from vkyc.domain.media import dead
from vkyc.domain.session import SessionState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import MediaClose, MediaRecover
from vkyc.repositories import call_media, media_nodes
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.tables import Call, Session
from vkyc.services.call_lifecycle import CallLifecycle
from vkyc.services.effects import Done, Effects
from vkyc.services.failures import error_message
from vkyc.services.ports import Clock, Notifier, as_utc, utc_now
from vkyc.services.timers import NodeCheck, RecordingRecover

log = logging.getLogger("vkyc.media")

NODE_LOST_CHECK_S = 3
"""A node's socket gone this long (not resumed) makes it lost: well within the parties' 15 s grace,
and long enough for the node's own reconnect after a blip (the SDK resumes within a second)."""
RECOVER_AFTER_S = 8
"""When the recording of a dead node's call is assembled, after the node was declared lost: its
newest part is then older than ``RECOVER_MIN_IDLE_S`` (it died at least ``NODE_LOST_CHECK_S`` before)."""
RECOVER_MIN_IDLE_S = 10
RECOVER_RETRY_S = 10
RECOVER_GIVE_UP = timedelta(hours=1)
MEDIA_NODE_LOST = EndReason.MEDIA_NODE_LOST.value


class MediaFleet:
    def __init__(self, nodes: Notifier, lifecycle: CallLifecycle, *, clock: Clock = utc_now) -> None:
        self.nodes = nodes  # orders to media nodes whose delivery decides what happens next
        self.lifecycle = lifecycle
        self.clock = clock
        self.calls = CallRepository()
        self.sessions = SessionRepository()

    def call_ended(self, call: Call, reason: str) -> Effects:
        """A call just ended (any path): its node hangs up the media and finalizes the recording."""
        if not call.media_node_id:
            return Effects()
        try:
            node = media_nodes.find(call.media_node_id)
        except Exception:  # the call has ended whatever happens here: never fail its use case
            log.exception("media.close of %s: node %s not read", call.call_id, call.media_node_id)
            return Effects()
        if node is None or not node.connection_id:
            return Effects()
        close = MediaClose(call_id=call.call_id, reason=reason)
        return Effects().to_connection(node.connection_id, close.model_dump(mode="json"))

    def node_dropped(self, session: Session) -> Effects:
        """A node's socket dropped: unreachable from now, lost unless it resumes (or connects again)
        within ``NODE_LOST_CHECK_S``. The registration forgets its socket only if that socket was this
        session's: the drop of an old socket, told late, leaves the node's new one alone."""
        node = media_nodes.find(session.principal_id)
        if node is not None and node.connection_id and node.session_id in (None, session.session_id):
            media_nodes.detach(node.node_id, node.connection_id)
        check = NodeCheck(
            node_id=session.principal_id, session_id=session.session_id, generation=session.generation
        )
        return Effects().timer(check.after(NODE_LOST_CHECK_S))

    def node_left(self, session: Session, reason: str) -> Effects:
        """A node's session ended (grace expired, bye, replaced): it is lost, unless the node holds
        another session already (it connected again under its id)."""
        if self._connected_elsewhere(session.principal_id, session.session_id):
            return Effects()
        return self.node_lost(session.principal_id, reason).effects

    def node_check(
        self, node_id: str, session_id: str | None = None, generation: int | None = None
    ) -> Done[bool]:
        """The node-check timer. With a session: lost if still detached from that drop. Without (the
        sweeper): lost if its heartbeat is older than 15 s. True when it declared the node lost."""
        if session_id is not None:
            session = self.sessions.find(session_id)
            if session is not None and (
                session.state == SessionState.ACTIVE or session.generation != generation
            ):
                return Done(False)  # resumed, or a later drop has a timer of its own
            if self._connected_elsewhere(node_id, session_id):
                return Done(False)  # connected again under its id: that session's fate decides
        else:
            node = media_nodes.find(node_id)
            if node is None or not dead(media_nodes.view(node), self.clock()):
                return Done(False)
        return self.node_lost(node_id, "media_node_lost")

    def node_lost(self, node_id: str, reason: str) -> Done[bool]:
        """End what the dead node carried (see the module docstring). Idempotent. True the first time."""
        node = media_nodes.find(node_id)
        if node is None:
            return Done(False)
        first = media_nodes.mark_lost(node_id, self.clock())
        if first:
            log.warning("media node %s is lost (%s): %d call(s)", node_id, reason, len(node.call_ids or ()))
        effects = Effects()
        for call in call_media.calls(sorted(node.call_ids or ())):
            if call.media_node_id != node_id or (
                call.recording_closed_at is not None and not rules_of(call.direction).is_live(call.state)
            ):
                media_nodes.remove_call(node_id, call.call_id)  # not (or no longer) its business
                continue
            try:
                effects += self._lost_call(call)
            except Exception:  # one call's failure must not keep the others live
                log.exception("ending call %s of lost node %s failed", call.call_id, node_id)
                continue
            # Ended or handed back: no longer the node's load (the same id connecting again carries
            # nothing; its recording is recovered by whichever node the recovery timer picks).
            media_nodes.remove_call(node_id, call.call_id)
        return Done(first, effects)

    def _connected_elsewhere(self, node_id: str, session_id: str) -> bool:
        """The node holds an ACTIVE session other than ``session_id``: it connected again."""
        return any(
            s.session_id != session_id and s.state == SessionState.ACTIVE
            for s in self.sessions.live_of_principal(node_id)
        )

    def recover(self, call_id: str) -> Done[bool]:
        """The recovery timer: a live node assembles the recording of a call whose node died. Retried
        every ``RECOVER_RETRY_S`` until it is stored (or for ``RECOVER_GIVE_UP``). True if asked."""
        call = self.calls.find(call_id)
        if call is None or call.recording_closed_at is not None:
            return Done(False)
        ended = as_utc(call.ended_at or call.updated_at or call.created_at)
        if self.clock() - ended > RECOVER_GIVE_UP:
            log.error(
                "giving up the recording of %s: no node recovered it within %s", call_id, RECOVER_GIVE_UP
            )
            return Done(False)
        retry = Effects().timer(RecordingRecover(call_id=call_id).after(RECOVER_RETRY_S))
        # Recovery is no call: any live node may do it, full or not; the least loaded does.
        now = self.clock()
        live = [n for n in media_nodes.all_nodes() if media_nodes.view(n).live(now)]
        if not live:
            return Done(False, retry)
        target = min(live, key=lambda n: (media_nodes.view(n).effective_load, n.node_id))
        # Written before the order: the node's report must find itself allowed (``PartyMedia._node_call``).
        if not call_media.add_recoverer(call_id, target.node_id):
            return Done(False)  # stored meanwhile
        push = MediaRecover(call_id=call_id, min_idle_s=RECOVER_MIN_IDLE_S)
        if not target.connection_id or not self.nodes.send(
            target.connection_id, push.model_dump(mode="json")
        ):
            return Done(False, retry)
        return Done(True)

    def _lost_call(self, call: Call) -> Effects:
        rules = rules_of(call.direction)
        recover = RecordingRecover(call_id=call.call_id).after(RECOVER_AFTER_S)
        if not rules.is_live(call.state):
            return Effects().timer(recover) if call.recording_closed_at is None else Effects()
        if rules.is_answered(call.state):
            if call.recording_closed_at is None:
                call_media.mark_incomplete(call.call_id)
            effects = self.lifecycle.end_for_media(call, MEDIA_NODE_LOST).effects
            return effects.timer(recover) if call.recording_closed_at is None else effects
        # Still waiting for an agent: the call goes on; the caller's next offer finds another node. What
        # the dead node recorded of the waiting (the caller alone) is discarded by that node.
        if call_media.release_node(call.call_id, call.media_node_id or ""):
            error = ProtocolError("MEDIA_NODE_LOST", call_id=call.call_id)
            return Effects().to_mobile(call, error_message(error))
        return Effects()
