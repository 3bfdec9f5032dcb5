"""The call-back (agent → mobile, issue #4 item 6) and the device registration it needs.

A mobile registers its device (``register``): one registration per subscriber number per unit, the
first one of a subscriber counted against the unit's licence limit (setting ``device_licence_limit``,
``vkyc.repositories.devices``). An agent then calls the customer of a dossier back (``start``).

States (``vkyc.domain.callback``) and what moves them:

- ``N`` ringing at the mobile: ``start`` (one transaction: the call-back created, the agent AVAILABLE or
  WRAP_UP → IN_CALL, the dossier pointed at it, N or D → W as for an inbound call);
- ``A`` answered: ``accept`` by the mobile;
- ``C`` ended after the answer: ``hangup`` by either party, ``decide`` during the call, a party's
  session ending (grace expired, bye);
- ``E`` the agent hung up before the answer: ``cancel``, or the agent's session ended while ringing;
- ``T`` not answered: ``ring_timeout`` (``callback_timeout_s``, the SQS timer ``CALLBACK_RING_TIMER``)
  or ``decline`` by the mobile;
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
(``CALL_IN_PROGRESS``), the agent
is free (``AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL`` while ringing or in a call, ``ILLEGAL_TRANSITION`` when
not available); then a missing registration gives state ``I``.

Where the agent goes at the end: WRAP_UP holding the call-back when it was not answered (T, I: "the
customer is unreachable", D, may be decided through it; ``agent.set_status available`` or the wrap-up
limit ends that) or after an answered call-back (the decision is owed, as after an inbound call); back
to where they started it from when they cancelled it themselves (AVAILABLE, or WRAP_UP holding again
the call they were wrapping up: ``agent_held_before``); AVAILABLE when deciding during the call or when
swept; OFFLINE when their own session ended. Deciding follows the one rule of
``vkyc.domain.decision`` (the call the agent holds; A and C need the media connected).

The live part reuses the inbound call's messages: ``call.hangup`` and ``call.decide`` name a call-back
by its id, and the parties get ``call.connected``, ``call.ended``, ``call.result`` and ``peer.*``. A
call-back's id starts with ``CALLBACK_PREFIX``, so signaling and the session hooks send it here without
reading it first.

Every change is one transaction over the items that move together (call-back, agent, dossier) with
their logs; pushes and timers run after the commit. Events pushed: ``callback.incoming`` to the
mobile; ``call.connected`` to the agent; ``call.ended`` and ``call.result`` to the parties.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import EndedBy, EndReason
from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierState
from vkyc.domain.eligibility import check_dossier_state, is_live_call
from vkyc.domain.session import SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    CallbackIncoming,
    CallbackRinging,
    CallConnected,
    CallDecided,
    CallEnded,
    DeviceRegistered,
    DeviceUnregistered,
    Role,
)
from vkyc.repositories import devices
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.callouts import CONFIG_TTL_S, CallOutLine, CallOutRepository, ringing_callbacks
from vkyc.repositories.calls import OUTBOUND, CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.routing import RoutingRepository
from vkyc.repositories.sessions import SessionRepository, link_call
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier, Session, WsConnection
from vkyc.repositories.transitions import Change, commit, plan, plan_create, plan_note
from vkyc.services.dossier_calls import call_placed, check_decision_allowed, result_message
from vkyc.services.eligibility import facts_of
from vkyc.services.media import EVIDENCE_TIMER, NO_CALL_TIMER
from vkyc.services.ports import Clock, Notifier, Timer, Timers, as_utc, utc_now

log = logging.getLogger("vkyc.callbacks")

CALLBACK_PREFIX = "cb-"
CALLBACK_RING_TIMER = "callback_ring_timeout"

# ``call.ended`` reasons of a call-back besides the inbound call's ``EndReason`` values.
AGENT_CANCELLED = "agent_cancelled"
DECLINED = "declined"
NO_ANSWER = "no_answer"
DEVICE_NOT_REGISTERED = "device_not_registered"
NO_CALL_ARRIVED = "no_call_arrived"


def is_callback(call_id: str | None) -> bool:
    """Whether ``call_id`` names a call-back (not an inbound call): decided by its form, no read."""
    return bool(call_id) and str(call_id).startswith(CALLBACK_PREFIX)


@dataclass(frozen=True)
class Registered:
    """What ``register`` answers: the reply, and the call-backs still ringing for this subscriber,
    to push after it."""

    reply: DeviceRegistered
    incoming: list[CallbackIncoming]


class CallbackService:
    """The call-back use cases; see the module docstring for states, checks and pushes.

    ``settings(unit_id)`` gives a unit's settings (default: the per-process cache);
    ``on_agent_freed(unit_id)`` is told when an agent became AVAILABLE, so the unit's waiting inbound
    calls can be offered (signaling passes ``CallService.dispatch``).
    """

    def __init__(
        self,
        notifier: Notifier,
        timers: Timers,
        *,
        settings: Callable[[str], CallSettings] = cached_settings,
        on_agent_freed: Callable[[str], object] | None = None,
        routing: RoutingRepository | None = None,
        callouts: CallOutRepository | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.notifier = notifier
        self.timers = timers
        self.settings = settings
        self.on_agent_freed = on_agent_freed
        # Told after any path ended a call-back: its media node hangs up (``MediaService.call_ended``).
        self.on_call_ended: Callable[[Call, str], None] | None = None
        # Configuration is cached per process, as routing's (tests shorten it with the same variable).
        ttl_s = float(os.environ.get("VKYC_CONFIG_CACHE_S", CONFIG_TTL_S))
        self.routing = routing or RoutingRepository(ttl_s=ttl_s)
        self.callouts = callouts or CallOutRepository(ttl_s=ttl_s)
        self.clock = clock
        self.calls = CallRepository()
        self.agents = AgentRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()

    # -- the mobile ------------------------------------------------------------------------------

    def register(self, connection: WsConnection, device_id: str, request_id: str) -> Registered:
        """Register this mobile's device for the subscriber of its session's dossier, in the dossier's
        unit; a call-back still ringing for that subscriber is re-addressed to this session.

        Raises ProtocolError: CALL_NOT_FOUND (the session has no dossier), NOT_FOUND (no dossier, or
        one without a subscriber number), DEVICE_LIMIT_REACHED (a new subscriber over the unit's limit).
        """
        dossier = self._session_dossier(connection)
        assert dossier.subscriber  # _session_dossier refuses a dossier without one
        limit = self.settings(dossier.unit_id).device_licence_limit
        try:
            registration = devices.register(
                dossier.unit_id,
                dossier.subscriber,
                device_id=device_id,
                session_id=connection.session_id,
                registered_by=connection.principal_id,
                limit=limit,
                at=self.clock(),
            )
        except devices.LicenceLimitReached as exc:
            raise ProtocolError("DEVICE_LIMIT_REACHED", f"The limit is {exc.limit}.") from None
        reply = DeviceRegistered(
            request_id=request_id,
            device_id=device_id,
            unit_id=dossier.unit_id,
            new_registration=registration.new,
        )
        return Registered(reply, self._ring_again(dossier, connection, request_id))

    def unregister(self, connection: WsConnection, device_id: str, request_id: str) -> DeviceUnregistered:
        """Give up this device's registration for the subscriber of the session's dossier, freeing
        its licence (idempotent: a repeat, or another device registered since, changes nothing).

        Raises ProtocolError: CALL_NOT_FOUND (the session has no dossier), NOT_FOUND (no dossier, or
        one without a subscriber number).
        """
        dossier = self._session_dossier(connection)
        assert dossier.subscriber  # _session_dossier refuses a dossier without one
        released = devices.unregister(dossier.unit_id, dossier.subscriber, device_id)
        return DeviceUnregistered(
            request_id=request_id, device_id=device_id, unit_id=dossier.unit_id, released=released
        )

    def _session_dossier(self, connection: WsConnection) -> Dossier:
        # The connection carries its session's dossier; a connection item older than that field does not.
        dossier_id = connection.dossier_id or self.sessions.get(connection.session_id).dossier_id
        if not dossier_id:
            raise ProtocolError("CALL_NOT_FOUND", "This session has no dossier.")
        dossier = self.dossiers.find(dossier_id)
        if dossier is None or not dossier.subscriber:
            raise ProtocolError("NOT_FOUND", f"Dossier {dossier_id} has no subscriber number.")
        return dossier

    def accept(self, connection: WsConnection, call_id: str, request_id: str) -> CallConnected:
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
        self._to_session(call.agent_session_id, connected.model_dump(mode="json"))
        return connected.model_copy(update={"request_id": request_id})

    def decline(self, connection: WsConnection, call_id: str, request_id: str) -> CallEnded:
        """The mobile declines the ringing call-back (N → T, reason ``declined``)."""
        call = self._mobiles(connection, call_id)
        self._expect(call, CallbackState.NEW, "It was answered or has ended.")
        self._end_unanswered(
            call,
            CallbackEvent.DECLINE,
            DECLINED,
            EndedBy.MOBILE,
            actor=connection.principal_id,
            request_id=request_id,
            asked_by=connection.session_id,
        )
        return self._ended(call, DECLINED, EndedBy.MOBILE, request_id)

    # -- the agent ----------------------------------------------------------------------------------

    def start(self, connection: WsConnection, dossier_id: str, request_id: str) -> CallbackRinging:
        """Call the customer of ``dossier_id`` back; see the module docstring for the checks.

        Rings the registered device's session (``callback.incoming``) if it is connected, and sets the
        ring timer. Raises ProtocolError; ``DEVICE_NOT_REGISTERED`` after recording the call-back in I.
        """
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
        call = Call(
            call_id=CALLBACK_PREFIX + str(uuid.uuid4()),
            direction=OUTBOUND,
            unit_id=dossier.unit_id,
            serving_unit_id=agent.unit_id,
            dossier_id=dossier.dossier_id,
            hotline_id=hotline.hotline_id,
            subscriber=dossier.subscriber,
            customer_type=dossier.customer_type,
            sub_type=dossier.sub_type,
            agent_id=agent.agent_id,
            agent_session_id=connection.session_id,
            created_at=now,
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
        ]
        changes.append(call_placed(dossier, call.call_id, agent.agent_id, note="callback_started"))
        commit(*changes, request_id=request_id, at=now)
        link_call(connection.session_id, call.call_id, peer_session_id=None)
        # The no-call timer rides along (as for an inbound call): it looks again every
        # ``no_call_arrived_s`` while the call-back rings, so it is due at most that long after the answer.
        no_call_s = self.settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
        self.timers.schedule_many(
            [
                Timer(CALLBACK_RING_TIMER, {"call_id": call.call_id}, timeout_s),
                Timer(NO_CALL_TIMER, {"call_id": call.call_id}, no_call_s),
            ]
        )
        incoming = self._incoming(call, agent)
        online = bool(
            live_mobile is not None
            and live_mobile.state == SessionState.ACTIVE
            and live_mobile.connection_id
            and self.notifier.send(live_mobile.connection_id, incoming.model_dump(mode="json"))
        )
        return CallbackRinging(
            request_id=request_id,
            call_id=call.call_id,
            dossier_id=dossier.dossier_id,
            ring_timeout_s=timeout_s,
            expires_at_ms=incoming.expires_at_ms,
            mobile_online=online,
        )

    def cancel(self, connection: WsConnection, call_id: str, request_id: str) -> CallEnded:
        """The agent hangs up before the answer (N → E, reason ``agent_cancelled``)."""
        call = self._agents(connection, call_id)
        self._expect(call, CallbackState.NEW, "It was answered (hang up with call.hangup) or has ended.")
        self._end_unanswered(
            call,
            CallbackEvent.CANCEL,
            AGENT_CANCELLED,
            EndedBy.AGENT,
            actor=connection.principal_id,
            request_id=request_id,
            asked_by=connection.session_id,
        )
        return self._ended(call, AGENT_CANCELLED, EndedBy.AGENT, request_id)

    # -- either party, once answered -------------------------------------------------------------------

    def hangup(self, connection: WsConnection, call_id: str, request_id: str) -> CallEnded:
        """``call.hangup`` of an answered call-back (A → C, reason ``completed``); the agent goes to
        WRAP_UP. Before the answer the agent uses ``callback.cancel``, the mobile ``callback.decline``."""
        call = self._parties(connection, call_id)
        self._expect(
            call,
            CallbackState.ACCEPTED,
            "Before the answer the agent cancels (callback.cancel) and the mobile declines "
            "(callback.decline).",
        )
        ended_by = EndedBy.AGENT if connection.role == Role.AGENT.value else EndedBy.MOBILE
        self._finish(
            call,
            EndReason.COMPLETED.value,
            ended_by,
            AgentEvent.CALL_ENDED,
            request_id=request_id,
            asked_by=connection.session_id,
        )
        return self._ended(call, EndReason.COMPLETED.value, ended_by, request_id)

    def decide(
        self,
        connection: WsConnection,
        call_id: str,
        decision: str,
        reason: str,
        snapshot_id: str | None,
        request_id: str,
    ) -> CallDecided:
        """``call.decide`` naming a call-back: as for an inbound call, one transaction moves the dossier,
        ends the call-back if it is live (C, the agent AVAILABLE) or notes the decision on it (the agent
        WRAP_UP → AVAILABLE). The mobile that answered receives ``call.result``.

        Raises ProtocolError: CALL_NOT_FOUND, ILLEGAL_TRANSITION (already decided); DecisionRefused
        (``vkyc.domain.decision``: not the call the agent holds, not answered, no face...).
        """
        call = self._agents(connection, call_id)
        if call.decision:
            raise ProtocolError(
                "ILLEGAL_TRANSITION", f"The dossier was already decided ({call.decision}).", call_id=call_id
            )
        agent = self.agents.get(connection.principal_id)
        check_decision_allowed(call, agent, decision, reason, snapshot_id)
        dossier = self.dossiers.get(call.dossier_id or "")
        live = call.state == CallbackState.ACCEPTED
        now = self.clock()
        changes: list[Change] = [
            plan(
                dossier,
                DOSSIER,
                DECISION_EVENTS[DossierState(decision)],
                actor=agent.agent_id,
                reason=reason or None,
                attrs={"decided_by": agent.agent_id, "snapshot_key": snapshot_id},
            )
        ]
        release = {"call_id": None, "offer_id": None, "available_since": now}
        # Where the decision's evidence bundle will put its hash: the dossier's log entry of this move.
        decided = {"decision": decision, "decided_at": now, "decision_version": changes[0].new_version}
        if live:  # decided during the call: it ends now, no wrap-up owed
            call_attrs = {
                **decided,
                "ended_at": now,
                "end_reason": EndReason.COMPLETED.value,
                "ended_by": EndedBy.AGENT.value,
            }
            changes.append(plan(call, CALLBACK, CallbackEvent.END, actor=agent.agent_id, attrs=call_attrs))
            if self._holds(agent, call):
                changes.append(plan(agent, AGENT, AgentEvent.RELEASE, actor=agent.agent_id, attrs=release))
        else:
            changes.append(plan_note(call, event="decided", actor=agent.agent_id, attrs=decided))
            changes.append(
                plan(agent, AGENT, AgentEvent.DECISION_SUBMITTED, actor=agent.agent_id, attrs=release)
            )
        commit(*changes, request_id=request_id, at=now)
        if live:
            ended = CallEnded(
                call_id=call.call_id,
                state=call.state,
                reason=EndReason.COMPLETED.value,
                ended_by=EndedBy.AGENT.value,
            )
            self._tell(call, ended.model_dump(mode="json"), asked_by=connection.session_id)
            self._call_ended(call, EndReason.COMPLETED.value)
        self._to_session(
            call.mobile_session_id, result_message(call.call_id, decision, reason, dossier, snapshot_id)
        )
        if call.media_node_id:  # its evidence bundle (built once the recording is closed too)
            self.timers.schedule(EVIDENCE_TIMER, {"call_id": call.call_id}, 0)
        self._freed(agent)
        return CallDecided(
            request_id=request_id,
            call_id=call.call_id,
            dossier_id=dossier.dossier_id,
            dossier_state=dossier.state,
        )

    # -- system: timers and session hooks ------------------------------------------------------------

    def ring_timeout(self, call_id: str) -> bool:
        """The ring timer fired: a call-back still ringing ends T (``no_answer``). True if it did."""
        call = self.calls.find(call_id)
        if call is None or call.direction != OUTBOUND or call.state != CallbackState.NEW:
            return False  # answered, declined or cancelled in time
        try:
            self._end_unanswered(
                call,
                CallbackEvent.RING_TIMEOUT,
                NO_ANSWER,
                EndedBy.SYSTEM,
                actor="system",
                request_id=f"callback-timeout:{call_id}",
            )
        except TransitionConflict:
            log.info("ring timeout of call-back %s lost a race; nothing left to do", call_id)
            return False
        return True

    def no_call_timeout(self, call_id: str) -> bool:
        """The no-call timer: an answered call-back whose media never connected within
        ``no_call_arrived_s`` of the answer ends (C, reason ``no_call_arrived``), the agent to WRAP_UP.
        A timer that fires early sets itself again for the rest. True if it ended it."""
        call = self.calls.find(call_id)
        limit = self.settings(call.serving_unit_id or call.unit_id).no_call_arrived_s if call else 0
        if call is not None and call.state == CallbackState.NEW:  # still ringing: look again later
            self.timers.schedule(NO_CALL_TIMER, {"call_id": call_id}, limit)
            return False
        if (
            call is None
            or call.state != CallbackState.ACCEPTED
            or call.media_connected_at is not None
            or call.answered_at is None
        ):
            return False
        due = as_utc(call.answered_at) + timedelta(seconds=limit)
        now = self.clock()
        if now < due - timedelta(seconds=1):
            self.timers.schedule(NO_CALL_TIMER, {"call_id": call_id}, math.ceil((due - now).total_seconds()))
            return False
        try:
            self._finish(
                call, NO_CALL_ARRIVED, EndedBy.SYSTEM, AgentEvent.CALL_ENDED, request_id=f"no-call:{call_id}"
            )
        except TransitionConflict:
            return False  # a party hung up or left at that moment: it ended anyway
        return True

    def party_dropped(self, session: Session) -> None:
        """A party's socket dropped during an answered call-back: noted in its history (the call-back
        machine has no RECONNECTING; the grace decides, through ``party_left``)."""
        self._note_party(session, "party_dropped", f"dropped:{session.session_id}:{session.generation}")

    def party_resumed(self, session: Session) -> None:
        """A party came back within the grace: noted in the call-back's history."""
        self._note_party(session, "party_resumed", f"resumed:{session.session_id}:{session.version}")

    def party_left(self, session: Session, reason: str) -> None:
        """A party's session ended (grace expired, bye). Ringing: the agent's leaving cancels it (E);
        the mobile's does nothing (a new session may register and answer before the deadline).
        Answered: it ends (C); an agent still IN_CALL (after bye) goes OFFLINE."""
        call = self.calls.find(session.call_id or "")
        if call is None or call.direction != OUTBOUND:
            return
        is_agent = session.role == Role.AGENT.value
        request_id = f"left:{session.session_id}:{call.call_id}"
        try:
            if call.state == CallbackState.NEW and is_agent:
                self._end_unanswered(
                    call,
                    CallbackEvent.CANCEL,
                    EndReason.AGENT_LEFT.value,
                    EndedBy.SYSTEM,
                    actor="system",
                    request_id=request_id,
                    agent_event=AgentEvent.SESSION_LOST,
                )
            elif call.state == CallbackState.ACCEPTED:
                if reason == "grace_expired":
                    end = EndReason.GRACE_EXPIRED
                else:
                    end = EndReason.AGENT_LEFT if is_agent else EndReason.MOBILE_LEFT
                event = AgentEvent.SESSION_LOST if is_agent else AgentEvent.CALL_ENDED
                self._finish(call, end.value, EndedBy.SYSTEM, event, request_id=request_id)
        except TransitionConflict:
            log.info("call-back %s moved while %s left; nothing left to do", call.call_id, session.role)

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

    def _ring_again(
        self, dossier: Dossier, connection: WsConnection, request_id: str
    ) -> list[CallbackIncoming]:
        """Call-backs still ringing for the dossier's subscriber in its unit, re-addressed to this
        connection's session (a note in their history) so that it may answer them; their
        ``callback.incoming`` to push."""
        incoming: list[CallbackIncoming] = []
        now = self.clock()
        for listed in ringing_callbacks(dossier.subscriber or ""):
            call = self.calls.find(listed.call_id)
            if call is None or call.state != CallbackState.NEW or call.unit_id != dossier.unit_id:
                continue
            if call.ring_deadline is not None and as_utc(call.ring_deadline) <= now:
                continue  # its timer is about to end it
            if call.mobile_session_id != connection.session_id:
                try:
                    commit(
                        plan_note(
                            call,
                            event="mobile_attached",
                            actor=connection.principal_id,
                            attrs={"mobile_session_id": connection.session_id},
                        ),
                        request_id=f"{request_id}:{call.call_id}",
                        at=now,
                    )
                except TransitionConflict:
                    continue  # answered, declined or ended meanwhile
            incoming.append(self._incoming(call, self.agents.find(call.agent_id or "")))
        return incoming

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
    ) -> None:
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
        moved: Agent | None = None
        if agent is not None and self._holds(agent, call):
            attrs: dict[str, Any] | None = None
            if agent_event is None and event is CallbackEvent.CANCEL:
                if call.agent_started_from == AgentState.WRAP_UP:
                    agent_event, attrs = AgentEvent.CALL_ENDED, {"call_id": call.agent_held_before}
                else:
                    agent_event = AgentEvent.RELEASE
            changes.append(
                self._agent_change(agent, agent_event or AgentEvent.CALL_ENDED, reason, now, attrs)
            )
            moved = agent
        commit(*changes, request_id=request_id, at=now)
        self._tell(call, self._ended(call, reason, ended_by).model_dump(mode="json"), asked_by)
        self._call_ended(call, reason)
        self._freed(moved)

    def _finish(
        self,
        call: Call,
        reason: str,
        ended_by: EndedBy,
        agent_event: AgentEvent,
        *,
        request_id: str,
        asked_by: str | None = None,
    ) -> None:
        """End an answered call-back (A → C); the agent, if still in it, moves by ``agent_event``."""
        now = self.clock()
        changes = [
            plan(
                call,
                CALLBACK,
                CallbackEvent.END,
                actor=ended_by.value,
                reason=reason,
                attrs={"ended_at": now, "end_reason": reason, "ended_by": ended_by.value},
            )
        ]
        agent = self.agents.find(call.agent_id or "")
        moved: Agent | None = None
        if agent is not None and self._holds(agent, call):
            changes.append(self._agent_change(agent, agent_event, reason, now))
            moved = agent
        commit(*changes, request_id=request_id, at=now)
        self._tell(call, self._ended(call, reason, ended_by).model_dump(mode="json"), asked_by)
        self._call_ended(call, reason)
        self._freed(moved)

    def _call_ended(self, call: Call, reason: str) -> None:
        if self.on_call_ended is not None:
            self.on_call_ended(call, reason)

    def end_for_media(self, call: Call, reason: str) -> bool:
        """End an answered call-back whose media broke (``reason``, e.g. ``media_node_lost``): C, the
        agent to WRAP_UP, both parties told. False when it was no longer answered."""
        found: Call | None = call
        for attempt in range(3):
            if found is None or found.state != CallbackState.ACCEPTED:
                return False
            try:
                self._finish(
                    found,
                    reason,
                    EndedBy.SYSTEM,
                    AgentEvent.CALL_ENDED,
                    request_id=f"media:{reason}:{found.call_id}",
                )
            except TransitionConflict:
                if attempt == 2:
                    raise
                found = self.calls.find(call.call_id)  # moved at that moment: look again
                continue
            return True
        return False

    @staticmethod
    def _holds(agent: Agent, call: Call) -> bool:
        """Whether ``call`` still holds ``agent`` (the sweeper or a lost session may have moved them)."""
        return agent.state == AgentState.IN_CALL and agent.call_id == call.call_id

    @staticmethod
    def _agent_change(
        agent: Agent, event: AgentEvent, reason: str, now: datetime, attrs: dict[str, Any] | None = None
    ) -> Change:
        # Back to AVAILABLE: the agent is no longer on a call and is idle from now (routing order).
        target = AGENT.transition(AgentState(agent.state), event)
        if target is AgentState.AVAILABLE:
            attrs = {"call_id": None, "offer_id": None, "available_since": now}
        return plan(agent, AGENT, event, actor="system", reason=reason, attrs=attrs)

    def _note_party(self, session: Session, event: str, request_id: str) -> None:
        call = self.calls.find(session.call_id or "")
        if call is None or call.direction != OUTBOUND or call.state != CallbackState.ACCEPTED:
            return
        try:
            commit(
                plan_note(call, event=event, actor="system", reason=f"{session.role} {event}"),
                request_id=request_id,
                at=self.clock(),
            )
        except TransitionConflict:
            log.info("call-back %s moved meanwhile; %s not noted", call.call_id, event)

    def _incoming(self, call: Call, agent: Agent | None) -> CallbackIncoming:
        deadline = as_utc(call.ring_deadline or self.clock())
        return CallbackIncoming(
            call_id=call.call_id,
            dossier_id=call.dossier_id or "",
            agent_id=call.agent_id or "",
            agent_name=(agent.name if agent is not None else None) or "",
            ring_timeout_s=max(0, int((deadline - as_utc(call.created_at)).total_seconds())),
            expires_at_ms=int(deadline.timestamp() * 1000),
        )

    @staticmethod
    def _ended(call: Call, reason: str, ended_by: EndedBy, request_id: str | None = None) -> CallEnded:
        return CallEnded(
            request_id=request_id,
            call_id=call.call_id,
            state=call.state,
            reason=reason,
            ended_by=ended_by.value,
        )

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

    def _parties(self, connection: WsConnection, call_id: str) -> Call:
        if connection.role == Role.AGENT.value:
            return self._agents(connection, call_id)
        return self._mobiles(connection, call_id)

    @staticmethod
    def _expect(call: Call, state: CallbackState, hint: str) -> None:
        if call.state != state:
            raise ProtocolError(
                "ILLEGAL_TRANSITION", f"The call-back is {call.state}. {hint}", call_id=call.call_id
            )

    def _tell(self, call: Call, message: dict[str, Any], asked_by: str | None) -> None:
        for session_id in (call.mobile_session_id, call.agent_session_id):
            if session_id and session_id != asked_by:
                self._to_session(session_id, message)

    def _to_session(self, session_id: str | None, message: dict[str, Any]) -> None:
        session = self.sessions.find(session_id or "")
        if session is not None and session.connection_id:
            self.notifier.send(session.connection_id, message)

    def _freed(self, agent: Agent | None) -> None:
        """``agent`` was just moved: if to AVAILABLE, the unit's waiting inbound calls may be offered."""
        if agent is not None and agent.state == AgentState.AVAILABLE and self.on_agent_freed is not None:
            self.on_agent_freed(agent.unit_id)
