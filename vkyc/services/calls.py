"""The inbound call, from the dealer's [Call] to the dossier's decision (issue #4).

Use cases: ``request`` (eligibility → a call waiting in its serving unit's queue → offered to an
agent), ``accept`` / ``reject`` / ``ring_timeout`` of an offer, ``cancel`` by the caller, ``hangup``
by either party, ``decide`` by the agent, ``queue_timeout``, ``dispatch`` (offer waiting calls when
an agent becomes available) and ``party_left`` (a session ended during a call). The media of a call
(issue #5, ``vkyc.services.media``) moves it through ``media_connected`` (A → CONNECTED),
``no_call_timeout`` (A → T) and ``end_for_media`` (the media node died); ``on_call_ended`` is told
after every path that ends a call, so its media node closes it.

Every change is one transaction over the items that move together (call, offer, agent, dossier,
sessions), with their logs; pushes and timers run after the commit. Events pushed: ``call.offer`` and
``offer.withdrawn`` to agents; ``call.queued``, ``call.ringing``, ``call.connected``,
``call.ended``, ``call.result`` to the mobile; ``call.ended`` to the agent.

Requests are counted (``bench/call_setup.py``): a signed message's ``seq`` is accepted inside the
action's transaction (``SeqTicket``), items whose keys are known are read together (``get_many``), and
a party is pushed to at the connection the call last saw it on before its session is looked up. A call
request that rings an agent at once costs 4 AWS requests up to the ring: the dossier, the free agents,
one transaction (the call created already ringing, the agent claimed, the offer, the dossier and the
caller's session), the push.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import CALL, CallEvent, CallState, EndedBy, EndReason
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierState
from vkyc.domain.eligibility import NotEligible
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.offer import OFFER, OfferEvent, OfferState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    CallConnected,
    CallDecided,
    CallEnded,
    CallOffer,
    CallQueued,
    CallRinging,
    Role,
)
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.offers import OfferRepository, call_of_offer, new_offer_id
from vkyc.repositories.sessions import SeqTicket, SessionRepository, session_touch
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier, Offer, Session, WsConnection
from vkyc.repositories.transitions import Change, Op, commit, plan, plan_create, plan_note
from vkyc.services.dossier_calls import call_placed, check_decision_allowed, dossier_view, result_message
from vkyc.services.media import EVIDENCE_TIMER, NO_CALL_TIMER
from vkyc.services.ports import Clock, Notifier, Timer, Timers, as_utc, utc_now

log = logging.getLogger("vkyc.calls")

RING_TIMER = "ring_timeout"
DISPATCH_TIMER = "dispatch"  # retry routing when an overflow group opens
QUEUE_TIMER = "queue_timeout"
NO_CALL_ARRIVED = "no_call_arrived"  # the reason of a call that ends T
WAITING = frozenset({CallState.NEW, CallState.REJECTED, CallState.MISSED})
LIVE = frozenset({CallState.ACCEPTED, CallState.CONNECTED, CallState.RECONNECTING})
UNANSWERED = WAITING | {CallState.RINGING}
READ_AHEAD_SIZE = 1_000  # dossiers kept between a mobile's hello and its call request, per container
MAX_CLAIM_ATTEMPTS = 6  # candidates tried when others claim the same agents at the same moment
TIMER_ATTEMPTS = 3  # a timer that loses a race looks again before leaving it to SQS's retry
CLAIM_SPREAD = 5  # after a lost claim, the next try picks at random among this many best candidates


class Eligibility(Protocol):
    def check(self, dossier: Dossier) -> None:
        """Raise a DomainError whose ``code`` is in the catalogue when no call may be placed."""
        ...


@dataclass(frozen=True)
class Route:
    """Where a call goes: computed once per call request from configuration (cached by the router)."""

    serving_unit_id: str
    queue_id: str | None
    ring_timeout_s: int
    queue_timeout_s: int


class Router(Protocol):
    def route(self, dossier: Dossier) -> Route: ...

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        """AVAILABLE agents that may take ``call`` now, best first (from the unit's index)."""
        ...

    def overflow_in(self, call: Call) -> float | None:
        """Seconds until an overflow group still closed to ``call`` opens, or None."""
        ...


@dataclass
class _Pushes:
    """Messages to send once the transaction committed."""

    items: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    freed_unit: str | None = None  # an agent went back to AVAILABLE: offer that unit's waiting calls

    def add(self, connection_id: str | None, message: dict[str, Any]) -> None:
        self.items.append((connection_id, message))


class CallService:
    def __init__(
        self,
        notifier: Notifier,
        timers: Timers,
        eligibility: Eligibility,
        router: Router,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.notifier = notifier
        self.timers = timers
        self.eligibility = eligibility
        self.router = router
        self.clock = clock
        self.calls = CallRepository()
        self.offers = OfferRepository()
        self.agents = AgentRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()
        # Dossiers read when their mobile session said hello, each used by one call request. A copy may
        # be stale: the request's transaction is conditioned on the dossier's version (a conflict reads
        # again), and a refusal is checked again on a fresh read.
        self._read_ahead: OrderedDict[str, Dossier] = OrderedDict()
        # Told after any path ended a call (``call.ended`` sent): its media node hangs up and finalizes
        # the recording (``MediaService.call_ended``; signaling wires it).
        self.on_call_ended: Callable[[Call, str], None] | None = None

    # -- the caller ------------------------------------------------------------------------------

    def request(
        self, connection: WsConnection, request_id: str, seq: SeqTicket | None = None, *, _retry: bool = True
    ) -> CallRinging | CallQueued:
        """Place the call of this mobile session's dossier: created ringing at the free agent idle
        longest (reply ``call.ringing``), else waiting in the queue (reply ``call.queued``). Raises
        ProtocolError, NotEligible (eligibility codes)."""
        dossier_id = connection.dossier_id or self._dossier_of_session(connection)
        read_ahead = self._read_ahead.pop(dossier_id, None)
        dossier = read_ahead or self.dossiers.get(dossier_id)
        try:
            self.eligibility.check(dossier)
        except NotEligible:
            if read_ahead is None:
                raise
            dossier = self.dossiers.get(dossier_id)
            self.eligibility.check(dossier)
        route = self.router.route(dossier)
        now = self.clock()
        call = Call(
            call_id=str(uuid.uuid4()),
            direction="in",
            unit_id=dossier.unit_id,
            serving_unit_id=route.serving_unit_id,
            dossier_id=dossier.dossier_id,
            queue_id=route.queue_id,
            subscriber=dossier.subscriber,
            customer_type=dossier.customer_type,
            sub_type=dossier.sub_type,
            dealer_channel=connection.dealer_channel,
            mobile_session_id=connection.session_id,
            mobile_connection_id=connection.connection_id,
            created_at=now,
        )
        with_call: list[Op] = [
            call_placed(dossier, call.call_id, connection.principal_id, note="call_requested"),
            *session_touch(connection.session_id, seq, call_id=call.call_id),
        ]
        try:
            rung = self._create(call, route, with_call, actor=connection.principal_id, request_id=request_id)
        except TransitionConflict as exc:
            if exc.kind != "dossier" or not _retry:
                raise
            # Another request of this dossier (or a decision) got there first: decide again on what
            # is stored now; eligibility then names the live call.
            return self.request(connection, request_id, seq, _retry=False)
        timers = [Timer(QUEUE_TIMER, {"call_id": call.call_id}, route.queue_timeout_s)]
        if rung is not None:
            agent, offer = rung
            # The ring goes out before the timers: it is what the caller waits for. A timer lost to a
            # crash in between is what the sweeper finds (an offer past its deadline).
            self._ring(agent, offer, call, dossier, route.ring_timeout_s)
            self.timers.schedule_many(
                [
                    *timers,
                    Timer(RING_TIMER, {"offer_id": offer.offer_id}, route.ring_timeout_s),
                    self._no_call_timer(call),
                ]
            )
            return CallRinging(request_id=request_id, call_id=call.call_id)
        self.timers.schedule_many([*timers, *self._overflow_timer(call)])
        return CallQueued(request_id=request_id, call_id=call.call_id, position=self._position(call))

    def read_ahead(self, dossier_id: str) -> None:
        """Read the dossier a mobile session will call for, off the path from [Call] to the ring (the
        dealer opens the eKYC screen, then presses Call)."""
        found = self.dossiers.find(dossier_id)
        if found is None:
            return
        self._read_ahead[dossier_id] = found
        if len(self._read_ahead) > READ_AHEAD_SIZE:
            self._read_ahead.popitem(last=False)

    def cancel(
        self, connection: WsConnection, call_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> CallEnded:
        """The caller gives up before an answer (E), in whichever not-yet-answered state the call is
        (queued, ringing, or between a reject or ring-out and the next offer): a ringing offer is
        withdrawn, the agent freed. Raises ILLEGAL_TRANSITION once the call was answered."""
        call = self._caller_gone(
            self._own_call(connection, call_id),
            actor=connection.principal_id,
            end_reason="caller_hung_up",
            request_id=request_id,
            extra=session_touch(connection.session_id, seq),
        )
        return CallEnded(
            request_id=request_id,
            call_id=call.call_id,
            state=call.state,
            reason="caller_hung_up",
            ended_by=EndedBy.MOBILE.value,
        )

    # -- the agent -----------------------------------------------------------------------------------

    def accept(
        self, connection: WsConnection, offer_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> CallConnected:
        offer, call, agent = self._offer_parts(connection, offer_id)
        now = self.clock()
        commit(
            plan(offer, OFFER, OfferEvent.ACCEPT, actor=agent.agent_id),
            plan(
                call,
                CALL,
                CallEvent.ACCEPT,
                actor=agent.agent_id,
                attrs={
                    "answered_at": now,
                    "agent_session_id": connection.session_id,
                    "agent_connection_id": connection.connection_id,
                },
            ),
            plan(agent, AGENT, AgentEvent.ACCEPT, actor=agent.agent_id),
            # The parties learn of each other's drops and resumes (SessionService tells the peer).
            *session_touch(
                connection.session_id, seq, call_id=call.call_id, peer_session_id=call.mobile_session_id
            ),
            *(
                session_touch(call.mobile_session_id, peer_session_id=connection.session_id)
                if call.mobile_session_id
                else []
            ),
            request_id=request_id,
            at=now,
        )
        connected = CallConnected(call_id=call.call_id, agent_id=agent.agent_id, agent_name=agent.name or "")
        self._to_mobile(call, connected.model_dump(mode="json"))
        return connected.model_copy(update={"request_id": request_id})

    def reject(
        self, connection: WsConnection, offer_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> None:
        """The agent declines: the call goes to the next agent, never back to this one."""
        offer, call, agent = self._offer_parts(connection, offer_id)
        self._end_offer(
            offer,
            OfferEvent.REJECT,
            CallEvent.REJECT,
            AgentEvent.REJECT,
            request_id=request_id,
            call=call,
            agent=agent,
            extra=session_touch(connection.session_id, seq),
        )

    def ring_timeout(self, offer_id: str) -> bool:
        """The offer rang out (M): the agent goes UNAVAILABLE, the call to the next agent. False when the
        offer was answered, rejected or withdrawn in time."""
        for attempt in range(TIMER_ATTEMPTS):
            offer = self.offers.find(offer_id)
            if offer is None or offer.state != OfferState.PENDING:
                return False
            try:
                self._end_offer(
                    offer,
                    OfferEvent.RING_TIMEOUT,
                    CallEvent.RING_TIMEOUT,
                    AgentEvent.RING_TIMEOUT,
                    request_id=f"ring-timeout:{offer_id}",
                )
            except (TransitionConflict, IllegalTransition):
                # Answered, rejected or cancelled at that moment (the call may already have moved when
                # it was read): look again; the winner usually settled everything.
                if attempt == TIMER_ATTEMPTS - 1:
                    raise  # still pending after several looks: SQS retries the timer
                continue
            return True
        return False

    def hangup(
        self, connection: WsConnection, call_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> CallEnded:
        call, agent = self._call_parts(connection, call_id)
        role = EndedBy.AGENT if connection.role == Role.AGENT.value else EndedBy.MOBILE
        self._finish(
            call,
            EndReason.COMPLETED,
            role,
            request_id=request_id,
            asked_by=connection.session_id,
            agent=agent,
            extra=session_touch(connection.session_id, seq),
        )
        return CallEnded(
            request_id=request_id,
            call_id=call.call_id,
            state=CallState.FINISHED.value,
            reason=EndReason.COMPLETED.value,
            ended_by=role.value,
        )

    def decide(
        self,
        connection: WsConnection,
        call_id: str,
        decision: str,
        reason: str,
        snapshot_id: str | None,
        request_id: str,
        seq: SeqTicket | None = None,
    ) -> CallDecided:
        """The agent decides the dossier (A, R, C, D) through the call they hold, if its evidence allows
        (``vkyc.domain.decision``: DECISION_NOT_ALLOWED, FACE_SNAPSHOT_REQUIRED, REASON_REQUIRED); one
        transaction moves the dossier, ends the call if it is still live, and frees the agent. The
        mobile receives ``call.result``."""
        call, found = self._call_parts(connection, call_id)
        if call.decision:
            raise ProtocolError("ILLEGAL_TRANSITION", f"The dossier was already decided ({call.decision}).")
        if found is None:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        agent = found
        check_decision_allowed(call, agent, decision, reason, snapshot_id)
        dossier = self.dossiers.get(call.dossier_id or "")
        now = self.clock()
        target = DossierState(decision)
        changes = [
            plan(
                dossier,
                DOSSIER,
                DECISION_EVENTS[target],
                actor=agent.agent_id,
                reason=reason or None,
                attrs={"decided_by": agent.agent_id, "snapshot_key": snapshot_id},
            )
        ]
        # Where the decision's evidence bundle will put its hash: the dossier's log entry of this move.
        call_attrs: dict[str, Any] = {
            "decision": decision,
            "decided_at": now,
            "decision_version": changes[0].new_version,
        }
        if CallState(call.state) in LIVE:  # decided during the call: it ends now, no wrap-up owed
            call_attrs.update(
                ended_at=now, end_reason=EndReason.COMPLETED.value, ended_by=EndedBy.AGENT.value
            )
            changes.append(plan(call, CALL, CallEvent.END, actor=agent.agent_id, attrs=call_attrs))
            agent_event = AgentEvent.RELEASE
        else:
            changes.append(plan_note(call, event="decided", actor=agent.agent_id, attrs=call_attrs))
            agent_event = AgentEvent.DECISION_SUBMITTED
        changes.append(
            plan(
                agent,
                AGENT,
                agent_event,
                actor=agent.agent_id,
                attrs={"call_id": None, "offer_id": None, "available_since": now},
            )
        )
        was_live = agent_event is AgentEvent.RELEASE
        commit(*changes, *session_touch(connection.session_id, seq), request_id=request_id, at=now)
        if was_live:
            self._tell_parties(call, EndReason.COMPLETED, EndedBy.AGENT, asked_by=connection.session_id)
            self._ended(call, EndReason.COMPLETED.value)
        self._to_mobile(call, result_message(call.call_id, decision, reason, dossier, snapshot_id))
        if call.media_node_id:
            # The bundle needs the recording too: built now if it is closed, else when it is (whichever
            # of the two comes last schedules it; the builder checks both and builds once).
            self.timers.schedule(EVIDENCE_TIMER, {"call_id": call.call_id}, 0)
        self.dispatch(agent.unit_id)
        return CallDecided(
            request_id=request_id,
            call_id=call.call_id,
            dossier_id=dossier.dossier_id,
            dossier_state=dossier.state,
        )

    # -- system ------------------------------------------------------------------------------------

    def queue_timeout(self, call_id: str) -> bool:
        """No agent took the call in time: it ends with NO_AGENT (a ringing offer is withdrawn)."""
        for attempt in range(TIMER_ATTEMPTS):
            call = self.calls.find(call_id)
            if call is None or CallState(call.state) not in WAITING | {CallState.RINGING}:
                return False
            try:
                self._end_unanswered(
                    call,
                    CallEvent.NO_AGENT,
                    actor="system",
                    ended_by=EndedBy.SYSTEM,
                    end_reason=EndReason.NO_AGENT.value,
                    request_id=f"queue-timeout:{call_id}",
                )
            except (TransitionConflict, IllegalTransition):
                # Offered, answered or cancelled at that very moment: look again.
                if attempt == TIMER_ATTEMPTS - 1:
                    raise  # SQS retries the timer
                continue
            break
        else:
            return False
        self._to_mobile(
            call,
            {
                "action": "error",
                "code": "NO_AGENT_AVAILABLE",
                "call_id": call.call_id,
                "message": "No agent is available right now.",
                "request_id": None,
            },
        )
        self._to_mobile(
            call,
            CallEnded(
                call_id=call.call_id,
                state=call.state,
                reason=EndReason.NO_AGENT.value,
                ended_by=EndedBy.SYSTEM.value,
            ).model_dump(mode="json"),
        )
        return True

    def dispatch(self, serving_unit_id: str) -> int:
        """Offer the unit's waiting calls, oldest first, while agents are free. Returns calls offered."""
        offered = 0
        queue = self.calls.waiting(serving_unit_id)
        for waiting in queue:
            call = self.calls.find(waiting.call_id)
            if call is None or CallState(call.state) not in WAITING:
                continue
            if not self._offer(call):
                break  # nobody free for the oldest call: nobody for the younger ones either
            offered += 1
        if offered:  # the ones still waiting moved up
            for index, waiting in enumerate(self.calls.waiting(serving_unit_id)):
                self._to_mobile(
                    waiting, CallQueued(call_id=waiting.call_id, position=index + 1).model_dump(mode="json")
                )
        return offered

    def party_left(self, session: Session, reason: str) -> None:
        """A session ended (grace expired, bye) while in a call: the call ends, or is given up."""
        call = self.calls.find(session.call_id or "")
        if call is None:
            return
        if session.role == Role.MOBILE.value and CallState(call.state) in UNANSWERED:
            try:
                self._caller_gone(
                    call,
                    actor="system",
                    end_reason=EndReason.MOBILE_LEFT.value,
                    request_id=f"left:{session.session_id}:{call.call_id}",
                )
                return
            except ProtocolError:  # answered at that very moment: it ends as a live call below
                call = self.calls.get(call.call_id)
        if CallState(call.state) in LIVE:
            end = (
                EndReason.GRACE_EXPIRED
                if reason == "grace_expired"
                else (EndReason.MOBILE_LEFT if session.role == Role.MOBILE.value else EndReason.AGENT_LEFT)
            )
            self._finish(
                call,
                end,
                EndedBy.SYSTEM,
                request_id=f"left:{session.session_id}:{call.call_id}",
                agent=self.agents.find(call.agent_id or ""),
                # The agent's own session ended (a bye during the call): nobody is at the desk.
                agent_event=AgentEvent.SESSION_LOST
                if session.role == Role.AGENT.value
                else AgentEvent.CALL_ENDED,
            )

    def party_dropped(self, session: Session) -> None:
        """A party's socket dropped during a live call: the call waits for it (RECONNECTING)."""
        call = self.calls.find(session.call_id or "")
        if call is None or call.state not in (CallState.ACCEPTED, CallState.CONNECTED):
            return
        commit(
            plan(call, CALL, CallEvent.PARTY_DROPPED, actor="system", reason=f"{session.role} dropped"),
            request_id=f"dropped:{session.session_id}:{session.generation}",
            at=self.clock(),
        )
        # A quick resume (the SDK retries within 50 ms) may have been handled, on another connection's
        # handler, before this commit: it then found the call not yet RECONNECTING and left it. Look
        # again, or the call would wait in RECONNECTING for a party that is back.
        current = self.sessions.find(session.session_id)
        if current is not None and current.state == "ACTIVE":
            self.party_resumed(current)

    def party_resumed(self, session: Session) -> None:
        """A party came back within the grace: the call goes on once no party is still away."""
        call = self.calls.find(session.call_id or "")
        if call is None or call.state != CallState.RECONNECTING:
            return
        for other_id in (call.mobile_session_id, call.agent_session_id):
            other = self.sessions.find(other_id or "") if other_id != session.session_id else None
            if other is not None and other.state != "ACTIVE":
                return  # the other party is still away
        commit(
            plan(call, CALL, CallEvent.PARTY_RESUMED, actor="system", reason=f"{session.role} resumed"),
            request_id=f"resumed:{session.session_id}:{session.version}",
            at=self.clock(),
        )

    # -- media (issue #5: ``vkyc.services.media`` calls these) ----------------------------------------

    def media_connected(self, call: Call) -> bool:
        """The call's media node reports both parties' media up: an answered call is connected (A →
        CONNECTED). ``call`` as the media use case just read it (the transition is conditioned on that
        version). False when the call is not waiting for its media (already connected, a party away,
        ended, a call-back)."""
        call_id = call.call_id
        if call.direction != "in" or call.state != CallState.ACCEPTED:
            return False
        try:
            commit(
                plan(
                    call,
                    CALL,
                    CallEvent.MEDIA_CONNECTED,
                    actor="media",
                    reason="both parties' media up",
                    attrs={"media_connected_at": self.clock()},
                ),
                request_id=f"media-connected:{call_id}",
                at=self.clock(),
            )
        except (TransitionConflict, IllegalTransition):
            return False  # a party dropped or hung up at that moment: the call moved on without it
        return True

    def _no_call_timer(self, call: Call) -> Timer:
        """The no-call timer of a ringing offer, sent with its ring timer (no request of its own): it
        looks again every ``no_call_arrived_s`` while the call rings, so it is due at most that long
        after the answer, whatever media the parties send (none included)."""
        limit = cached_settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
        return Timer(NO_CALL_TIMER, {"call_id": call.call_id}, limit)

    def no_call_timeout(self, call_id: str) -> bool:
        """The no-call timer: an answered call whose media never connected within ``no_call_arrived_s``
        of the answer ends T (``no_call_arrived``); the agent goes to WRAP_UP (a decision, e.g. D, may
        still be owed). Set with each offer's ring timer: while the call still rings it looks again
        after ``no_call_arrived_s``; once answered, a timer that fires early sets itself again for the
        rest. True if it ended the call."""
        for attempt in range(TIMER_ATTEMPTS):
            call = self.calls.find(call_id)
            if call is not None and call.state == CallState.RINGING:
                self.timers.schedule_many([self._no_call_timer(call)])
                return False
            if call is None or call.direction != "in" or call.state != CallState.ACCEPTED:
                return False  # waiting again (the next offer sets its own), connected, or ended
            now = self.clock()
            limit = cached_settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
            due = as_utc(call.answered_at) + timedelta(seconds=limit)
            if now < due - timedelta(seconds=1):
                rest = math.ceil((due - now).total_seconds())
                self.timers.schedule(NO_CALL_TIMER, {"call_id": call_id}, rest)
                return False
            changes = [
                plan(
                    call,
                    CALL,
                    CallEvent.NO_CALL_TIMEOUT,
                    actor="system",
                    reason=NO_CALL_ARRIVED,
                    attrs={"ended_at": now, "end_reason": NO_CALL_ARRIVED, "ended_by": EndedBy.SYSTEM.value},
                )
            ]
            agent = self.agents.find(call.agent_id or "")
            if agent is not None and agent.state == AgentState.IN_CALL and agent.call_id == call.call_id:
                changes.append(
                    plan(agent, AGENT, AgentEvent.CALL_ENDED, actor="system", reason=NO_CALL_ARRIVED)
                )
            try:
                commit(*changes, request_id=f"no-call:{call_id}", at=now)
            except (TransitionConflict, IllegalTransition):
                if attempt == TIMER_ATTEMPTS - 1:
                    raise
                continue  # the media came up or a party moved at that moment: look again
            ended = CallEnded(
                call_id=call.call_id, state=call.state, reason=NO_CALL_ARRIVED, ended_by=EndedBy.SYSTEM.value
            ).model_dump(mode="json")
            for role, session_id in (
                (Role.MOBILE, call.mobile_session_id),
                (Role.AGENT, call.agent_session_id),
            ):
                if session_id:
                    self._to_party(call, role, ended)
            self._ended(call, NO_CALL_ARRIVED)
            return True
        return False

    def end_for_media(self, call: Call, reason: str) -> bool:
        """End an answered call whose media broke (``reason``: an ``EndReason`` value, e.g.
        ``media_node_lost``): FINISHED, the agent to WRAP_UP, both parties told. False when it was no
        longer live."""
        for attempt in range(TIMER_ATTEMPTS):
            if CallState(call.state) not in LIVE:
                return False
            try:
                self._finish(
                    call,
                    EndReason(reason),
                    EndedBy.SYSTEM,
                    request_id=f"media:{reason}:{call.call_id}",
                    agent=self.agents.find(call.agent_id or ""),
                )
            except (TransitionConflict, IllegalTransition):
                if attempt == TIMER_ATTEMPTS - 1:
                    raise
                found = self.calls.find(call.call_id)
                if found is None:
                    return False
                call = found
                continue
            return True
        return False

    # -- internals ---------------------------------------------------------------------------------

    def _offer(self, call: Call) -> bool:
        """Claim the best free agent for ``call`` (AVAILABLE → RINGING, call → W, a PENDING offer), all
        in one transaction conditioned on each item's version; then ring them. False if nobody is free;
        True once it rang someone, or when the call moved meanwhile (no longer this attempt's to place)."""
        # Read once: the ring timeout comes from the dossier's route, and the popup shows the dossier.
        dossier = self.dossiers.get(call.dossier_id or "")
        ring_timeout_s = self.router.route(dossier).ring_timeout_s
        excluded = set(call.tried_agent_ids or ())
        for _ in range(MAX_CLAIM_ATTEMPTS):
            candidates = list(self.router.choose_agent(call, excluded))
            if not candidates:
                return False
            agent = _pick(candidates, excluded)
            now = self.clock()
            offer = _new_offer(call, agent, now, ring_timeout_s)
            try:
                commit(
                    plan(
                        call,
                        CALL,
                        CallEvent.OFFER,
                        actor="router",
                        attrs={"offer_id": offer.offer_id, "agent_id": agent.agent_id, "waiting_in": None},
                    ),
                    _claim(agent, call, offer),
                    plan_create(offer, OFFER, actor="router"),
                    request_id=f"offer:{offer.offer_id}",
                    at=now,
                )
            except TransitionConflict as exc:
                if exc.kind == "agent":  # someone else claimed that agent first: try the next one
                    excluded.add(agent.agent_id)
                    continue
                if exc.kind == "call":
                    # The call moved meanwhile (a concurrent dispatch offered it, the caller hung up):
                    # it is no longer this attempt's to place.
                    return True
                raise
            self._ring(agent, offer, call, dossier, ring_timeout_s)
            self.timers.schedule_many(
                [Timer(RING_TIMER, {"offer_id": offer.offer_id}, ring_timeout_s), self._no_call_timer(call)]
            )
            self._to_mobile(call, CallRinging(call_id=call.call_id).model_dump(mode="json"))
            return True
        return False

    def _create(
        self, call: Call, route: Route, with_call: Sequence[Op], *, actor: str, request_id: str
    ) -> tuple[Agent, Offer] | None:
        """Store the new ``call`` with ``with_call``, in one transaction: created ringing at the best
        free agent (claimed in the same transaction, with a PENDING offer), or waiting in its serving
        unit's queue when nobody may take it. Returns the agent and offer it rings, or None."""
        excluded: set[str] = set()
        candidates: list[Agent] = []
        for _ in range(MAX_CLAIM_ATTEMPTS):
            # A lost claim only tells that one agent is taken: the others read with it are tried
            # before the index is read again (a Query saved per lost claim, when callers crowd).
            candidates = [a for a in candidates if a.agent_id not in excluded] or list(
                self.router.choose_agent(call, excluded)
            )
            if not candidates:
                break
            agent = _pick(candidates, excluded)
            # Stamped after the agent was seen free: an agent's history never shows the new offer
            # before the end of the previous one (the request itself may have started earlier).
            now = self.clock()
            offer = _new_offer(call, agent, now, route.ring_timeout_s)
            call.offer_id, call.agent_id, call.waiting_in = offer.offer_id, agent.agent_id, None
            try:
                commit(
                    plan_create(call, CALL, actor=actor, reason="call requested", then=[CallEvent.OFFER]),
                    _claim(agent, call, offer),
                    plan_create(offer, OFFER, actor="router"),
                    *with_call,
                    request_id=request_id,
                    at=now,
                )
            except TransitionConflict as exc:
                if exc.kind == "agent":  # someone else claimed that agent first: try the next one
                    excluded.add(agent.agent_id)
                    continue
                raise
            return agent, offer
        call.offer_id, call.agent_id, call.waiting_in = None, None, route.serving_unit_id
        now = self.clock()
        commit(
            plan_create(call, CALL, actor=actor, reason="call requested"),
            *with_call,
            request_id=request_id,
            at=now,
        )
        return None

    def _ring(self, agent: Agent, offer: Offer, call: Call, dossier: Dossier, ring_timeout_s: int) -> None:
        """Push the offer to the agent's page (the ringing popup)."""
        ring = CallOffer(
            offer_id=offer.offer_id,
            call_id=call.call_id,
            ring_timeout_s=ring_timeout_s,
            expires_at_ms=int(offer.ring_deadline.timestamp() * 1000),
            dossier=dossier_view(dossier),
        )
        if not agent.connection_id or not self.notifier.send(
            agent.connection_id, ring.model_dump(mode="json")
        ):
            log.warning("agent %s could not be rung; the ring timer will move the call on", agent.agent_id)

    def _end_offer(
        self,
        offer: Offer,
        offer_event: OfferEvent,
        call_event: CallEvent,
        agent_event: AgentEvent,
        *,
        request_id: str,
        call: Call | None = None,
        agent: Agent | None = None,
        extra: Sequence[Op] = (),
    ) -> None:
        call = call or self.calls.get(offer.call_id)
        agent = agent or self.agents.get(offer.agent_id)
        now = self.clock()
        tried = set(call.tried_agent_ids or ()) | {agent.agent_id}
        agent_attrs: dict[str, Any] = {"call_id": None, "offer_id": None}
        if agent_event is AgentEvent.REJECT:
            agent_attrs["available_since"] = now
        commit(
            plan(offer, OFFER, offer_event, actor=agent.agent_id),
            plan(
                call,
                CALL,
                call_event,
                actor=agent.agent_id,
                attrs={
                    "tried_agent_ids": tried,
                    "offer_id": None,
                    "agent_id": None,
                    "waiting_in": call.serving_unit_id,
                },
            ),
            *self._agent_change(agent, offer, agent_event, agent_attrs),
            *extra,
            request_id=request_id,
            at=now,
        )
        if agent_event is AgentEvent.RING_TIMEOUT and agent.connection_id:
            self.notifier.send(
                agent.connection_id,
                {
                    "action": "offer.withdrawn",
                    "offer_id": offer.offer_id,
                    "call_id": call.call_id,
                    "reason": "rang_out",
                },
            )
            self.notifier.send(
                agent.connection_id,
                {
                    "action": "agent.status",
                    "agent_id": agent.agent_id,
                    "status": agent.state,
                    "since_ms": int(now.timestamp() * 1000),
                },
            )
        if not self._offer(call):
            commit(
                plan(call, CALL, CallEvent.REQUEUE, actor="router"),
                request_id=f"requeue:{request_id}",
                at=self.clock(),
            )
            self._to_mobile(
                call, CallQueued(call_id=call.call_id, position=self._position(call)).model_dump(mode="json")
            )
            self.timers.schedule_many(self._overflow_timer(call))
        if agent_event is AgentEvent.REJECT:
            self.dispatch(agent.unit_id)

    def _caller_gone(
        self, call: Call, *, actor: str, end_reason: str, request_id: str, extra: Sequence[Op] = ()
    ) -> Call:
        """End ``call`` E because its caller gave up, atomically against whatever moves it meanwhile:
        a reject or ring-out and the re-offer that follows commit between this read and this write, so a
        lost race reads the call again and ends it from its new state (withdrawing a new offer). The
        re-offer, conditioned on the version it read, then finds the call gone and rings nobody."""
        for attempt in range(MAX_CLAIM_ATTEMPTS):
            if CallState(call.state) not in UNANSWERED:
                raise ProtocolError(
                    "ILLEGAL_TRANSITION", f"The call is {call.state}: hang up instead.", call_id=call.call_id
                )
            try:
                self._end_unanswered(
                    call,
                    CallEvent.CALLER_HANGUP,
                    actor=actor,
                    ended_by=EndedBy.MOBILE,
                    end_reason=end_reason,
                    request_id=request_id,
                    extra=extra,
                )
            except (TransitionConflict, IllegalTransition):
                if attempt == MAX_CLAIM_ATTEMPTS - 1:
                    raise
                call = self.calls.get(call.call_id)
                continue
            break
        return call

    def _end_unanswered(
        self,
        call: Call,
        event: CallEvent,
        *,
        actor: str,
        ended_by: EndedBy,
        end_reason: str,
        request_id: str,
        extra: Sequence[Op] = (),
    ) -> None:
        """End a call no agent answered (caller hung up, queue timeout, caller gone): a ringing offer is
        withdrawn and its agent freed in the same transaction, then offered the unit's next call."""
        now = self.clock()
        pushes = _Pushes()
        changes = [
            plan(
                call,
                CALL,
                event,
                actor=actor,
                reason=end_reason,
                attrs={
                    "waiting_in": None,
                    "ended_at": now,
                    "ended_by": ended_by.value,
                    "end_reason": end_reason,
                },
            )
        ]
        changes += self._withdraw_offer(
            call, OfferEvent.CANCEL, AgentEvent.OFFER_WITHDRAWN, end_reason, pushes
        )
        commit(*changes, *extra, request_id=request_id, at=now)
        self._send(pushes)
        self._ended(call, end_reason)
        self._dispatch_freed(pushes)

    def _withdraw_offer(
        self, call: Call, offer_event: OfferEvent, agent_event: AgentEvent, reason: str, pushes: _Pushes
    ) -> list[Change]:
        """If ``call`` is ringing, plan the end of its offer and the agent's return to AVAILABLE."""
        if call.state != CallState.RINGING or not call.offer_id:
            return []
        offer = self.offers.get(call.offer_id)
        agent = self.agents.get(offer.agent_id)
        pushes.add(
            agent.connection_id,
            {
                "action": "offer.withdrawn",
                "offer_id": offer.offer_id,
                "call_id": call.call_id,
                "reason": reason,
            },
        )
        pushes.freed_unit = agent.unit_id
        return [
            plan(offer, OFFER, offer_event, actor="system", reason=reason),
            *self._agent_change(
                agent,
                offer,
                agent_event,
                {"call_id": None, "offer_id": None, "available_since": self.clock()},
                reason=reason,
            ),
        ]

    @staticmethod
    def _agent_change(
        agent: Agent, offer: Offer, event: AgentEvent, attrs: dict[str, Any], reason: str | None = None
    ) -> list[Change]:
        """The agent's move when ``offer`` ends, if the agent is still ringing for it. The sweeper, end of
        day or a lost session may have moved the agent on already: the offer and call still end."""
        if agent.state != AgentState.RINGING or agent.offer_id != offer.offer_id:
            return []
        return [plan(agent, AGENT, event, actor="system", reason=reason, attrs=attrs)]

    def _finish(
        self,
        call: Call,
        reason: EndReason,
        ended_by: EndedBy,
        *,
        request_id: str,
        agent: Agent | None,
        asked_by: str | None = None,
        extra: Sequence[Op] = (),
        agent_event: AgentEvent = AgentEvent.CALL_ENDED,
    ) -> None:
        """End a live call (FINISHED); ``agent`` (the call's, as read), if still in it, moves by
        ``agent_event`` (WRAP_UP; OFFLINE when it is the agent's own session that ended). ``call.ended``
        is pushed to every party but the session ``asked_by`` (it gets it as its reply)."""
        if CallState(call.state) not in LIVE:
            raise ProtocolError("ILLEGAL_TRANSITION", f"The call is {call.state}: nothing to hang up.")
        now = self.clock()
        event = CallEvent.GRACE_EXPIRED if reason is EndReason.GRACE_EXPIRED else CallEvent.END
        changes = [
            plan(
                call,
                CALL,
                event,
                actor=ended_by.value,
                reason=reason.value,
                attrs={"ended_at": now, "end_reason": reason.value, "ended_by": ended_by.value},
            )
        ]
        if agent is not None and agent.state == AgentState.IN_CALL and agent.agent_id == call.agent_id:
            changes.append(plan(agent, AGENT, agent_event, actor="system", reason=reason.value))
        commit(*changes, *extra, request_id=request_id, at=now)
        self._tell_parties(call, reason, ended_by, asked_by)
        self._ended(call, reason.value)

    def _ended(self, call: Call, reason: str) -> None:
        if self.on_call_ended is not None:
            self.on_call_ended(call, reason)

    def _tell_parties(self, call: Call, reason: EndReason, ended_by: EndedBy, asked_by: str | None) -> None:
        ended = CallEnded(
            call_id=call.call_id, state=call.state, reason=reason.value, ended_by=ended_by.value
        ).model_dump(mode="json")
        for role, session_id in ((Role.MOBILE, call.mobile_session_id), (Role.AGENT, call.agent_session_id)):
            if session_id and session_id != asked_by:
                self._to_party(call, role, ended)

    def _overflow_timer(self, call: Call) -> list[Timer]:
        """Nobody may take the call now: if an overflow group opens later, route again then."""
        delay = self.router.overflow_in(call)
        if delay is None:
            return []
        return [Timer(DISPATCH_TIMER, {"unit_id": call.serving_unit_id or ""}, max(1, math.ceil(delay)))]

    def _own_call(self, connection: WsConnection, call_id: str) -> Call:
        call = self.calls.find(call_id)
        mine = call is not None and (
            call.mobile_session_id == connection.session_id
            or (connection.role == Role.AGENT.value and call.agent_id == connection.principal_id)
        )
        if not mine:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        assert call is not None
        return call

    def _offer_parts(self, connection: WsConnection, offer_id: str) -> tuple[Offer, Call, Agent]:
        """This agent's PENDING offer, its call and the agent, in one read. Raises OFFER_NOT_FOUND."""
        call_id = call_of_offer(offer_id)
        if call_id is None:
            raise ProtocolError("OFFER_NOT_FOUND")
        offer, call, agent = get_many([Offer(offer_id), Call(call_id), Agent(connection.principal_id)])
        if (
            not isinstance(offer, Offer)
            or not isinstance(call, Call)
            or not isinstance(agent, Agent)
            or offer.agent_id != connection.principal_id
            or offer.state != OfferState.PENDING
        ):
            raise ProtocolError("OFFER_NOT_FOUND")
        return offer, call, agent

    def _call_parts(self, connection: WsConnection, call_id: str) -> tuple[Call, Agent | None]:
        """The party's own call and the call's agent (an agent asking: read together, one request)."""
        if connection.role != Role.AGENT.value:
            call = self._own_call(connection, call_id)
            return call, self.agents.find(call.agent_id or "")
        found, agent = get_many([Call(call_id), Agent(connection.principal_id)])
        if not isinstance(found, Call) or found.agent_id != connection.principal_id:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return found, agent if isinstance(agent, Agent) else None

    def _dossier_of_session(self, connection: WsConnection) -> str:
        # Connections stored before ``WsConnection.dossier_id`` existed: ask the session.
        session = self.sessions.get(connection.session_id)
        if not session.dossier_id:
            raise ProtocolError("CALL_NOT_FOUND", "This session has no dossier.")
        return session.dossier_id

    def _position(self, call: Call) -> int:
        ids = [c.call_id for c in self.calls.waiting(call.serving_unit_id or "")]
        return ids.index(call.call_id) + 1 if call.call_id in ids else 0

    def _to_mobile(self, call: Call, message: dict[str, Any]) -> None:
        self._to_party(call, Role.MOBILE, message)

    def _to_party(self, call: Call, role: Role, message: dict[str, Any]) -> None:
        """Push to the call's mobile or agent: at the connection the call last saw, else (that socket is
        gone: the party resumed on another, or left) wherever its session is now."""
        if role is Role.MOBILE:
            hint, session_id = call.mobile_connection_id, call.mobile_session_id
        else:
            hint, session_id = call.agent_connection_id, call.agent_session_id
        if hint and self.notifier.send(hint, message):
            return
        session = self.sessions.find(session_id or "")
        if session is not None and session.connection_id and session.connection_id != hint:
            self.notifier.send(session.connection_id, message)

    def _send(self, pushes: _Pushes) -> None:
        for connection_id, message in pushes.items:
            if connection_id:
                self.notifier.send(connection_id, message)

    def _dispatch_freed(self, pushes: _Pushes) -> None:
        if pushes.freed_unit:
            self.dispatch(pushes.freed_unit)


def _pick(candidates: Sequence[Agent], lost: Collection[str]) -> Agent:
    """The agent to claim: the best candidate (idle longest); after a lost claim, one of the next few
    at random. Simultaneous requests all see the same best agent: if each then tried the next best, they
    would collide again and again, one winner per round."""
    if not lost:
        return candidates[0]
    return random.choice(candidates[:CLAIM_SPREAD])


def _new_offer(call: Call, agent: Agent, now: datetime, ring_timeout_s: int) -> Offer:
    return Offer(
        offer_id=new_offer_id(call.call_id),
        call_id=call.call_id,
        agent_id=agent.agent_id,
        ring_deadline=now + timedelta(seconds=ring_timeout_s),
    )


def _claim(agent: Agent, call: Call, offer: Offer) -> Change:
    """The agent, as read from the index, goes AVAILABLE → RINGING: conditioned on that version, so two
    calls never claim one agent."""
    return plan(
        agent,
        AGENT,
        AgentEvent.OFFER,
        actor="router",
        attrs={"call_id": call.call_id, "offer_id": offer.offer_id},
    )
