"""The inbound call, from the dealer's [Call] to the dossier's decision (issue #4).

Use cases: ``request`` (eligibility → a call waiting in its serving unit's queue → offered to an
agent), ``accept`` / ``reject`` / ``ring_timeout`` of an offer, ``cancel`` by the caller, ``hangup``
by either party, ``decide`` by the agent, ``queue_timeout``, ``dispatch`` (offer waiting calls when
an agent becomes available) and ``party_left`` (a session ended during a call).

Every change is one transaction over the items that move together (call, offer, agent, dossier),
with their logs; pushes and timers run after the commit. Events pushed: ``call.offer`` and
``offer.withdrawn`` to agents; ``call.queued``, ``call.ringing``, ``call.connected``,
``call.ended``, ``call.result`` to the mobile; ``call.ended`` to the agent.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import CALL, CallEvent, CallState, EndedBy, EndReason
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState
from vkyc.domain.offer import OFFER, OfferEvent, OfferState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    CallConnected,
    CallDecided,
    CallEnded,
    CallOffer,
    CallQueued,
    DossierImagesView,
    DossierView,
    Role,
)
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.sessions import SessionRepository, link_call
from vkyc.repositories.tables import Agent, Call, Dossier, Offer, Session, WsConnection
from vkyc.repositories.transitions import Change, commit, plan, plan_create, plan_note
from vkyc.services.ports import Clock, Notifier, Timers, utc_now

log = logging.getLogger("vkyc.calls")

RING_TIMER = "ring_timeout"
DISPATCH_TIMER = "dispatch"  # retry routing when an overflow group opens
QUEUE_TIMER = "queue_timeout"
WAITING = frozenset({CallState.NEW, CallState.REJECTED, CallState.MISSED})
LIVE = frozenset({CallState.ACCEPTED, CallState.CONNECTED, CallState.RECONNECTING})
MAX_CLAIM_ATTEMPTS = 3  # candidates tried when others claim the same agents at the same moment


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

    # -- the caller ------------------------------------------------------------------------------

    def request(self, connection: WsConnection, request_id: str) -> CallQueued:
        """Place the call of this mobile session's dossier. Raises ProtocolError (eligibility codes)."""
        session = self.sessions.get(connection.session_id)
        if not session.dossier_id:
            raise ProtocolError("CALL_NOT_FOUND", "This session has no dossier.")
        dossier = self.dossiers.get(session.dossier_id)
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
            mobile_session_id=session.session_id,
            waiting_in=route.serving_unit_id,
            created_at=now,
        )
        changes: list[Change] = [plan_create(call, CALL, actor=session.principal_id, reason="call requested")]
        if dossier.state == DossierState.NEW:
            changes.append(plan(dossier, DOSSIER, DossierEvent.SUBMIT, actor=session.principal_id))
        elif dossier.state == DossierState.UNREACHABLE:
            changes.append(plan(dossier, DOSSIER, DossierEvent.RETRY, actor=session.principal_id))
        commit(*changes, request_id=request_id, at=now)
        link_call(session.session_id, call.call_id, peer_session_id=None)
        self.timers.schedule(QUEUE_TIMER, {"call_id": call.call_id}, route.queue_timeout_s)
        offered = self._offer(call, route.ring_timeout_s)
        if not offered:
            self._retry_at_overflow(call)
        position = 0 if offered else self._position(call)
        return CallQueued(request_id=request_id, call_id=call.call_id, position=position)

    def cancel(self, connection: WsConnection, call_id: str, request_id: str) -> CallEnded:
        """The caller gives up before an answer (E). A ringing offer is withdrawn, the agent freed."""
        call = self._own_call(connection, call_id)
        if CallState(call.state) not in WAITING | {CallState.RINGING}:
            raise ProtocolError("ILLEGAL_TRANSITION", f"The call is {call.state}: hang up instead.")
        self._end_unanswered(
            call,
            CallEvent.CALLER_HANGUP,
            actor=connection.principal_id,
            ended_by=EndedBy.MOBILE,
            end_reason="caller_hung_up",
            request_id=request_id,
        )
        return CallEnded(
            request_id=request_id,
            call_id=call.call_id,
            state=call.state,
            reason="caller_hung_up",
            ended_by=EndedBy.MOBILE.value,
        )

    # -- the agent -----------------------------------------------------------------------------------

    def accept(self, connection: WsConnection, offer_id: str, request_id: str) -> CallConnected:
        offer = self._own_offer(connection, offer_id)
        call = self.calls.get(offer.call_id)
        agent = self.agents.get(offer.agent_id)
        now = self.clock()
        commit(
            plan(offer, OFFER, OfferEvent.ACCEPT, actor=agent.agent_id),
            plan(
                call,
                CALL,
                CallEvent.ACCEPT,
                actor=agent.agent_id,
                attrs={"answered_at": now, "agent_session_id": connection.session_id},
            ),
            plan(agent, AGENT, AgentEvent.ACCEPT, actor=agent.agent_id),
            request_id=request_id,
            at=now,
        )
        # The parties learn of each other's drops and resumes (SessionService tells the peer).
        if call.mobile_session_id:
            link_call(call.mobile_session_id, call.call_id, peer_session_id=connection.session_id)
        link_call(connection.session_id, call.call_id, peer_session_id=call.mobile_session_id)
        connected = CallConnected(call_id=call.call_id, agent_id=agent.agent_id, agent_name=agent.name or "")
        self._to_mobile(call, connected.model_dump(mode="json"))
        return connected.model_copy(update={"request_id": request_id})

    def reject(self, connection: WsConnection, offer_id: str, request_id: str) -> None:
        """The agent declines: the call goes to the next agent, never back to this one."""
        offer = self._own_offer(connection, offer_id)
        self._end_offer(offer, OfferEvent.REJECT, CallEvent.REJECT, AgentEvent.REJECT, request_id=request_id)

    def ring_timeout(self, offer_id: str) -> bool:
        """The offer rang out (M): the agent goes UNAVAILABLE, the call to the next agent."""
        offer = self.offers.find(offer_id)
        if offer is None or offer.state != OfferState.PENDING:
            return False  # answered, rejected or withdrawn in time
        try:
            self._end_offer(
                offer,
                OfferEvent.RING_TIMEOUT,
                CallEvent.RING_TIMEOUT,
                AgentEvent.RING_TIMEOUT,
                request_id=f"ring-timeout:{offer_id}",
            )
        except TransitionConflict:
            # Answered, rejected or cancelled at the same moment: the winner already moved everything.
            log.info("ring timeout of %s lost a race; nothing left to do", offer_id)
            return False
        return True

    def hangup(self, connection: WsConnection, call_id: str, request_id: str) -> CallEnded:
        call = self._own_call(connection, call_id)
        role = EndedBy.AGENT if connection.role == Role.AGENT.value else EndedBy.MOBILE
        self._finish(call, EndReason.COMPLETED, role, request_id=request_id, asked_by=connection.session_id)
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
    ) -> CallDecided:
        """The agent decides the dossier (A, R, C, D); one transaction moves the dossier, ends the call if
        it is still live, and frees the agent. The mobile receives ``call.result``."""
        if decision != "A" and not reason.strip():
            raise ProtocolError("REASON_REQUIRED")
        call = self._own_call(connection, call_id)
        if call.decision:
            raise ProtocolError("ILLEGAL_TRANSITION", f"The dossier was already decided ({call.decision}).")
        dossier = self.dossiers.get(call.dossier_id or "")
        agent = self.agents.get(connection.principal_id)
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
        call_attrs: dict[str, Any] = {"decision": decision}
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
        commit(*changes, request_id=request_id, at=now)
        if was_live:
            self._tell_parties(call, EndReason.COMPLETED, EndedBy.AGENT, asked_by=connection.session_id)
        view = _dossier_view(dossier)
        self._to_mobile(
            call,
            {
                "action": "call.result",
                "call_id": call.call_id,
                "decision": decision,
                "reason": reason,
                "dossier": view.model_dump(mode="json"),
                "snapshot_id": snapshot_id,
            },
        )
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
        call = self.calls.find(call_id)
        if call is None or CallState(call.state) not in WAITING | {CallState.RINGING}:
            return False
        self._end_unanswered(
            call,
            CallEvent.NO_AGENT,
            actor="system",
            ended_by=EndedBy.SYSTEM,
            end_reason=EndReason.NO_AGENT.value,
            request_id=f"queue-timeout:{call_id}",
        )
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
        for waiting in self.calls.waiting(serving_unit_id):
            call = self.calls.find(waiting.call_id)
            if call is None or CallState(call.state) not in WAITING:
                continue
            route_ring = self._ring_timeout_s(call)
            if not self._offer(call, route_ring):
                break  # nobody free for the oldest call: nobody for the younger ones either
            offered += 1
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
        state = CallState(call.state)
        if session.role == Role.MOBILE.value and state in WAITING | {CallState.RINGING}:
            self._end_unanswered(
                call,
                CallEvent.CALLER_HANGUP,
                actor="system",
                ended_by=EndedBy.MOBILE,
                end_reason=EndReason.MOBILE_LEFT.value,
                request_id=f"left:{session.session_id}:{call.call_id}",
            )
        elif state in LIVE:
            end = (
                EndReason.GRACE_EXPIRED
                if reason == "grace_expired"
                else (EndReason.MOBILE_LEFT if session.role == Role.MOBILE.value else EndReason.AGENT_LEFT)
            )
            self._finish(call, end, EndedBy.SYSTEM, request_id=f"left:{session.session_id}:{call.call_id}")

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

    # -- internals ---------------------------------------------------------------------------------

    def _offer(self, call: Call, ring_timeout_s: int) -> bool:
        """Claim the best free agent for ``call`` (AVAILABLE → RINGING, call → W, a PENDING offer), all
        in one transaction conditioned on each item's version; then ring them. False if nobody is free;
        True once it rang someone, or when the call moved meanwhile (no longer this attempt's to place)."""
        excluded = set(call.tried_agent_ids or ())
        for _ in range(MAX_CLAIM_ATTEMPTS):
            candidates = list(self.router.choose_agent(call, excluded))
            if not candidates:
                return False
            agent = candidates[0]
            now = self.clock()
            offer = Offer(
                offer_id=str(uuid.uuid4()),
                call_id=call.call_id,
                agent_id=agent.agent_id,
                ring_deadline=now + timedelta(seconds=ring_timeout_s),
            )
            try:
                commit(
                    plan(
                        call,
                        CALL,
                        CallEvent.OFFER,
                        actor="router",
                        attrs={"offer_id": offer.offer_id, "agent_id": agent.agent_id, "waiting_in": None},
                    ),
                    plan(
                        agent,
                        AGENT,
                        AgentEvent.OFFER,
                        actor="router",
                        attrs={"call_id": call.call_id, "offer_id": offer.offer_id},
                    ),
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
            self.timers.schedule(RING_TIMER, {"offer_id": offer.offer_id}, ring_timeout_s)
            dossier = self.dossiers.get(call.dossier_id or "")
            ring = CallOffer(
                offer_id=offer.offer_id,
                call_id=call.call_id,
                ring_timeout_s=ring_timeout_s,
                expires_at_ms=int(offer.ring_deadline.timestamp() * 1000),
                dossier=_dossier_view(dossier),
            )
            if not agent.connection_id or not self.notifier.send(
                agent.connection_id, ring.model_dump(mode="json")
            ):
                log.warning(
                    "agent %s could not be rung; the ring timer will move the call on", agent.agent_id
                )
            self._to_mobile(call, {"action": "call.ringing", "call_id": call.call_id})
            return True
        return False

    def _end_offer(
        self,
        offer: Offer,
        offer_event: OfferEvent,
        call_event: CallEvent,
        agent_event: AgentEvent,
        *,
        request_id: str,
    ) -> None:
        call = self.calls.get(offer.call_id)
        agent = self.agents.get(offer.agent_id)
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
        if not self._offer(call, self._ring_timeout_s(call)):
            commit(
                plan(call, CALL, CallEvent.REQUEUE, actor="router"),
                request_id=f"requeue:{request_id}",
                at=self.clock(),
            )
            self._to_mobile(
                call, CallQueued(call_id=call.call_id, position=self._position(call)).model_dump(mode="json")
            )
            self._retry_at_overflow(call)
        if agent_event is AgentEvent.REJECT:
            self.dispatch(agent.unit_id)

    def _end_unanswered(
        self,
        call: Call,
        event: CallEvent,
        *,
        actor: str,
        ended_by: EndedBy,
        end_reason: str,
        request_id: str,
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
        commit(*changes, request_id=request_id, at=now)
        self._send(pushes)
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
        asked_by: str | None = None,
    ) -> None:
        """End a live call (FINISHED); the agent goes to WRAP_UP. ``call.ended`` is pushed to every party
        but the session ``asked_by`` (it gets it as its reply)."""
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
        agent = self.agents.find(call.agent_id or "")
        if agent is not None and agent.state == AgentState.IN_CALL:
            changes.append(plan(agent, AGENT, AgentEvent.CALL_ENDED, actor="system", reason=reason.value))
        commit(*changes, request_id=request_id, at=now)
        self._tell_parties(call, reason, ended_by, asked_by)

    def _tell_parties(self, call: Call, reason: EndReason, ended_by: EndedBy, asked_by: str | None) -> None:
        ended = CallEnded(
            call_id=call.call_id, state=call.state, reason=reason.value, ended_by=ended_by.value
        )
        for session_id in (call.mobile_session_id, call.agent_session_id):
            if not session_id or session_id == asked_by:
                continue
            session = self.sessions.find(session_id)
            if session is not None and session.connection_id:
                self.notifier.send(session.connection_id, ended.model_dump(mode="json"))

    def _retry_at_overflow(self, call: Call) -> None:
        """Nobody may take the call now: if an overflow group opens later, route again then."""
        delay = self.router.overflow_in(call)
        if delay is not None:
            self.timers.schedule(DISPATCH_TIMER, {"unit_id": call.serving_unit_id}, max(1, math.ceil(delay)))

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

    def _own_offer(self, connection: WsConnection, offer_id: str) -> Offer:
        offer = self.offers.find(offer_id)
        if offer is None or offer.agent_id != connection.principal_id or offer.state != OfferState.PENDING:
            raise ProtocolError("OFFER_NOT_FOUND")
        return offer

    def _position(self, call: Call) -> int:
        ids = [c.call_id for c in self.calls.waiting(call.serving_unit_id or "")]
        return ids.index(call.call_id) + 1 if call.call_id in ids else 0

    def _ring_timeout_s(self, call: Call) -> int:
        dossier = self.dossiers.get(call.dossier_id or "")
        return self.router.route(dossier).ring_timeout_s

    def _to_mobile(self, call: Call, message: dict[str, Any]) -> None:
        session = self.sessions.find(call.mobile_session_id or "")
        if session is not None and session.connection_id:
            self.notifier.send(session.connection_id, message)

    def _send(self, pushes: _Pushes) -> None:
        for connection_id, message in pushes.items:
            if connection_id:
                self.notifier.send(connection_id, message)

    def _dispatch_freed(self, pushes: _Pushes) -> None:
        if pushes.freed_unit:
            self.dispatch(pushes.freed_unit)


def _dossier_view(dossier: Dossier) -> DossierView:
    images = dossier.images
    customer = dossier.customer
    return DossierView(
        dossier_id=dossier.dossier_id,
        unit_id=dossier.unit_id,
        state=dossier.state,
        subscriber=dossier.subscriber,
        sub_type=dossier.sub_type,
        customer_type=dossier.customer_type,
        payment_type=dossier.payment_type,
        customer_name=getattr(customer, "name", None),
        id_number=getattr(customer, "id_number", None),
        dealer_account=dossier.dealer_account,
        images=DossierImagesView(
            id_front=getattr(images, "id_front_key", None),
            id_back=getattr(images, "id_back_key", None),
            portrait=getattr(images, "portrait_key", None),
        ),
    )
