"""What a session's drop, return or end means for the call it is in (the events ``SessionDropped``,
``SessionResumed`` and ``SessionLeft`` of ``vkyc.services.sessions``).

A media node's session is the node itself (``vkyc.services.media_fleet``: a node gone is lost). A
party's follows its call: during the conversation the shared steps of ``vkyc.services.call_lifecycle``
(an inbound call waits in RECONNECTING, either direction ends when a party is gone for good); before the
answer only the party who placed the call matters (an inbound caller leaving ends the call E; an agent
leaving a ringing call-back cancels it).
"""

from __future__ import annotations

from vkyc.domain.direction import OUTBOUND, rules_of
from vkyc.protocol.messages import Role
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.tables import Call, Session
from vkyc.services.call_lifecycle import CallLifecycle
from vkyc.services.callbacks import Callbacks
from vkyc.services.effects import Effects, SessionDropped, SessionLeft, SessionResumed
from vkyc.services.inbound_calls import InboundCalls
from vkyc.services.media_fleet import MediaFleet


class PartyHooks:
    def __init__(
        self, lifecycle: CallLifecycle, inbound: InboundCalls, callbacks: Callbacks, fleet: MediaFleet
    ) -> None:
        self.lifecycle = lifecycle
        self.inbound = inbound
        self.callbacks = callbacks
        self.fleet = fleet
        self.calls = CallRepository()

    def dropped(self, event: SessionDropped) -> Effects:
        session = event.session
        if session.role == Role.MEDIA.value:
            return self.fleet.node_dropped(session)
        call = self._call(session)
        return self.lifecycle.party_dropped(session, call) if call is not None else Effects()

    def resumed(self, event: SessionResumed) -> Effects:
        session = event.session
        if session.role == Role.MEDIA.value:
            return Effects()  # its next heartbeat registers the new socket
        call = self._call(session)
        return self.lifecycle.party_resumed(session, call) if call is not None else Effects()

    def left(self, event: SessionLeft) -> Effects:
        session, reason = event.session, event.reason
        if session.role == Role.MEDIA.value:
            return self.fleet.node_left(session, reason)
        call = self._call(session)
        if call is None:
            return Effects()
        rules = rules_of(call.direction)
        if rules.is_answered(call.state):
            return self.lifecycle.party_left(session, call, reason)
        if rules is OUTBOUND:
            return self.callbacks.agent_left(session, call)
        if session.role == Role.MOBILE.value and rules.is_waiting(call.state):
            left = self.inbound.caller_left(session, call)
            if left.value:
                return left.effects
            call = self.calls.get(call.call_id)  # answered at that very moment
            if rules.is_answered(call.state):
                return self.lifecycle.party_left(session, call, reason)
        return Effects()

    def _call(self, session: Session) -> Call | None:
        return self.calls.find(session.call_id or "")
