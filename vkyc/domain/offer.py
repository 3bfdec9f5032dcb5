"""The offer of one inbound call to one agent: PENDING → ACCEPTED / REJECTED / MISSED / CANCELLED / RESCINDED.

A call that is rejected or missed gets a new offer to the next agent; an offer is never reused.

States: PENDING (the agent's popup is ringing). Every other state is final:

- ACCEPTED: the agent accepted (event ACCEPT).
- REJECTED: the agent rejected (event REJECT).
- MISSED: the ring timeout passed with no answer (event RING_TIMEOUT).
- CANCELLED: the call went away while ringing: the caller hung up, or the call ended (queue timeout,
  sweeper) (event CANCEL).
- RESCINDED: the system withdrew the offer while the call goes on: the agent's session was lost, the
  agent took over on another device, or the call was given to another node (event RESCIND).
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class OfferState(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    MISSED = "MISSED"
    CANCELLED = "CANCELLED"
    RESCINDED = "RESCINDED"


class OfferEvent(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    RING_TIMEOUT = "ring_timeout"
    CANCEL = "cancel"
    RESCIND = "rescind"


S, E = OfferState, OfferEvent

OFFER = StateMachine[OfferState, OfferEvent](
    name="offer",
    initial=S.PENDING,
    finals=frozenset({S.ACCEPTED, S.REJECTED, S.MISSED, S.CANCELLED, S.RESCINDED}),
    table={
        (S.PENDING, E.ACCEPT): S.ACCEPTED,
        (S.PENDING, E.REJECT): S.REJECTED,
        (S.PENDING, E.RING_TIMEOUT): S.MISSED,
        (S.PENDING, E.CANCEL): S.CANCELLED,
        (S.PENDING, E.RESCIND): S.RESCINDED,
    },
)


def transition(state: OfferState, event: OfferEvent) -> OfferState:
    """The offer's one transition function. Raises ``IllegalTransition``."""
    return OFFER.transition(state, event)
