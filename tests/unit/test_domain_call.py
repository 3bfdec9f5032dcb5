"""The inbound call machine against a hand-written table from the domain doc (seeds 000 §3.1, 002)."""

from __future__ import annotations

from enum import Enum

import pytest

from tests.unit.machine_contract import MachineContract
from vkyc.domain.call import (
    CALL,
    END_REASONS,
    LIVE_STATES,
    WAITING_STATES,
    CallEvent,
    CallState,
    EndedBy,
    EndReason,
    transition,
)
from vkyc.domain.machine import IllegalTransition

S, E = CallState, CallEvent

# Waiting states R and M share their moves: next agent, back to the queue, or the call ends.
_AFTER_A_FAILED_OFFER = {
    E.OFFER: S.RINGING,
    E.REQUEUE: S.NEW,
    E.CALLER_HANGUP: S.CALLER_HUNG_UP,
    E.NO_AGENT: S.FINISHED,
    E.SWEEP: S.FINISHED,
}

EXPECTED: dict[CallState, dict[CallEvent, CallState]] = {
    S.NEW: {
        E.OFFER: S.RINGING,
        E.CALLER_HANGUP: S.CALLER_HUNG_UP,
        E.NO_AGENT: S.FINISHED,
        E.SWEEP: S.FINISHED,
    },
    S.RINGING: {
        E.ACCEPT: S.ACCEPTED,
        E.REJECT: S.REJECTED,
        E.RING_TIMEOUT: S.MISSED,
        E.REQUEUE: S.NEW,
        E.CALLER_HANGUP: S.CALLER_HUNG_UP,
        E.NO_AGENT: S.FINISHED,
        E.SWEEP: S.FINISHED,
    },
    S.REJECTED: dict(_AFTER_A_FAILED_OFFER),
    S.MISSED: dict(_AFTER_A_FAILED_OFFER),
    S.ACCEPTED: {
        E.MEDIA_CONNECTED: S.CONNECTED,
        E.NO_CALL_TIMEOUT: S.NO_CALL_ARRIVED,
        E.PARTY_DROPPED: S.RECONNECTING,
        E.END: S.FINISHED,
        E.SWEEP: S.FINISHED,
    },
    S.CONNECTED: {
        E.PARTY_DROPPED: S.RECONNECTING,
        E.END: S.FINISHED,
        E.SWEEP: S.FINISHED,
    },
    S.RECONNECTING: {
        E.PARTY_DROPPED: S.RECONNECTING,
        E.PARTY_RESUMED: S.CONNECTED,
        E.GRACE_EXPIRED: S.FINISHED,
        E.END: S.FINISHED,
        E.SWEEP: S.FINISHED,
    },
    S.CALLER_HUNG_UP: {},
    S.NO_CALL_ARRIVED: {},
    S.FINISHED: {},
}
FINALS = {S.CALLER_HUNG_UP, S.NO_CALL_ARRIVED, S.FINISHED}


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _run(*events: CallEvent) -> CallState:
    state = CALL.initial
    for event in events:
        state = transition(state, event)
    return state


def test_seed_states_keep_their_letters() -> None:
    letters = {
        S.NEW: "N",
        S.RINGING: "W",
        S.ACCEPTED: "A",
        S.REJECTED: "R",
        S.MISSED: "M",
        S.CALLER_HUNG_UP: "E",
        S.NO_CALL_ARRIVED: "T",
    }
    for state, letter in letters.items():
        assert state.value == letter


def test_state_values_are_distinct() -> None:
    assert len({s.value for s in S}) == len(S)


@pytest.mark.parametrize("state", [S.REJECTED, S.MISSED], ids=_name)
def test_rejected_and_missed_are_not_final(state: CallState) -> None:
    assert not CALL.is_final(state)
    assert transition(state, E.OFFER) is S.RINGING


def test_live_states_are_those_with_an_agent_bound() -> None:
    assert {S.ACCEPTED, S.CONNECTED, S.RECONNECTING} == LIVE_STATES


def test_waiting_states_are_new_ringing_rejected_missed() -> None:
    assert {S.NEW, S.RINGING, S.REJECTED, S.MISSED} == WAITING_STATES


def test_live_waiting_and_final_states_partition_all_states() -> None:
    assert not LIVE_STATES & WAITING_STATES
    assert not (LIVE_STATES | WAITING_STATES) & CALL.finals
    assert LIVE_STATES | WAITING_STATES | CALL.finals == set(S)


def test_end_reasons_are_given_for_exactly_the_events_that_can_finish_a_call() -> None:
    finishing = {e for s, moves in EXPECTED.items() for e, t in moves.items() if t is S.FINISHED}
    assert set(END_REASONS) == finishing


def test_every_end_reason_belongs_to_exactly_one_finishing_event() -> None:
    reasons = [r for allowed in END_REASONS.values() for r in allowed]
    assert sorted(reasons) == sorted(EndReason)
    assert END_REASONS[E.NO_AGENT] == {EndReason.NO_AGENT}
    assert END_REASONS[E.GRACE_EXPIRED] == {EndReason.GRACE_EXPIRED}
    assert END_REASONS[E.SWEEP] == {EndReason.SWEPT}


def test_end_reason_and_ended_by_values() -> None:
    assert {r.value for r in EndReason} == {
        "completed",
        "no_agent",
        "grace_expired",
        "mobile_left",
        "agent_left",
        "media_failed",
        "media_node_lost",
        "swept",
    }
    assert {b.value for b in EndedBy} == {"mobile", "agent", "system"}


def test_agent_accepts_and_call_completes() -> None:
    assert _run(E.OFFER, E.ACCEPT, E.MEDIA_CONNECTED, E.END) is S.FINISHED


def test_agent_one_rejects_then_agent_two_accepts() -> None:
    assert _run(E.OFFER, E.REJECT, E.OFFER, E.ACCEPT, E.MEDIA_CONNECTED) is S.CONNECTED


def test_missed_offer_goes_back_to_the_queue_then_reaches_another_agent() -> None:
    assert _run(E.OFFER, E.RING_TIMEOUT, E.REQUEUE, E.OFFER, E.ACCEPT) is S.ACCEPTED


def test_connection_lost_under_the_grace_resumes_the_call() -> None:
    assert _run(E.OFFER, E.ACCEPT, E.MEDIA_CONNECTED, E.PARTY_DROPPED, E.PARTY_RESUMED) is S.CONNECTED


def test_connection_lost_beyond_the_grace_ends_the_call() -> None:
    assert _run(E.OFFER, E.ACCEPT, E.MEDIA_CONNECTED, E.PARTY_DROPPED, E.GRACE_EXPIRED) is S.FINISHED


def test_both_sides_dropping_keeps_the_call_reconnecting() -> None:
    assert _run(E.OFFER, E.ACCEPT, E.MEDIA_CONNECTED, E.PARTY_DROPPED, E.PARTY_DROPPED) is S.RECONNECTING


def test_caller_hanging_up_while_ringing_is_final() -> None:
    state = _run(E.OFFER, E.CALLER_HANGUP)
    assert state is S.CALLER_HUNG_UP
    assert CALL.is_final(state)


def test_routing_giving_up_after_a_rejection_finishes_the_call() -> None:
    assert _run(E.OFFER, E.REJECT, E.NO_AGENT) is S.FINISHED


def test_accepted_call_without_media_times_out_as_no_call_arrived() -> None:
    assert _run(E.OFFER, E.ACCEPT, E.NO_CALL_TIMEOUT) is S.NO_CALL_ARRIVED


def test_caller_cannot_hang_up_as_unanswered_once_an_agent_accepted() -> None:
    with pytest.raises(IllegalTransition):
        _run(E.OFFER, E.ACCEPT, E.CALLER_HANGUP)


class TestCallMachineContract(MachineContract):
    MACHINE = CALL
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = FINALS
    NAME = "call"
    INITIAL = S.NEW
