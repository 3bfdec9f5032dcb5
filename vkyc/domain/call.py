"""Inbound call (mobile → agent) states.

States (seed letters where the seed gives them):

- ``N`` NEW: call created, agent code issued to the mobile; waiting in the queue for an agent.
- ``W`` RINGING: an offer is pending at one agent (the popup).
- ``A`` ACCEPTED: the agent accepted; media is being connected.
- ``R`` REJECTED: the agent rejected the current offer.
- ``M`` MISSED: the agent did not answer the popup in time.
- ``E`` CALLER_HUNG_UP: the customer hung up (or the mobile went away) before an agent accepted. Final.
- ``T`` NO_CALL_ARRIVED: the mobile got an agent but no media arrived within X seconds. Final.
- ``CONNECTED``: media flows both ways.
- ``RECONNECTING``: one side's socket dropped; the call waits for it within the reconnect grace.
- ``FINISHED``: the call ended; how is recorded as an ``EndReason`` and who as ``EndedBy``. Final.
  The seed's success letter ``C`` is FINISHED with reason ``completed``: FINISHED also covers failures,
  so it does not reuse the letter.

R and M are not final: the call is offered to the next agent (→ W), goes back to waiting (→ N), or ends
with ``no_agent`` when the queue timeout passes (→ FINISHED). The seed's sweeper rule "everything except
N, W, A is final" therefore reads here as: final = E, T, FINISHED; an agent is bound to the call only in
``LIVE_STATES``.

Events:

- OFFER: the router put the call to one agent (N, R, M → W).
- ACCEPT / REJECT / RING_TIMEOUT: the agent's answer to the offer, or its absence (W → A / R / M).
- REQUEUE: no agent takes it right now, so it waits in the queue again (R, M → N); also W → N when the
  system withdrew the pending offer (agent session lost, takeover on another device, call moved node).
- CALLER_HANGUP: the customer hung up, or the mobile's socket closed, before an agent accepted (→ E).
- NO_AGENT: routing gave up: the queue timeout passed, or the call was offered to the most agents
  allowed (→ FINISHED, ``no_agent``). Also from W: the queue timeout bounds the customer's wait, so it
  cancels a ring in progress.
- NO_CALL_TIMEOUT: accepted, but the media node did not report both parties' media up within the
  ``no_call_arrived_s`` setting after the accept (A → T).
- MEDIA_CONNECTED: the media node reports both parties' media up (A → CONNECTED).
- PARTY_DROPPED: a side's socket dropped (A, CONNECTED → RECONNECTING). The per-side bookkeeping lives
  with the call record; a second side dropping while reconnecting keeps the call RECONNECTING.
- PARTY_RESUMED: every dropped side is back within the grace (RECONNECTING → CONNECTED); the call had
  been answered, so it continues as connected and renegotiates media there.
- GRACE_EXPIRED: a side did not come back within the grace (RECONNECTING → FINISHED, ``grace_expired``).
- END: a side hung up, left, or media failed (A, CONNECTED, RECONNECTING → FINISHED).
- SWEEP: housekeeping ended a call whose timers were lost (any non-final state → FINISHED, ``swept``).
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class CallState(StrEnum):
    NEW = "N"
    RINGING = "W"
    ACCEPTED = "A"
    REJECTED = "R"
    MISSED = "M"
    CALLER_HUNG_UP = "E"
    NO_CALL_ARRIVED = "T"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    FINISHED = "FINISHED"


class CallEvent(StrEnum):
    OFFER = "offer"
    ACCEPT = "accept"
    REJECT = "reject"
    RING_TIMEOUT = "ring_timeout"
    REQUEUE = "requeue"
    CALLER_HANGUP = "caller_hangup"
    NO_AGENT = "no_agent"
    NO_CALL_TIMEOUT = "no_call_timeout"
    MEDIA_CONNECTED = "media_connected"
    PARTY_DROPPED = "party_dropped"
    PARTY_RESUMED = "party_resumed"
    GRACE_EXPIRED = "grace_expired"
    END = "end"
    SWEEP = "sweep"


class EndReason(StrEnum):
    """Why a call is FINISHED."""

    COMPLETED = "completed"  # normal hang-up by either side
    NO_AGENT = "no_agent"  # routing gave up: queue timeout, or most offers made
    GRACE_EXPIRED = "grace_expired"  # a side did not come back within the reconnect grace
    MOBILE_LEFT = "mobile_left"  # app crashed, socket gone or app closed
    AGENT_LEFT = "agent_left"  # agent closed the browser
    MEDIA_FAILED = "media_failed"
    MEDIA_NODE_LOST = "media_node_lost"  # the media node carrying the call died or stopped
    SWEPT = "swept"  # housekeeping ended a call whose timers were lost


class EndedBy(StrEnum):
    MOBILE = "mobile"
    AGENT = "agent"
    SYSTEM = "system"


S, E = CallState, CallEvent

CALL = StateMachine[CallState, CallEvent](
    name="call",
    initial=S.NEW,
    finals=frozenset({S.CALLER_HUNG_UP, S.NO_CALL_ARRIVED, S.FINISHED}),
    table={
        (S.NEW, E.OFFER): S.RINGING,
        (S.NEW, E.CALLER_HANGUP): S.CALLER_HUNG_UP,
        (S.NEW, E.NO_AGENT): S.FINISHED,
        (S.NEW, E.SWEEP): S.FINISHED,
        (S.RINGING, E.ACCEPT): S.ACCEPTED,
        (S.RINGING, E.REJECT): S.REJECTED,
        (S.RINGING, E.RING_TIMEOUT): S.MISSED,
        (S.RINGING, E.REQUEUE): S.NEW,
        (S.RINGING, E.CALLER_HANGUP): S.CALLER_HUNG_UP,
        (S.RINGING, E.NO_AGENT): S.FINISHED,
        (S.RINGING, E.SWEEP): S.FINISHED,
        (S.REJECTED, E.OFFER): S.RINGING,
        (S.REJECTED, E.REQUEUE): S.NEW,
        (S.REJECTED, E.CALLER_HANGUP): S.CALLER_HUNG_UP,
        (S.REJECTED, E.NO_AGENT): S.FINISHED,
        (S.REJECTED, E.SWEEP): S.FINISHED,
        (S.MISSED, E.OFFER): S.RINGING,
        (S.MISSED, E.REQUEUE): S.NEW,
        (S.MISSED, E.CALLER_HANGUP): S.CALLER_HUNG_UP,
        (S.MISSED, E.NO_AGENT): S.FINISHED,
        (S.MISSED, E.SWEEP): S.FINISHED,
        (S.ACCEPTED, E.MEDIA_CONNECTED): S.CONNECTED,
        (S.ACCEPTED, E.NO_CALL_TIMEOUT): S.NO_CALL_ARRIVED,
        (S.ACCEPTED, E.PARTY_DROPPED): S.RECONNECTING,
        (S.ACCEPTED, E.END): S.FINISHED,
        (S.ACCEPTED, E.SWEEP): S.FINISHED,
        (S.CONNECTED, E.PARTY_DROPPED): S.RECONNECTING,
        (S.CONNECTED, E.END): S.FINISHED,
        (S.CONNECTED, E.SWEEP): S.FINISHED,
        (S.RECONNECTING, E.PARTY_DROPPED): S.RECONNECTING,
        (S.RECONNECTING, E.PARTY_RESUMED): S.CONNECTED,
        (S.RECONNECTING, E.GRACE_EXPIRED): S.FINISHED,
        (S.RECONNECTING, E.END): S.FINISHED,
        (S.RECONNECTING, E.SWEEP): S.FINISHED,
    },
)


def transition(state: CallState, event: CallEvent) -> CallState:
    """The inbound call's one transition function. Raises ``IllegalTransition``."""
    return CALL.transition(state, event)


LIVE_STATES: frozenset[CallState] = frozenset({S.ACCEPTED, S.CONNECTED, S.RECONNECTING})
"""States in which an agent is bound to the call."""

WAITING_STATES: frozenset[CallState] = frozenset({S.NEW, S.RINGING, S.REJECTED, S.MISSED})
"""States in which the call waits for an agent (at most an offer is pending)."""

END_REASONS: dict[CallEvent, frozenset[EndReason]] = {
    E.NO_AGENT: frozenset({EndReason.NO_AGENT}),
    E.GRACE_EXPIRED: frozenset({EndReason.GRACE_EXPIRED}),
    E.SWEEP: frozenset({EndReason.SWEPT}),
    E.END: frozenset(
        {
            EndReason.COMPLETED,
            EndReason.MOBILE_LEFT,
            EndReason.AGENT_LEFT,
            EndReason.MEDIA_FAILED,
            EndReason.MEDIA_NODE_LOST,
        }
    ),
}
"""For each event that can enter FINISHED, the end reasons that may be recorded with it."""
