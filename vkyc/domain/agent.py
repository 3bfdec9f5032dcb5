"""Agent (TĐV) states: OFFLINE, and online as AVAILABLE, UNAVAILABLE (break), RINGING, IN_CALL, WRAP_UP.

- OFFLINE: not logged in, or logged out by choice, by session loss or at end of day. Initial.
- AVAILABLE: ready; the router may offer calls.
- UNAVAILABLE: on break, just logged in and not yet ready, or put aside after letting an offer ring out.
- RINGING: one offer is pending at this agent.
- IN_CALL: bound to an inbound call or an outbound call-back.
- WRAP_UP: the call ended and the dossier decision is not yet submitted; bounded by a configurable limit.

No state is final: an agent's day loops through these.

Events:

- LOGIN: OFFLINE → UNAVAILABLE. Logging in does not make the agent ready: calls only go to a desk
  whose agent said so (READY), the same reason a missed offer sets UNAVAILABLE.
- READY: UNAVAILABLE → AVAILABLE; also WRAP_UP → AVAILABLE: the agent ends after-call work without
  deciding (the dossier stays waiting, as when the wrap-up limit passes).
- BREAK: AVAILABLE → UNAVAILABLE.
- OFFER: AVAILABLE → RINGING.
- ACCEPT: RINGING → IN_CALL.
- REJECT: RINGING → AVAILABLE.
- RING_TIMEOUT: the agent let the offer ring out (missed), RINGING → UNAVAILABLE, so calls stop going
  to an absent desk. Where that policy is switched off, the service follows with READY, so
  the miss stays on the agent's record.
- OFFER_WITHDRAWN: the caller hung up or the system withdrew the offer while ringing, RINGING → AVAILABLE.
- CALL_ENDED: IN_CALL → WRAP_UP: the call ended and a decision is still owed.
- RELEASE: IN_CALL → AVAILABLE: the call ended and no decision is owed (it was submitted during the
  call, the call-back was never answered, or the media never arrived).
- DECISION_SUBMITTED: WRAP_UP → AVAILABLE.
- WRAP_UP_EXPIRED: the wrap-up limit passed, WRAP_UP → AVAILABLE. The dossier stays waiting (W) for a
  later decision; the agent is not held back from the queue.
- CALLBACK_STARTED: the agent calls the customer back, AVAILABLE or WRAP_UP → IN_CALL. From WRAP_UP
  because calling back a customer whose call dropped is the usual reason to call out, before deciding.
  A call-back nobody answered (no answer, declined) ends with CALL_ENDED: the agent holds it in WRAP_UP,
  where "unreachable" (D) may be decided through it.
- CALLBACK_NOT_PLACED: the call-back could not ring (no registered device, ``I``): AVAILABLE or
  WRAP_UP → WRAP_UP, holding it, for the same reason.
- LOGOUT: OFFLINE by choice, from AVAILABLE, UNAVAILABLE or WRAP_UP; not while RINGING or IN_CALL
  (the agent must finish first).
- SESSION_LOST: the agent's socket stayed gone beyond the grace, any online state → OFFLINE.
- END_OF_DAY: the configured end of day, any online state → OFFLINE.
- SWEEP: housekeeping releases an agent stuck in RINGING, IN_CALL or WRAP_UP whose call is final,
  → AVAILABLE.
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class AgentState(StrEnum):
    OFFLINE = "OFFLINE"
    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"
    RINGING = "RINGING"
    IN_CALL = "IN_CALL"
    WRAP_UP = "WRAP_UP"


class AgentEvent(StrEnum):
    LOGIN = "login"
    READY = "ready"
    BREAK = "break"
    OFFER = "offer"
    ACCEPT = "accept"
    REJECT = "reject"
    RING_TIMEOUT = "ring_timeout"
    RANG_OUT = "rang_out"  # a missed offer where ``missed_offer_sets_unavailable`` is off: stays AVAILABLE
    OFFER_WITHDRAWN = "offer_withdrawn"
    CALL_ENDED = "call_ended"
    RELEASE = "release"
    DECISION_SUBMITTED = "decision_submitted"
    AFTER_CALL_WORK = "after_call_work"
    """Decided, and the agent asked to stay in wrap-up (issue #16) until they set themselves available."""
    WRAP_UP_EXPIRED = "wrap_up_expired"
    CALLBACK_STARTED = "callback_started"
    CALLBACK_NOT_PLACED = "callback_not_placed"
    LOGOUT = "logout"
    SESSION_LOST = "session_lost"
    END_OF_DAY = "end_of_day"
    SWEEP = "sweep"


S, E = AgentState, AgentEvent

ONLINE_STATES: frozenset[AgentState] = frozenset(
    {S.AVAILABLE, S.UNAVAILABLE, S.RINGING, S.IN_CALL, S.WRAP_UP}
)
"""Every state but OFFLINE."""

AGENT = StateMachine[AgentState, AgentEvent](
    name="agent",
    initial=S.OFFLINE,
    table={
        (S.OFFLINE, E.LOGIN): S.UNAVAILABLE,
        (S.UNAVAILABLE, E.READY): S.AVAILABLE,
        (S.AVAILABLE, E.BREAK): S.UNAVAILABLE,
        (S.AVAILABLE, E.OFFER): S.RINGING,
        (S.RINGING, E.ACCEPT): S.IN_CALL,
        (S.RINGING, E.REJECT): S.AVAILABLE,
        (S.RINGING, E.RING_TIMEOUT): S.UNAVAILABLE,
        (S.RINGING, E.RANG_OUT): S.AVAILABLE,
        (S.RINGING, E.OFFER_WITHDRAWN): S.AVAILABLE,
        (S.IN_CALL, E.CALL_ENDED): S.WRAP_UP,
        (S.IN_CALL, E.RELEASE): S.AVAILABLE,
        (S.IN_CALL, E.AFTER_CALL_WORK): S.WRAP_UP,
        (S.WRAP_UP, E.AFTER_CALL_WORK): S.WRAP_UP,
        (S.WRAP_UP, E.DECISION_SUBMITTED): S.AVAILABLE,
        (S.WRAP_UP, E.WRAP_UP_EXPIRED): S.AVAILABLE,
        (S.AVAILABLE, E.CALLBACK_STARTED): S.IN_CALL,
        (S.WRAP_UP, E.CALLBACK_STARTED): S.IN_CALL,
        (S.AVAILABLE, E.CALLBACK_NOT_PLACED): S.WRAP_UP,
        (S.WRAP_UP, E.CALLBACK_NOT_PLACED): S.WRAP_UP,
        (S.WRAP_UP, E.READY): S.AVAILABLE,
        (S.AVAILABLE, E.LOGOUT): S.OFFLINE,
        (S.UNAVAILABLE, E.LOGOUT): S.OFFLINE,
        (S.WRAP_UP, E.LOGOUT): S.OFFLINE,
        **{(state, E.SESSION_LOST): S.OFFLINE for state in ONLINE_STATES},
        **{(state, E.END_OF_DAY): S.OFFLINE for state in ONLINE_STATES},
        (S.RINGING, E.SWEEP): S.AVAILABLE,
        (S.IN_CALL, E.SWEEP): S.AVAILABLE,
        (S.WRAP_UP, E.SWEEP): S.AVAILABLE,
    },
)


def transition(state: AgentState, event: AgentEvent) -> AgentState:
    """The agent's one transition function. Raises ``IllegalTransition``."""
    return AGENT.transition(state, event)
