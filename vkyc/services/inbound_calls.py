"""The inbound call before its answer: the dealer's [Call] (``request``: eligibility, then a call created
ringing at the agent idle longest, or waiting in its serving unit's queue), the caller giving up
(``cancel``, or its session ending), the queue timeout, and the dispatch of waiting calls when an agent
becomes available. The offer itself (accept, reject, ring-out) is ``vkyc.services.offers``; once
answered, the call follows ``vkyc.services.call_lifecycle``.

Requests are counted (``bench/call_setup.py``): a signed message's ``seq`` is accepted inside the
action's transaction (``SeqTicket``), and a call request that rings an agent at once costs 3 AWS
requests up to the ring: the free agents (the dossier was read when the mobile said hello), one
transaction (the call created already ringing, the agent claimed, the offer, the dossier and the
caller's session), the push.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from vkyc.domain.call import CALL, CallEvent, EndedBy, EndReason
from vkyc.domain.direction import INBOUND, Direction, rules_of
from vkyc.domain.eligibility import NotEligible
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import CallEnded, CallQueued, CallRinging
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import LOST_OR_STALE, Commit, Settled, retry_on_conflict
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.sessions import SeqTicket, SessionRepository, session_touch
from vkyc.repositories.tables import Call, Dossier, Session, WsConnection
from vkyc.repositories.transitions import Op, commit, plan
from vkyc.services.call_lifecycle import ended_message
from vkyc.services.claims import Claims, Router
from vkyc.services.dossier_calls import call_placed, new_call
from vkyc.services.effects import CallEnded as CallEndedEvent
from vkyc.services.effects import Done, Effects
from vkyc.services.failures import error_message
from vkyc.services.offers import Offers
from vkyc.services.ports import Clock, utc_now
from vkyc.services.timers import QueueTimeout

READ_AHEAD_SIZE = 1_000  # dossiers kept between a mobile's hello and its call request, per container
ATTEMPTS = 6  # looks at a call that moves under a cancel or a timer (a reject and a re-offer, say)
CALLER_HUNG_UP = "caller_hung_up"


class Eligibility(Protocol):
    def check(self, dossier: Dossier) -> None:
        """Raise a DomainError whose ``code`` is in the catalogue when no call may be placed."""
        ...


class InboundCalls:
    def __init__(
        self,
        eligibility: Eligibility,
        router: Router,
        claims: Claims,
        offers: Offers,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.eligibility = eligibility
        self.router = router
        self.claims = claims
        self.offers = offers
        self.clock = clock
        self.calls = CallRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()
        # Dossiers read when their mobile session said hello, each used by one call request. A copy may
        # be stale: the request's transaction is conditioned on the dossier's version (a conflict reads
        # again), and a refusal is checked again on a fresh read.
        self._read_ahead: OrderedDict[str, Dossier] = OrderedDict()

    # -- the caller ------------------------------------------------------------------------------

    def request(
        self, connection: WsConnection, request_id: str, seq: SeqTicket | None = None, *, _retry: bool = True
    ) -> Done[CallRinging | CallQueued]:
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
        call = new_call(
            dossier,
            Direction.INBOUND,
            route.serving_unit_id,
            self.clock(),
            queue_id=route.queue_id,
            dealer_channel=connection.dealer_channel,
            mobile_session_id=connection.session_id,
            mobile_connection_id=connection.connection_id,
        )
        with_call: list[Op] = [
            call_placed(dossier, call.call_id, connection.principal_id, note="call_requested"),
            *session_touch(connection.session_id, seq, call_id=call.call_id),
        ]
        try:
            rung = self.claims.create(
                call, route, dossier, with_call, actor=connection.principal_id, request_id=request_id
            )
        except TransitionConflict as exc:
            if exc.kind != "dossier" or not _retry:
                raise
            # Another request of this dossier (or a decision) got there first: decide again on what
            # is stored now; eligibility then names the live call.
            return self.request(connection, request_id, seq, _retry=False)
        queue_timer = QueueTimeout(call_id=call.call_id).after(route.queue_timeout_s)
        if rung is not None:
            # The ring goes out before the timers: it is what the caller waits for. A timer lost to a
            # crash in between is what the sweeper finds (an offer past its deadline).
            effects = self.claims.rung(rung, call)
            effects.timers.insert(0, queue_timer)
            return Done(CallRinging(request_id=request_id, call_id=call.call_id), effects)
        effects = Effects().timer(queue_timer, *self.claims.overflow_timer(call))
        reply = CallQueued(request_id=request_id, call_id=call.call_id, position=self.claims.position(call))
        return Done(reply, effects)

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
    ) -> Done[CallEnded]:
        """The caller gives up before an answer (E), in whichever not-yet-answered state the call is
        (queued, ringing, or between a reject or ring-out and the next offer): a ringing offer is
        withdrawn, the agent freed. Raises CALL_NOT_FOUND; ILLEGAL_TRANSITION once the call was
        answered, and for a call-back (declined with ``callback.decline``)."""
        call = self.calls.find(call_id)
        if call is None or call.mobile_session_id != connection.session_id:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        if rules_of(call.direction) is not INBOUND:
            raise ProtocolError(
                "ILLEGAL_TRANSITION",
                "A call-back ends with callback.decline, callback.cancel or call.hangup.",
                call_id=call_id,
            )
        done = self._caller_gone(
            call,
            actor=connection.principal_id,
            end_reason=CALLER_HUNG_UP,
            request_id=request_id,
            extra=session_touch(connection.session_id, seq),
        )
        ended = done.value
        reply = CallEnded(
            request_id=request_id,
            call_id=ended.call_id,
            state=ended.state,
            reason=CALLER_HUNG_UP,
            ended_by=EndedBy.MOBILE.value,
        )
        return Done(reply, done.effects)

    def caller_left(self, session: Session, call: Call) -> Done[bool]:
        """The caller's session ended (grace expired, bye) before an answer: the call ends E
        (``mobile_left``). False when it was answered at that very moment (it then ends as any answered
        call whose party left)."""
        try:
            done = self._caller_gone(
                call,
                actor="system",
                end_reason=EndReason.MOBILE_LEFT.value,
                request_id=f"left:{session.session_id}:{call.call_id}",
            )
        except ProtocolError:
            return Done(False)
        return Done(True, done.effects)

    # -- system ------------------------------------------------------------------------------------

    def queue_timeout(self, call_id: str) -> Done[bool]:
        """No agent took the call in time: it ends with NO_AGENT (a ringing offer is withdrawn); the
        caller is told ``NO_AGENT_AVAILABLE`` and ``call.ended``."""

        def end(call: Call | None) -> Commit[Done[bool]] | Settled[Done[bool]]:
            if call is None or call.state not in INBOUND.waiting:
                return Settled(Done(False))

            def write() -> Done[bool]:
                effects = self._end_unanswered(
                    call,
                    CallEvent.NO_AGENT,
                    actor="system",
                    ended_by=EndedBy.SYSTEM,
                    end_reason=EndReason.NO_AGENT.value,
                    request_id=f"queue-timeout:{call_id}",
                )
                no_agent = ProtocolError("NO_AGENT_AVAILABLE", call_id=call.call_id)
                effects.to_mobile(call, error_message(no_agent))
                effects.to_mobile(call, ended_message(call, EndReason.NO_AGENT.value, EndedBy.SYSTEM))
                return Done(True, effects)

            return Commit(write)

        # A conflict: offered, answered or cancelled at that very moment: look again; after the last
        # look the conflict is raised and SQS retries the timer.
        return retry_on_conflict(
            lambda: self.calls.find(call_id), end, attempts=ATTEMPTS, conflicts=LOST_OR_STALE
        )

    def dispatch(self, serving_unit_id: str) -> Done[int]:
        """Offer the unit's waiting calls, oldest first, while agents are free. Returns calls offered;
        the callers behind are told their new position."""
        offered = 0
        effects = Effects()
        for waiting in self.calls.waiting(serving_unit_id):
            call = self.calls.find(waiting.call_id)
            if call is None or call.state not in INBOUND.waiting - INBOUND.ringing:
                continue
            if self.claims.exhausted(call):  # its queue timeout is due now: it holds up nobody
                continue
            done = self.claims.offer(call)
            effects += done.effects
            if not done.value:
                break  # nobody free for the oldest call: nobody for the younger ones either
            offered += 1
        if offered:  # the ones still waiting moved up
            for index, waiting in enumerate(self.calls.waiting(serving_unit_id)):
                queued = CallQueued(call_id=waiting.call_id, position=index + 1)
                effects.to_mobile(waiting, queued.model_dump(mode="json"))
        return Done(offered, effects)

    # -- internals ---------------------------------------------------------------------------------

    def _caller_gone(
        self, call: Call, *, actor: str, end_reason: str, request_id: str, extra: Sequence[Op] = ()
    ) -> Done[Call]:
        """End ``call`` E because its caller gave up, atomically against whatever moves it meanwhile:
        a reject or ring-out and the re-offer that follows commit between this read and this write, so a
        lost race reads the call again and ends it from its new state (withdrawing a new offer). The
        re-offer, conditioned on the version it read, then finds the call gone and rings nobody."""

        def end(current: Call) -> Commit[Done[Call]]:
            if current.state not in INBOUND.waiting:
                raise ProtocolError(
                    "ILLEGAL_TRANSITION",
                    f"The call is {current.state}: hang up instead.",
                    call_id=current.call_id,
                )
            return Commit(
                lambda: Done(
                    current,
                    self._end_unanswered(
                        current,
                        CallEvent.CALLER_HANGUP,
                        actor=actor,
                        ended_by=EndedBy.MOBILE,
                        end_reason=end_reason,
                        request_id=request_id,
                        extra=extra,
                    ),
                )
            )

        return retry_on_conflict(
            lambda: self.calls.get(call.call_id), end, attempts=ATTEMPTS, conflicts=LOST_OR_STALE, first=call
        )

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
    ) -> Effects:
        """End a call no agent answered (caller hung up, queue timeout, caller gone): a ringing offer is
        withdrawn and its agent freed in the same transaction, then offered the unit's next call."""
        now = self.clock()
        change = plan(
            call,
            CALL,
            event,
            actor=actor,
            reason=end_reason,
            attrs={"waiting_in": None, "ended_at": now, "ended_by": ended_by.value, "end_reason": end_reason},
        )
        withdrawn, effects = self.offers.withdraw(call, end_reason)
        commit(change, *withdrawn, *extra, request_id=request_id, at=now)
        # The freeing of the agent comes after the call's end: the media node closes it first.
        freed = effects.events
        effects.events = [CallEndedEvent(call, end_reason), *freed]
        return effects

    def _dossier_of_session(self, connection: WsConnection) -> str:
        # Connections stored before ``WsConnection.dossier_id`` existed: ask the session.
        session = self.sessions.get(connection.session_id)
        if not session.dossier_id:
            raise ProtocolError("CALL_NOT_FOUND", "This session has no dossier.")
        return session.dossier_id
