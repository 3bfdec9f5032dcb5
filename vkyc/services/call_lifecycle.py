"""The steps every call takes, whichever its direction (``vkyc.domain.direction``): hang up, decide,
a party dropped, came back or left during the conversation, the media came up, no media came, the
media node died. An inbound call and a call-back differ in how they start and ring
(``vkyc.services.inbound_calls``, ``offers``, ``callbacks``); once answered they are the same call.

Each use case is one transaction over the items that move together (call, agent, dossier, the
caller's session for a message's ``seq``), with their logs, and returns its effects (``Effects``):
``call.ended`` to the parties, ``call.result`` to the mobile, the evidence timer, the events
``CallEnded`` (the media node closes the call) and ``AgentFreed`` (the unit's waiting calls).

Where the agent goes: the call's end moves an agent still holding it (IN_CALL on it) by the event the
caller gives: WRAP_UP (``CALL_ENDED``, a decision is owed), OFFLINE when it was the agent's own
session that ended (``SESSION_LOST``), AVAILABLE once decided (``RELEASE``, ``DECISION_SUBMITTED``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import EndedBy, EndReason
from vkyc.domain.direction import Direction, rules_of
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierState
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.session import SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import CallDecided, CallEnded, Role
from vkyc.repositories import call_media
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import LOST_OR_STALE, Commit, Settled, retry_on_conflict
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.sessions import SeqTicket, SessionRepository, session_touch
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Session, WsConnection
from vkyc.repositories.transitions import Change, Op, commit, plan, plan_note
from vkyc.services.dossier_calls import check_decision_allowed, result_message
from vkyc.services.effects import AgentFreed, Done, Effects
from vkyc.services.effects import CallEnded as CallEndedEvent
from vkyc.services.ports import Clock, as_utc, utc_now
from vkyc.services.timers import BuildEvidence, NoCallArrived

log = logging.getLogger("vkyc.calls")

NO_CALL_ARRIVED = "no_call_arrived"  # the end reason of an answered call whose media never came up
ATTEMPTS = 3  # a timer or hook that loses a race looks again before leaving it to its retry
# What a party is told when it hangs up a call that is not answered, by direction.
NOT_ANSWERED_HINT = {
    Direction.INBOUND: "hang up instead",
    Direction.OUTBOUND: "before the answer the agent cancels (callback.cancel) and the mobile declines "
    "(callback.decline)",
}


def holds(agent: Agent | None, call: Call) -> bool:
    """Whether ``call`` still holds ``agent`` (the sweeper, a lost session or another call may have
    moved them on)."""
    return agent is not None and agent.state == AgentState.IN_CALL and agent.call_id == call.call_id


def agent_move(agent: Agent, event: AgentEvent, reason: str | None, now: datetime, **attrs: Any) -> Change:
    """The agent's move by ``event``; back to AVAILABLE it holds no call and is idle from now (the
    routing order)."""
    if AGENT.transition(AgentState(agent.state), event) is AgentState.AVAILABLE:
        attrs = {"call_id": None, "offer_id": None, "available_since": now}
    return plan(agent, AGENT, event, actor="system", reason=reason, attrs=attrs or None)


def ended_message(
    call: Call, reason: str, ended_by: EndedBy, request_id: str | None = None
) -> dict[str, Any]:
    return CallEnded(
        request_id=request_id, call_id=call.call_id, state=call.state, reason=reason, ended_by=ended_by.value
    ).model_dump(mode="json")


class CallLifecycle:
    def __init__(
        self, *, clock: Clock = utc_now, settings: Callable[[str | None], CallSettings] = cached_settings
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.calls = CallRepository()
        self.agents = AgentRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()

    # -- the parties -------------------------------------------------------------------------------

    def hangup(
        self, connection: WsConnection, call_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> Done[CallEnded]:
        """Either party ends an answered call (``completed``): FINISHED or C, the agent to WRAP_UP.
        Raises CALL_NOT_FOUND (not the party's call), ILLEGAL_TRANSITION (not answered: the hint says
        what ends it instead, by direction)."""
        ended_by = EndedBy.AGENT if connection.role == Role.AGENT.value else EndedBy.MOBILE

        def end(party: tuple[Call, Agent | None]) -> Commit[Done[CallEnded]]:
            call, agent = party
            rules = rules_of(call.direction)
            if not rules.is_answered(call.state):
                raise ProtocolError(
                    "ILLEGAL_TRANSITION",
                    f"The call is {call.state}: {NOT_ANSWERED_HINT[rules.direction]}.",
                    call_id=call.call_id,
                )

            def write() -> Done[CallEnded]:
                effects = self.finish(
                    call,
                    agent,
                    EndReason.COMPLETED.value,
                    ended_by,
                    request_id=request_id,
                    asked_by=connection.session_id,
                    extra=session_touch(connection.session_id, seq),
                )
                reply = CallEnded(
                    request_id=request_id,
                    call_id=call.call_id,
                    state=call.state,
                    reason=EndReason.COMPLETED.value,
                    ended_by=ended_by.value,
                )
                return Done(reply, effects)

            return Commit(write)

        # A conflict: the media came up (A → CONNECTED) or a party moved at that moment: look again.
        return retry_on_conflict(lambda: self.party_call(connection, call_id), end, attempts=ATTEMPTS)

    def decide(
        self,
        connection: WsConnection,
        call_id: str,
        decision: str,
        reason: str,
        snapshot_id: str | None,
        request_id: str,
        seq: SeqTicket | None = None,
        *,
        after_call_work: bool = False,
    ) -> Done[CallDecided]:
        """The agent decides the dossier (A, R, C, D) through the call they hold, if its evidence allows
        (``vkyc.domain.decision``: DECISION_NOT_ALLOWED, FACE_SNAPSHOT_REQUIRED, REASON_REQUIRED). One
        transaction moves the dossier, ends the call if it is still answered (the agent AVAILABLE: no
        wrap-up owed) or notes the decision on it (the agent WRAP_UP → AVAILABLE). The mobile receives
        ``call.result``. ``after_call_work``: the agent stays WRAP_UP, holding no call, until they set
        themselves available (the sweeper leaves them there; end of day still applies). Raises
        CALL_NOT_FOUND, ILLEGAL_TRANSITION (already decided)."""
        call, agent = self.party_call(connection, call_id)
        if call.decision:
            raise ProtocolError(
                "ILLEGAL_TRANSITION", f"The dossier was already decided ({call.decision}).", call_id=call_id
            )
        if agent is None:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        check_decision_allowed(call, agent, decision, reason, snapshot_id)
        rules = rules_of(call.direction)
        dossier = self.dossiers.get(call.dossier_id or "")
        now = self.clock()
        changes = [
            plan(
                dossier,
                DOSSIER,
                DECISION_EVENTS[DossierState(decision)],
                actor=agent.agent_id,
                reason=reason or None,
                attrs={"decided_by": agent.agent_id, "snapshot_key": snapshot_id},
            )
        ]
        # Where the decision's evidence bundle will put its hash: the dossier's log entry of this move.
        decided = {"decision": decision, "decided_at": now, "decision_version": changes[0].new_version}
        release = {"call_id": None, "offer_id": None, "available_since": now}
        live = rules.is_answered(call.state)
        if live:  # decided during the call: it ends now, no wrap-up owed
            ended = {
                "ended_at": now,
                "end_reason": EndReason.COMPLETED.value,
                "ended_by": EndedBy.AGENT.value,
            }
            changes.append(
                plan(call, rules.machine, rules.end, actor=agent.agent_id, attrs={**decided, **ended})
            )
            if not after_call_work:
                changes.append(plan(agent, AGENT, AgentEvent.RELEASE, actor=agent.agent_id, attrs=release))
        else:
            changes.append(plan_note(call, event="decided", actor=agent.agent_id, attrs=decided))
            if not after_call_work:
                changes.append(
                    plan(agent, AGENT, AgentEvent.DECISION_SUBMITTED, actor=agent.agent_id, attrs=release)
                )
        if after_call_work:
            held = {"call_id": None, "offer_id": None, "after_call_work": True}
            changes.append(plan(agent, AGENT, AgentEvent.AFTER_CALL_WORK, actor=agent.agent_id, attrs=held))
        commit(*changes, *session_touch(connection.session_id, seq), request_id=request_id, at=now)
        effects = Effects()
        if live:
            effects.to_parties(
                call, ended_message(call, EndReason.COMPLETED.value, EndedBy.AGENT), but=connection.session_id
            )
            effects.event(CallEndedEvent(call, EndReason.COMPLETED.value))
        effects.to_mobile(call, result_message(call.call_id, decision, reason, dossier, snapshot_id))
        if call.media_node_id:
            # The bundle needs the recording too: built now if it is closed, else when it is (whichever
            # of the two comes last schedules it; the builder checks both and builds once).
            effects.timer(BuildEvidence(call_id=call.call_id).after(0))
        if not after_call_work:
            effects.event(AgentFreed(agent.unit_id))
        reply = CallDecided(
            request_id=request_id,
            call_id=call.call_id,
            dossier_id=dossier.dossier_id,
            dossier_state=dossier.state,
        )
        return Done(reply, effects)

    # -- ending an answered call ------------------------------------------------------------------------

    def finish(
        self,
        call: Call,
        agent: Agent | None,
        reason: str,
        ended_by: EndedBy,
        *,
        request_id: str,
        agent_event: AgentEvent = AgentEvent.CALL_ENDED,
        asked_by: str | None = None,
        extra: Sequence[Op] = (),
    ) -> Effects:
        """End an answered call (``reason``: an ``EndReason`` value or ``no_call_arrived``); ``agent``
        (the call's, as read), if it still holds the call, moves by ``agent_event``. ``call.ended`` goes
        to every party but the session ``asked_by`` (it gets it as its reply)."""
        rules = rules_of(call.direction)
        if not rules.is_answered(call.state):
            raise ProtocolError(
                "ILLEGAL_TRANSITION", f"The call is {call.state}: nothing to hang up.", call_id=call.call_id
            )
        now = self.clock()
        changes = [
            plan(
                call,
                rules.machine,
                rules.end_event(reason),
                actor=ended_by.value,
                reason=reason,
                attrs={"ended_at": now, "end_reason": reason, "ended_by": ended_by.value},
            )
        ]
        freed = None
        if holds(agent, call):
            assert agent is not None
            move = agent_move(agent, agent_event, reason, now)
            changes.append(move)
            if move.target == AgentState.AVAILABLE:
                freed = agent.unit_id
        commit(*changes, *extra, request_id=request_id, at=now)
        effects = Effects().to_parties(call, ended_message(call, reason, ended_by), but=asked_by)
        effects.event(CallEndedEvent(call, reason))
        if freed is not None:
            effects.event(AgentFreed(freed))
        return effects

    def end_for_media(self, call: Call, reason: str) -> Done[bool]:
        """End an answered call whose media broke (``reason``, e.g. ``media_node_lost``): the agent to
        WRAP_UP, both parties told. False when it was no longer answered."""

        def end(found: Call | None) -> Commit[Done[bool]] | Settled[Done[bool]]:
            if found is None or not rules_of(found.direction).is_answered(found.state):
                return Settled(Done(False))
            return Commit(
                lambda: Done(
                    True,
                    self.finish(
                        found,
                        self.agents.find(found.agent_id or ""),
                        reason,
                        EndedBy.SYSTEM,
                        request_id=f"media:{reason}:{found.call_id}",
                    ),
                )
            )

        # A conflict: the call moved at that moment: look again.
        as_read: Call | None = call
        return retry_on_conflict(
            lambda: self.calls.find(call.call_id),
            end,
            attempts=ATTEMPTS,
            conflicts=LOST_OR_STALE,
            first=as_read,
        )

    def no_call_timeout(self, call_id: str) -> Done[bool]:
        """The no-call timer: an answered call whose media never came up within ``no_call_arrived_s``
        of the answer ends (inbound ``T``, call-back ``C``; reason ``no_call_arrived``), the agent to
        WRAP_UP (D may still be decided). Sent with each ring timer: while the call rings it looks again
        after ``no_call_arrived_s``; once answered, a timer that fires early sets itself again for the
        rest. True if it ended the call."""

        def end(call: Call | None) -> Commit[Done[bool]] | Settled[Done[bool]]:
            if call is None:
                return Settled(Done(False))
            rules = rules_of(call.direction)
            limit = self.settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
            timer = NoCallArrived(call_id=call_id)
            if call.state in rules.ringing:
                return Settled(Done(False, Effects().timer(timer.after(limit))))
            if call.media_connected_at is not None or not rules.can(call.state, rules.no_call):
                # Waiting again (the next offer sets its own), connected, or ended.
                return Settled(Done(False))
            now = self.clock()
            due = as_utc(call.answered_at) + timedelta(seconds=limit)
            if now < due - timedelta(seconds=1):
                again = timer.after(math.ceil((due - now).total_seconds()))
                return Settled(Done(False, Effects().timer(again)))
            changes = [
                plan(
                    call,
                    rules.machine,
                    rules.no_call,
                    actor="system",
                    reason=NO_CALL_ARRIVED,
                    attrs={"ended_at": now, "end_reason": NO_CALL_ARRIVED, "ended_by": EndedBy.SYSTEM.value},
                )
            ]
            agent = self.agents.find(call.agent_id or "")
            if holds(agent, call):
                assert agent is not None
                changes.append(agent_move(agent, AgentEvent.CALL_ENDED, NO_CALL_ARRIVED, now))

            def write() -> Done[bool]:
                commit(*changes, request_id=f"no-call:{call_id}", at=now)
                effects = Effects().to_parties(call, ended_message(call, NO_CALL_ARRIVED, EndedBy.SYSTEM))
                return Done(True, effects.event(CallEndedEvent(call, NO_CALL_ARRIVED)))

            return Commit(write)

        # A conflict: the media came up or a party moved at that moment: look again.
        return retry_on_conflict(
            lambda: self.calls.find(call_id), end, attempts=ATTEMPTS, conflicts=LOST_OR_STALE
        )

    def media_up(self, call: Call) -> Done[bool]:
        """The node reports both parties' media up: the fact a decision to let the subscriber in rests
        on (``media_connected_at``, once), and an answered inbound call becomes CONNECTED (the stamp
        rides on that transition: no request more on the usual path). True if the call moved."""
        rules = rules_of(call.direction)
        if rules.can(call.state, rules.media_connected) and rules.media_connected is not None:
            try:
                commit(
                    plan(
                        call,
                        rules.machine,
                        rules.media_connected,
                        actor="media",
                        reason="both parties' media up",
                        attrs={"media_connected_at": self.clock()},
                    ),
                    request_id=f"media-connected:{call.call_id}",
                    at=self.clock(),
                )
                return Done(True)
            except (TransitionConflict, IllegalTransition):
                pass  # a party dropped or hung up at that moment: the call moved on; stamp the fact
        if call.media_connected_at is None and rules.is_answered(call.state):
            call_media.mark_media_connected(call.call_id, self.clock())
        return Done(False)

    # -- a party's session, during the conversation ---------------------------------------------------

    def party_dropped(self, session: Session, call: Call) -> Effects:
        """A party's socket dropped during the conversation: an inbound call waits for it
        (RECONNECTING); a call-back, which has no such state, notes it (the grace decides either way)."""
        rules = rules_of(call.direction)
        if not rules.is_answered(call.state) or call.state == rules.reconnecting:
            return Effects()
        request_id = f"dropped:{session.session_id}:{session.generation}"
        if rules.party_dropped is None:
            self._note(call, "party_dropped", session, request_id)
            return Effects()
        commit(
            plan(call, rules.machine, rules.party_dropped, actor="system", reason=f"{session.role} dropped"),
            request_id=request_id,
            at=self.clock(),
        )
        # A quick resume (the SDK retries within 50 ms) may have been handled, on another connection's
        # handler, before this commit: it then found the call not yet RECONNECTING and left it. Look
        # again, or the call would wait in RECONNECTING for a party that is back.
        current = self.sessions.find(session.session_id)
        if current is not None and current.state == SessionState.ACTIVE:
            self.party_resumed(current, call)
        return Effects()

    def party_resumed(self, session: Session, call: Call) -> Effects:
        """A party came back within the grace: the inbound call goes on once no party is still away; a
        call-back notes it."""
        rules = rules_of(call.direction)
        if rules.party_resumed is None:
            if rules.is_answered(call.state):
                self._note(call, "party_resumed", session, f"resumed:{session.session_id}:{session.version}")
            return Effects()
        if call.state != rules.reconnecting:
            return Effects()
        for other_id in (call.mobile_session_id, call.agent_session_id):
            other = self.sessions.find(other_id or "") if other_id != session.session_id else None
            if other is not None and other.state != SessionState.ACTIVE:
                return Effects()  # the other party is still away
        commit(
            plan(call, rules.machine, rules.party_resumed, actor="system", reason=f"{session.role} resumed"),
            request_id=f"resumed:{session.session_id}:{session.version}",
            at=self.clock(),
        )
        return Effects()

    def party_left(self, session: Session, call: Call, reason: str) -> Effects:
        """A party's session ended (grace expired, bye, revoked) during the conversation: the call ends
        (``grace_expired``, ``mobile_left`` or ``agent_left``); an agent whose own session it was goes
        OFFLINE (nobody is at the desk), otherwise to WRAP_UP."""
        is_agent = session.role == Role.AGENT.value
        if reason == "grace_expired":
            end = EndReason.GRACE_EXPIRED
        else:
            end = EndReason.AGENT_LEFT if is_agent else EndReason.MOBILE_LEFT
        try:
            return self.finish(
                call,
                self.agents.find(call.agent_id or ""),
                end.value,
                EndedBy.SYSTEM,
                request_id=f"left:{session.session_id}:{call.call_id}",
                agent_event=AgentEvent.SESSION_LOST if is_agent else AgentEvent.CALL_ENDED,
            )
        except TransitionConflict:
            log.info("call %s moved while %s left; nothing left to do", call.call_id, session.role)
            return Effects()

    # -- reading -----------------------------------------------------------------------------------

    def party_call(self, connection: WsConnection, call_id: str) -> tuple[Call, Agent | None]:
        """The call of which this connection's session is a party, and the call's agent (an agent
        asking: read together, one request). Raises CALL_NOT_FOUND (ids are not probed)."""
        if connection.role == Role.AGENT.value:
            found, agent = get_many([Call(call_id), Agent(connection.principal_id)])
            if not isinstance(found, Call) or found.agent_id != connection.principal_id:
                raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
            return found, agent if isinstance(agent, Agent) else None
        call = self.calls.find(call_id)
        if call is None or call.mobile_session_id != connection.session_id:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call, self.agents.find(call.agent_id or "")

    def _note(self, call: Call, event: str, session: Session, request_id: str) -> None:
        try:
            commit(
                plan_note(call, event=event, actor="system", reason=f"{session.role} {event}"),
                request_id=request_id,
                at=self.clock(),
            )
        except TransitionConflict:
            log.info("call %s moved meanwhile; %s not noted", call.call_id, event)
