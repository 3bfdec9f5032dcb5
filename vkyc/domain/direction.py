"""The two directions of a call, and what each one's machine means for the rest of the system.

An inbound call (the dealer's phone calls in, ``vkyc.domain.call``) and a call-back (an agent calls the
customer, ``vkyc.domain.callback``) have machines of their own, but the rest of the system asks them the
same questions: is the call still live, has it been answered, may this party send media now, which
event ends it. ``CallRules`` answers them for one direction, and ``rules_of`` picks the direction's
rules from ``Call.direction``: no other code compares direction strings.

A call-back's id starts with ``CALLBACK_PREFIX`` (``direction_of_id``), so a message naming a call can
be routed before the call is read.

Pure: imports only the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from vkyc.domain.call import CALL, CallEvent, CallState, EndReason
from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState
from vkyc.domain.machine import StateMachine

CALLBACK_PREFIX = "cb-"


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class Party(StrEnum):
    MOBILE = "mobile"
    AGENT = "agent"


@dataclass(frozen=True)
class CallRules:
    """What one direction's machine means: the states and events the shared use cases need."""

    direction: Direction
    machine: StateMachine[Any, Any]
    waiting: frozenset[str]
    """Not yet answered, and may still be (the caller waits, an agent rings; a call-back rings)."""
    answered: frozenset[str]
    """In conversation: an agent and the customer are bound to the call (peer pushes, the grace)."""
    ringing: frozenset[str]
    """Ringing somebody (inbound: an agent's popup; call-back: the customer's phone)."""
    reconnecting: str | None
    """The answered state in which the call waits for a party whose socket dropped, if the machine
    has one."""
    end: Enum
    """The event that ends an answered call (hang-up, a party gone, media lost, decided during it)."""
    grace_expired: Enum
    """The event that ends an answered call whose party did not come back within the grace."""
    no_call: Enum
    """The event that ends an answered call whose media never came up (``no_call_arrived``)."""
    media_connected: Enum | None
    """The event that records both parties' media up, if the machine has a state for it."""
    party_dropped: Enum | None
    """The event that makes an answered call wait for a party whose socket dropped, if any."""
    party_resumed: Enum | None
    """The event that resumes it once every party is back, if any."""
    plays_waiting_media: bool
    """Whether the caller hears waiting media while nobody has answered (an inbound caller does)."""
    unanswered_ends: frozenset[str]
    """Final states of a call that was never answered, through which D (unreachable) may be decided
    when the agent placed the call (call-backs: ``T``, ``I``)."""

    def can(self, state: str, event: Enum | None) -> bool:
        """Whether the machine has the move ``event`` from ``state`` (None: no such event here)."""
        return event is not None and self.machine.can(state, event)

    def is_live(self, state: str) -> bool:
        """Any state the machine can leave. A state it does not know counts as live: refusing one
        request is recoverable, two calls of one dossier at once are not."""
        return state not in {final.value for final in self.machine.finals}

    def is_answered(self, state: str) -> bool:
        return state in self.answered

    def is_waiting(self, state: str) -> bool:
        return state in self.waiting

    def may_send_media(self, state: str, party: Party) -> bool:
        """Whether ``party`` may send ``media.offer``: an inbound call's mobile from the moment the call
        exists until it is final (waiting media while queued or ringing, then the agent's), its agent
        once answered; a call-back's parties once it is answered."""
        if party is Party.MOBILE and self.direction is Direction.INBOUND:
            return state in self.waiting | self.answered
        return state in self.answered

    def may_snapshot(self, state: str) -> bool:
        """Whether the agent may ask for the decision snapshot: while answered."""
        return state in self.answered

    def live_states(self) -> frozenset[str]:
        """Every state the machine can leave: a call in one may still be given a media node."""
        return frozenset(s.value for s in type(self.machine.initial) if self.is_live(s.value))

    def end_event(self, reason: str) -> Enum:
        """The event that ends an answered call for ``reason`` (an ``EndReason`` value or another)."""
        return self.grace_expired if reason == EndReason.GRACE_EXPIRED.value else self.end


INBOUND = CallRules(
    direction=Direction.INBOUND,
    machine=CALL,
    waiting=frozenset(
        s.value for s in (CallState.NEW, CallState.RINGING, CallState.REJECTED, CallState.MISSED)
    ),
    answered=frozenset(s.value for s in (CallState.ACCEPTED, CallState.CONNECTED, CallState.RECONNECTING)),
    ringing=frozenset({CallState.RINGING.value}),
    reconnecting=CallState.RECONNECTING.value,
    end=CallEvent.END,
    grace_expired=CallEvent.GRACE_EXPIRED,
    no_call=CallEvent.NO_CALL_TIMEOUT,
    media_connected=CallEvent.MEDIA_CONNECTED,
    party_dropped=CallEvent.PARTY_DROPPED,
    party_resumed=CallEvent.PARTY_RESUMED,
    plays_waiting_media=True,
    unanswered_ends=frozenset(),
)
OUTBOUND = CallRules(
    direction=Direction.OUTBOUND,
    machine=CALLBACK,
    waiting=frozenset({CallbackState.NEW.value}),
    answered=frozenset({CallbackState.ACCEPTED.value}),
    ringing=frozenset({CallbackState.NEW.value}),
    reconnecting=None,
    end=CallbackEvent.END,
    grace_expired=CallbackEvent.END,
    no_call=CallbackEvent.END,
    media_connected=None,
    party_dropped=None,
    party_resumed=None,
    plays_waiting_media=False,
    unanswered_ends=frozenset({CallbackState.TIMEOUT.value, CallbackState.NOT_REGISTERED.value}),
)
_RULES = {Direction.INBOUND: INBOUND, Direction.OUTBOUND: OUTBOUND}


def rules_of(direction: str) -> CallRules:
    """The rules of ``Call.direction``. Raises ``ValueError`` for a value that is no direction."""
    return _RULES[Direction(direction)]


def direction_of(stored: object) -> Direction:
    """The direction a stored call (an item, or a stream image's ``direction``) carries; calls written
    before call-backs existed carry none and were inbound. ``ValueError`` for a value that is no
    direction."""
    return Direction(str(stored)) if stored else Direction.INBOUND


def direction_of_id(call_id: str | None) -> Direction:
    """The direction a call id names, by its form (no read): call-backs' ids start with ``cb-``."""
    return Direction.OUTBOUND if call_id and str(call_id).startswith(CALLBACK_PREFIX) else Direction.INBOUND


def is_live_call(direction: str, state: str) -> bool:
    """Whether a call still holds its dossier (any state its direction's machine can leave)."""
    return rules_of(direction).is_live(state)
