"""Outbound call-back (agent → mobile) states, with the seed's letters.

States:

- ``N`` NEW: created; the mobile is being rung.
- ``A`` ACCEPTED: the mobile answered.
- ``C`` COMPLETED: the answered call-back ended. Final. How it ended (normal hang-up, reconnect grace
  expired, media failed, ...) is recorded as a ``vkyc.domain.call.EndReason``, as for inbound calls.
- ``F`` RELEASED: the sweeper ended it and released the agent back to available. Final.
- ``E`` CANCELLED_BY_AGENT: the agent ended it before the mobile answered. Final.
- ``T`` TIMEOUT: the mobile did not answer or did not receive it within the ring timeout (60 s). A mobile
  that declines also ends here: for the agent and for reports it is one more unanswered call-back. Final.
- ``I`` NOT_REGISTERED: the mobile device is not registered, so it cannot be called. Final.

Events:

- ACCEPT: the mobile answered (N → A).
- DECLINE: the mobile declined (N → T).
- RING_TIMEOUT: no answer / not received within the ring timeout (N → T).
- CANCEL: the agent hung up before the mobile answered (N → E).
- DEVICE_NOT_REGISTERED: the target device has no registration (N → I).
- END: either side hung up, or the call ended with a failure, after the answer (A → C).
- SWEEP: housekeeping found the call-back's timers lost (N, A → F). The seed lists F only after A; a
  call-back stuck ringing is swept the same way so its agent is released too.
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class CallbackState(StrEnum):
    NEW = "N"
    ACCEPTED = "A"
    COMPLETED = "C"
    RELEASED = "F"
    CANCELLED_BY_AGENT = "E"
    TIMEOUT = "T"
    NOT_REGISTERED = "I"


class CallbackEvent(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    RING_TIMEOUT = "ring_timeout"
    CANCEL = "cancel"
    DEVICE_NOT_REGISTERED = "device_not_registered"
    END = "end"
    SWEEP = "sweep"


S, E = CallbackState, CallbackEvent

CALLBACK = StateMachine[CallbackState, CallbackEvent](
    name="callback",
    initial=S.NEW,
    finals=frozenset({S.COMPLETED, S.RELEASED, S.CANCELLED_BY_AGENT, S.TIMEOUT, S.NOT_REGISTERED}),
    table={
        (S.NEW, E.ACCEPT): S.ACCEPTED,
        (S.NEW, E.DECLINE): S.TIMEOUT,
        (S.NEW, E.RING_TIMEOUT): S.TIMEOUT,
        (S.NEW, E.CANCEL): S.CANCELLED_BY_AGENT,
        (S.NEW, E.DEVICE_NOT_REGISTERED): S.NOT_REGISTERED,
        (S.NEW, E.SWEEP): S.RELEASED,
        (S.ACCEPTED, E.END): S.COMPLETED,
        (S.ACCEPTED, E.SWEEP): S.RELEASED,
    },
)


def transition(state: CallbackState, event: CallbackEvent) -> CallbackState:
    """The call-back's one transition function. Raises ``IllegalTransition``."""
    return CALLBACK.transition(state, event)
