"""The call-back (agent → mobile) before its answer: ``start``, the agent's ``cancel``, the mobile's
``accept`` and ``decline``, the ring timeout, and the agent's session ending while it rings. Once
answered, a call-back follows ``vkyc.services.call_lifecycle`` like an inbound call (``call.hangup``,
``call.decide``, the parties' drops, the no-call timer). The device registration a call-back needs is
``vkyc.services.devices``.

States (``vkyc.domain.callback``) and what moves them:

- ``N`` ringing at the mobile: ``start`` (one transaction: the call-back created, the agent AVAILABLE or
  WRAP_UP → IN_CALL, the dossier pointed at it, N or D → W as for an inbound call);
- ``A`` answered: ``accept`` by the mobile;
- ``C`` ended after the answer (``vkyc.services.call_lifecycle``);
- ``E`` the agent hung up before the answer: ``cancel``, or the agent's session ended while ringing;
- ``T`` not answered: ``ring_timeout`` (``callback_timeout_s``) or ``decline`` by the mobile;
- ``I`` no device registered for the subscriber: recorded by ``start``, which then refuses with
  ``DEVICE_NOT_REGISTERED`` naming it; the agent holds it in WRAP_UP (``CALLBACK_NOT_PLACED``);
- ``F`` the sweeper released it (``vkyc.services.housekeeping``).

Checks of ``start``, in order, each refusing with its code and writing nothing: the agent exists
(``AGENT_FROM_NOT_FOUND``), the dossier exists and is served by the agent's unit (``NOT_FOUND``), the
agent's unit has a hotline (``FROM_NUMBER_NOT_FOUND``) that allows call-out for one of the agent's
groups (``FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT``), the subscriber is not blacklisted
(``TO_NUMBER_NOT_ALLOWS_CALLOUT``), the dossier is not decided, in post-audit or for the counter
(``DOSSIER_ALREADY_APPROVED``, ``DOSSIER_REJECTED``, ``DOSSIER_IN_POST_AUDIT``,
``KYC_AT_COUNTER_REQUIRED``, as for an inbound call), no other call of the dossier is live
(``CALL_IN_PROGRESS``), the agent is free (``AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL`` while ringing or in a
call, ``ILLEGAL_TRANSITION`` when not available); then a missing registration gives state ``I``.

Where the agent goes at the end: WRAP_UP holding the call-back when it was not answered (T, I: "the
customer is unreachable", D, may be decided through it; ``agent.set_status available`` or the wrap-up
limit ends that) or after an answered call-back (the decision is owed, as after an inbound call); back
to where they started it from when they cancelled it themselves (AVAILABLE, or WRAP_UP holding again
the call they were wrapping up: ``agent_held_before``); OFFLINE when their own session ended.

Events pushed: ``callback.incoming`` to the mobile; ``call.connected`` to the agent; ``call.ended`` to
the parties.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import EndedBy, EndReason
from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState
from vkyc.domain.direction import (
    OUTBOUND,
    Direction,
    direction_of_id,
    is_live_call,
    rules_of,
)
from vkyc.domain.eligibility import check_dossier_state
from vkyc.domain.session import SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import CallbackIncoming, CallbackRinging, CallConnected, CallEnded, Role
from vkyc.repositories import devices
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.callouts import CONFIG_TTL_S, CallOutLine, CallOutRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.routing import RoutingRepository
from vkyc.repositories.sessions import SessionRepository, link_call
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier, Session, WsConnection
from vkyc.repositories.transitions import Change, commit, plan, plan_create
from vkyc.services.call_lifecycle import agent_move, ended_message, holds
from vkyc.services.dossier_calls import call_placed, new_call
from vkyc.services.effects import AgentFreed, Done, Effects
from vkyc.services.effects import CallEnded as CallEndedEvent
from vkyc.services.eligibility import facts_of
from vkyc.services.ports import Clock, as_utc, utc_now
from vkyc.services.timers import CallbackRingTimeout, NoCallArrived

log = logging.getLogger("vkyc.callbacks")

# ``call.ended`` reasons of a call-back besides the inbound call's ``EndReason`` values.
AGENT_CANCELLED = "agent_cancelled"
DECLINED = "declined"
NO_ANSWER = "no_answer"
DEVICE_NOT_REGISTERED = "device_not_registered"


def is_callback(call_id: str | None) -> bool:
    """Whether ``call_id`` names a call-back (not an inbound call): decided by its form, no read."""
    return direction_of_id(call_id) is Direction.OUTBOUND


class Callbacks:
    """The call-back use cases before the answer; see the module docstring for states and checks.
    ``settings(unit_id)`` gives a unit's settings (default: the per-process cache)."""

    def __init__(
        self,
        *,
        settings: Callable[[str], CallSettings] = cached_settings,
        routing: RoutingRepository | None = None,
        callouts: CallOutRepository | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        # Configuration is cached per process, as routing's (tests shorten it with the same variable).
        ttl_s = float(os.environ.get("VKYC_CONFIG_CACHE_S", CONFIG_TTL_S))
        self.routing = routing or RoutingRepository(ttl_s=ttl_s)
        self.callouts = callouts or CallOutRepository(ttl_s=ttl_s)
        self.clock = clock
        self.calls = CallRepository()
        self.agents = AgentRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()

    # -- the agent ----------------------------------------------------------------------------------

    def start(self, connection: WsConnection, dossier_id: str, request_id: str) -> Done[CallbackRinging]:
        """Call the customer of ``dossier_id`` back; see the module docstring for the checks. Rings the
        registered device's session (``callback.incoming``) if it is connected, with the ring timer.
        Raises ProtocolError; ``DEVICE_NOT_REGISTERED`` after recording the call-back in I."""
        agent = self.agents.find(connection.principal_id)
        if agent is None:
            raise ProtocolError("AGENT_FROM_NOT_FOUND")
        dossier = self.dossiers.find(dossier_id)
        # A dossier of a unit this agent does not serve is answered as missing: nothing is disclosed.
        if dossier is None or self.routing.serving_unit(dossier.unit_id) != agent.unit_id:
            raise ProtocolError("NOT_FOUND", f"No dossier {dossier_id} among those your unit serves.")
        hotline = self._call_out_line(agent)
        if dossier.subscriber and self.settings(dossier.unit_id).is_blacklisted(dossier.subscriber):
            raise ProtocolError("TO_NUMBER_NOT_ALLOWS_CALLOUT", f"{dossier.subscriber} is on the blacklist.")
        check_dossier_state(facts_of(dossier))
        # Calls of a dossier follow one another (``last_call_id``): only its latest can still be live.
        latest = self.calls.find(dossier.last_call_id or "")
        if latest is not None and is_live_call(latest.direction, latest.state):
            raise ProtocolError("CALL_IN_PROGRESS", call_id=latest.call_id)
        state = AgentState(agent.state)
        if state in (AgentState.RINGING, AgentState.IN_CALL):
            raise ProtocolError(
                "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL", "You are ringing or in a call: finish it first."
            )
        if not AGENT.can(state, AgentEvent.CALLBACK_STARTED):
            raise ProtocolError("ILLEGAL_TRANSITION", f"You are {state.value}: set yourself available first.")
        now = self.clock()
        timeout_s = self.settings(agent.unit_id).callback_timeout_s
        call = new_call(
            dossier,
            Direction.OUTBOUND,
            agent.unit_id,
            now,
            hotline_id=hotline.hotline_id,
            agent_id=agent.agent_id,
            agent_session_id=connection.session_id,
        )
        call.agent_started_from = agent.state
        call.agent_held_before = agent.call_id if agent.state == AgentState.WRAP_UP else None
        registration = devices.find_registration(dossier.unit_id, dossier.subscriber)
        if registration is None:
            self._not_registered(call, agent, dossier, request_id, now)
        mobile = self.sessions.find(registration.session_id or "")
        live_mobile = mobile if mobile is not None and mobile.state != SessionState.ENDED else None
        call.device_id = registration.device_id
        call.mobile_session_id = live_mobile.session_id if live_mobile is not None else None
        call.ring_deadline = now + timedelta(seconds=timeout_s)
        changes: list[Change] = [
            plan_create(call, CALLBACK, actor=agent.agent_id, reason="call-back started"),
            plan(
                agent,
                AGENT,
                AgentEvent.CALLBACK_STARTED,
                actor=agent.agent_id,
                attrs={"call_id": call.call_id, "offer_id": None},
            ),
            call_placed(dossier, call.call_id, agent.agent_id, note="callback_started"),
        ]
        commit(*changes, request_id=request_id, at=now)
        link_call(connection.session_id, call.call_id, peer_session_id=None)
        incoming = incoming_message(call, agent, now)
        online = bool(
            live_mobile is not None and live_mobile.state == SessionState.ACTIVE and live_mobile.connection_id
        )
        effects = Effects()
        if online:
            assert live_mobile is not None
            effects.to_connection(live_mobile.connection_id, incoming.model_dump(mode="json"))
        # The no-call timer rides along (as for an inbound call): it looks again every
        # ``no_call_arrived_s`` while the call-back rings, so it is due at most that long after the answer.
        no_call_s = self.settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
        effects.timer(
            CallbackRingTimeout(call_id=call.call_id).after(timeout_s),
            NoCallArrived(call_id=call.call_id).after(no_call_s),
        )
        reply = CallbackRinging(
            request_id=request_id,
            call_id=call.call_id,
            dossier_id=dossier.dossier_id,
            ring_timeout_s=timeout_s,
            expires_at_ms=incoming.expires_at_ms,
            mobile_online=online,
        )
        return Done(reply, effects)

    def cancel(self, connection: WsConnection, call_id: str, request_id: str) -> Done[CallEnded]:
        """The agent hangs up before the answer (N → E, reason ``agent_cancelled``)."""
        call = self._agents(connection, call_id)
        self._expect(call, CallbackState.NEW, "It was answered (hang up with call.hangup) or has ended.")
        effects = self._end_unanswered(
            call,
            CallbackEvent.CANCEL,
            AGENT_CANCELLED,
            EndedBy.AGENT,
            actor=connection.principal_id,
            request_id=request_id,
            asked_by=connection.session_id,
        )
        return Done(_ended(call, AGENT_CANCELLED, EndedBy.AGENT, request_id), effects)

    # -- the mobile ------------------------------------------------------------------------------

    def accept(self, connection: WsConnection, call_id: str, request_id: str) -> Done[CallConnected]:
        """The mobile answers (N → A). The parties become each other's peers; the agent is told."""
        call = self._mobiles(connection, call_id)
        self._expect(call, CallbackState.NEW, "It was answered or has ended.")
        agent = self.agents.find(call.agent_id or "")
        now = self.clock()
        commit(
            plan(
                call,
                CALLBACK,
                CallbackEvent.ACCEPT,
                actor=connection.principal_id,
                attrs={"answered_at": now, "mobile_session_id": connection.session_id},
            ),
            request_id=request_id,
            at=now,
        )
        # As for an inbound call: each party learns of the other's drops and resumes.
        link_call(connection.session_id, call.call_id, peer_session_id=call.agent_session_id)
        if call.agent_session_id:
            link_call(call.agent_session_id, call.call_id, peer_session_id=connection.session_id)
        connected = CallConnected(
            call_id=call.call_id,
            agent_id=call.agent_id or "",
            agent_name=(agent.name if agent is not None else None) or "",
        )
        effects = Effects().to_session(call.agent_session_id, connected.model_dump(mode="json"))
        return Done(connected.model_copy(update={"request_id": request_id}), effects)

    def decline(self, connection: WsConnection, call_id: str, request_id: str) -> Done[CallEnded]:
        """The mobile declines the ringing call-back (N → T, reason ``declined``)."""
        call = self._mobiles(connection, call_id)
        self._expect(call, CallbackState.NEW, "It was answered or has ended.")
        effects = self._end_unanswered(
            call,
            CallbackEvent.DECLINE,
            DECLINED,
            EndedBy.MOBILE,
            actor=connection.principal_id,
            request_id=request_id,
            asked_by=connection.session_id,
        )
        return Done(_ended(call, DECLINED, EndedBy.MOBILE, request_id), effects)

    # -- system ------------------------------------------------------------------------------------

    def ring_timeout(self, call_id: str) -> Done[bool]:
        """The ring timer fired: a call-back still ringing ends T (``no_answer``). True if it did."""
        call = self.calls.find(call_id)
        if call is None or rules_of(call.direction) is not OUTBOUND or call.state != CallbackState.NEW:
            return Done(False)  # answered, declined or cancelled in time
        try:
            effects = self._end_unanswered(
                call,
                CallbackEvent.RING_TIMEOUT,
                NO_ANSWER,
                EndedBy.SYSTEM,
                actor="system",
                request_id=f"callback-timeout:{call_id}",
            )
        except TransitionConflict:
            log.info("ring timeout of call-back %s lost a race; nothing left to do", call_id)
            return Done(False)
        return Done(True, effects)

    def agent_left(self, session: Session, call: Call) -> Effects:
        """The agent's session ended while the call-back rang: it is cancelled (E), the agent OFFLINE.
        (The mobile's leaving does nothing: a new session may register and answer before the deadline.)"""
        if session.role != Role.AGENT.value or call.state != CallbackState.NEW:
            return Effects()
        try:
            return self._end_unanswered(
                call,
                CallbackEvent.CANCEL,
                EndReason.AGENT_LEFT.value,
                EndedBy.SYSTEM,
                actor="system",
                request_id=f"left:{session.session_id}:{call.call_id}",
                agent_event=AgentEvent.SESSION_LOST,
            )
        except TransitionConflict:
            log.info("call-back %s moved while its agent left; nothing left to do", call.call_id)
            return Effects()

    # -- internals ---------------------------------------------------------------------------------

    def _call_out_line(self, agent: Agent) -> CallOutLine:
        """The agent's unit's first hotline that allows call-out for one of the agent's groups."""
        lines = self.callouts.hotlines_of(agent.unit_id)
        if not lines:
            raise ProtocolError("FROM_NUMBER_NOT_FOUND", f"Unit {agent.unit_id} has no hotline.")
        groups = set(agent.group_ids or ())
        for line in lines:
            if line.allow_call_out and (line.group_ids is None or line.group_ids & groups):
                return line
        raise ProtocolError("FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT")

    def _not_registered(
        self, call: Call, agent: Agent, dossier: Dossier, request_id: str, now: datetime
    ) -> NoReturn:
        """Record the attempt (created with the dossier's part, as any call-back; then I: two log
        entries, the history as it happened) and refuse. The agent holds it in WRAP_UP
        (``CALLBACK_NOT_PLACED``), where D may be decided through it; an agent who moved meanwhile (an
        offer came in) is left alone."""
        commit(
            plan_create(call, CALLBACK, actor=agent.agent_id, reason="call-back started"),
            call_placed(dossier, call.call_id, agent.agent_id, note="callback_started"),
            request_id=request_id,
            at=now,
        )
        ended = plan(
            call,
            CALLBACK,
            CallbackEvent.DEVICE_NOT_REGISTERED,
            actor="system",
            reason=DEVICE_NOT_REGISTERED,
            attrs={"ended_at": now, "end_reason": DEVICE_NOT_REGISTERED, "ended_by": EndedBy.SYSTEM.value},
        )
        hold = plan(
            agent,
            AGENT,
            AgentEvent.CALLBACK_NOT_PLACED,
            actor="system",
            reason=DEVICE_NOT_REGISTERED,
            attrs={"call_id": call.call_id, "offer_id": None},
        )
        try:
            commit(ended, hold, request_id=f"{request_id}:{DEVICE_NOT_REGISTERED}", at=now)
        except TransitionConflict as exc:
            if exc.kind != "agent":
                raise
            commit(ended, request_id=f"{request_id}:{DEVICE_NOT_REGISTERED}:alone", at=now)
        raise ProtocolError(
            "DEVICE_NOT_REGISTERED",
            f"No device of {call.subscriber} in unit {call.unit_id}.",
            call_id=call.call_id,
        )

    def _end_unanswered(
        self,
        call: Call,
        event: CallbackEvent,
        reason: str,
        ended_by: EndedBy,
        *,
        actor: str,
        request_id: str,
        asked_by: str | None = None,
        agent_event: AgentEvent | None = None,
    ) -> Effects:
        """End a ringing call-back (E or T). Unanswered (T): the agent holds it in WRAP_UP, where D may be
        decided through it. Cancelled by the agent (E): back to where they started from, holding again
        the call they were wrapping up, if any. ``agent_event`` overrides (a lost session). Both parties
        but ``asked_by`` are told with ``call.ended``."""
        now = self.clock()
        changes = [
            plan(
                call,
                CALLBACK,
                event,
                actor=actor,
                reason=reason,
                attrs={"ended_at": now, "end_reason": reason, "ended_by": ended_by.value},
            )
        ]
        agent = self.agents.find(call.agent_id or "")
        freed = None
        if agent is not None and holds(agent, call):
            attrs: dict[str, str | None] = {}
            if agent_event is None and event is CallbackEvent.CANCEL:
                if call.agent_started_from == AgentState.WRAP_UP:
                    agent_event, attrs = AgentEvent.CALL_ENDED, {"call_id": call.agent_held_before}
                else:
                    agent_event = AgentEvent.RELEASE
            move = agent_move(agent, agent_event or AgentEvent.CALL_ENDED, reason, now, **attrs)
            changes.append(move)
            if move.target == AgentState.AVAILABLE:
                freed = agent.unit_id
        commit(*changes, request_id=request_id, at=now)
        effects = Effects()
        for session_id in (call.mobile_session_id, call.agent_session_id):
            if session_id and session_id != asked_by:
                effects.to_session(session_id, ended_message(call, reason, ended_by))
        effects.event(CallEndedEvent(call, reason))
        if freed is not None:
            effects.event(AgentFreed(freed))
        return effects

    def _mobiles(self, connection: WsConnection, call_id: str) -> Call:
        """The call-back rung at this mobile session, or CALL_NOT_FOUND."""
        call = self.calls.find(call_id) if is_callback(call_id) else None
        if call is None or call.mobile_session_id != connection.session_id:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call

    def _agents(self, connection: WsConnection, call_id: str) -> Call:
        """The call-back this agent placed, or CALL_NOT_FOUND."""
        call = self.calls.find(call_id) if is_callback(call_id) else None
        if call is None or connection.role != Role.AGENT.value or call.agent_id != connection.principal_id:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call

    @staticmethod
    def _expect(call: Call, state: CallbackState, hint: str) -> None:
        if call.state != state:
            raise ProtocolError(
                "ILLEGAL_TRANSITION", f"The call-back is {call.state}. {hint}", call_id=call.call_id
            )


def _ended(call: Call, reason: str, ended_by: EndedBy, request_id: str | None = None) -> CallEnded:
    return CallEnded(
        request_id=request_id, call_id=call.call_id, state=call.state, reason=reason, ended_by=ended_by.value
    )


def incoming_message(call: Call, agent: Agent | None, now: datetime) -> CallbackIncoming:
    """``callback.incoming`` for a ringing call-back: who calls, and until when it rings."""
    deadline = as_utc(call.ring_deadline or now)
    return CallbackIncoming(
        call_id=call.call_id,
        dossier_id=call.dossier_id or "",
        agent_id=call.agent_id or "",
        agent_name=(agent.name if agent is not None else None) or "",
        ring_timeout_s=max(0, int((deadline - as_utc(call.created_at)).total_seconds())),
        expires_at_ms=int(deadline.timestamp() * 1000),
    )
