"""The outbound call-back machine against a hand-written table from seed 000 §4 (N, A, C, F, E, T, I)."""

from __future__ import annotations

import itertools
from enum import Enum

import pytest

from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState, transition
from vkyc.domain.machine import IllegalTransition, StateMachine

S, E = CallbackState, CallbackEvent

EXPECTED: dict[CallbackState, dict[CallbackEvent, CallbackState]] = {
    S.NEW: {
        E.ACCEPT: S.ACCEPTED,
        E.DECLINE: S.TIMEOUT,
        E.RING_TIMEOUT: S.TIMEOUT,
        E.CANCEL: S.CANCELLED_BY_AGENT,
        E.DEVICE_NOT_REGISTERED: S.NOT_REGISTERED,
        E.SWEEP: S.RELEASED,
    },
    S.ACCEPTED: {E.END: S.COMPLETED, E.SWEEP: S.RELEASED},
    S.COMPLETED: {},
    S.RELEASED: {},
    S.CANCELLED_BY_AGENT: {},
    S.TIMEOUT: {},
    S.NOT_REGISTERED: {},
}
FINALS = {S.COMPLETED, S.RELEASED, S.CANCELLED_BY_AGENT, S.TIMEOUT, S.NOT_REGISTERED}

ALLOWED = [(s, e, t) for s, moves in EXPECTED.items() for e, t in moves.items()]
FORBIDDEN = [(s, e) for s, e in itertools.product(S, E) if e not in EXPECTED[s]]


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def test_expected_table_covers_every_state() -> None:
    assert set(EXPECTED) == set(S)
    assert len(ALLOWED) + len(FORBIDDEN) == len(S) * len(E)


def test_machine_is_named_callback_and_starts_new() -> None:
    assert CALLBACK.name == "callback"
    assert CALLBACK.initial is S.NEW


def test_states_carry_the_seed_letters() -> None:
    assert {s: s.value for s in S} == {
        S.NEW: "N",
        S.ACCEPTED: "A",
        S.COMPLETED: "C",
        S.RELEASED: "F",
        S.CANCELLED_BY_AGENT: "E",
        S.TIMEOUT: "T",
        S.NOT_REGISTERED: "I",
    }


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED, ids=_name)
def test_allowed_move_returns_expected_target(
    state: CallbackState, event: CallbackEvent, target: CallbackState
) -> None:
    assert transition(state, event) is target
    assert CALLBACK.can(state, event)


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=_name)
def test_other_move_raises_illegal_transition_naming_machine_state_and_event(
    state: CallbackState, event: CallbackEvent
) -> None:
    assert not CALLBACK.can(state, event)
    with pytest.raises(IllegalTransition) as info:
        transition(state, event)
    message = str(info.value)
    assert "callback" in message
    assert repr(state.value) in message
    assert repr(event.value) in message
    assert info.value.machine == "callback"
    assert info.value.state is state
    assert info.value.event is event


@pytest.mark.parametrize("state", list(S), ids=_name)
def test_is_final_for_every_state_but_new_and_accepted(state: CallbackState) -> None:
    assert CALLBACK.is_final(state) is (state in FINALS)


@pytest.mark.parametrize("state", sorted(FINALS), ids=_name)
def test_final_state_has_no_outgoing_move(state: CallbackState) -> None:
    assert CALLBACK.events_from(state) == frozenset()


@pytest.mark.parametrize("state", list(S), ids=_name)
def test_events_from_lists_the_expected_events(state: CallbackState) -> None:
    assert CALLBACK.events_from(state) == frozenset(EXPECTED[state])


def test_every_state_is_reachable_from_new() -> None:
    seen = {CALLBACK.initial}
    frontier = [CALLBACK.initial]
    while frontier:
        state = frontier.pop()
        for event in CALLBACK.events_from(state):
            target = CALLBACK.transition(state, event)
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(S)


def test_constructor_rejects_a_move_out_of_a_final_state() -> None:
    with pytest.raises(ValueError, match="final state 'T' has an outgoing transition"):
        StateMachine[CallbackState, CallbackEvent](
            name="callback",
            initial=S.NEW,
            finals=frozenset(FINALS),
            table={**CALLBACK.table, (S.TIMEOUT, E.ACCEPT): S.ACCEPTED},
        )


def test_mobile_declining_counts_as_timeout() -> None:
    assert transition(S.NEW, E.DECLINE) is S.TIMEOUT


def test_answered_call_back_ends_completed() -> None:
    assert transition(transition(S.NEW, E.ACCEPT), E.END) is S.COMPLETED


def test_agent_ending_before_the_answer_is_e() -> None:
    assert transition(S.NEW, E.CANCEL) is S.CANCELLED_BY_AGENT


def test_agent_cannot_cancel_once_the_mobile_answered() -> None:
    with pytest.raises(IllegalTransition):
        transition(S.ACCEPTED, E.CANCEL)


@pytest.mark.parametrize("state", [S.NEW, S.ACCEPTED], ids=_name)
def test_sweeper_releases_a_stuck_call_back(state: CallbackState) -> None:
    assert transition(state, E.SWEEP) is S.RELEASED
