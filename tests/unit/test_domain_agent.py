"""The agent machine against a hand-written table from the domain doc (seed 000 §3.2 plus the decisions)."""

from __future__ import annotations

from enum import Enum

import pytest

from tests.unit.machine_contract import MachineContract
from vkyc.domain.agent import AGENT, ONLINE_STATES, AgentEvent, AgentState, transition
from vkyc.domain.machine import IllegalTransition

S, E = AgentState, AgentEvent

# Every online state can be knocked offline by session loss or end of day.
_FORCED_OFFLINE = {E.SESSION_LOST: S.OFFLINE, E.END_OF_DAY: S.OFFLINE}

EXPECTED: dict[AgentState, dict[AgentEvent, AgentState]] = {
    S.OFFLINE: {E.LOGIN: S.UNAVAILABLE},
    S.UNAVAILABLE: {E.READY: S.AVAILABLE, E.LOGOUT: S.OFFLINE, **_FORCED_OFFLINE},
    S.AVAILABLE: {
        E.BREAK: S.UNAVAILABLE,
        E.OFFER: S.RINGING,
        E.CALLBACK_STARTED: S.IN_CALL,
        E.CALLBACK_NOT_PLACED: S.WRAP_UP,
        E.LOGOUT: S.OFFLINE,
        **_FORCED_OFFLINE,
    },
    S.RINGING: {
        E.ACCEPT: S.IN_CALL,
        E.REJECT: S.AVAILABLE,
        E.RING_TIMEOUT: S.UNAVAILABLE,
        E.RANG_OUT: S.AVAILABLE,  # missed_offer_sets_unavailable off
        E.OFFER_WITHDRAWN: S.AVAILABLE,
        E.SWEEP: S.AVAILABLE,
        **_FORCED_OFFLINE,
    },
    S.IN_CALL: {
        E.CALL_ENDED: S.WRAP_UP,
        E.RELEASE: S.AVAILABLE,
        E.AFTER_CALL_WORK: S.WRAP_UP,
        E.SWEEP: S.AVAILABLE,
        **_FORCED_OFFLINE,
    },
    S.WRAP_UP: {
        E.DECISION_SUBMITTED: S.AVAILABLE,
        E.AFTER_CALL_WORK: S.WRAP_UP,
        E.WRAP_UP_EXPIRED: S.AVAILABLE,
        E.CALLBACK_STARTED: S.IN_CALL,
        E.CALLBACK_NOT_PLACED: S.WRAP_UP,
        E.READY: S.AVAILABLE,
        E.LOGOUT: S.OFFLINE,
        E.SWEEP: S.AVAILABLE,
        **_FORCED_OFFLINE,
    },
}


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _run(*events: AgentEvent) -> AgentState:
    state = AGENT.initial
    for event in events:
        state = transition(state, event)
    return state


def test_final_states_are_none() -> None:
    assert AGENT.finals == frozenset()


def test_online_states_are_every_state_but_offline() -> None:
    assert {S.AVAILABLE, S.UNAVAILABLE, S.RINGING, S.IN_CALL, S.WRAP_UP} == ONLINE_STATES


@pytest.mark.parametrize("state", sorted(ONLINE_STATES), ids=_name)
def test_session_lost_beyond_grace_takes_any_online_agent_offline(state: AgentState) -> None:
    assert transition(state, E.SESSION_LOST) is S.OFFLINE


@pytest.mark.parametrize("state", sorted(ONLINE_STATES), ids=_name)
def test_end_of_day_takes_every_online_agent_offline(state: AgentState) -> None:
    assert transition(state, E.END_OF_DAY) is S.OFFLINE


@pytest.mark.parametrize("state", [S.RINGING, S.IN_CALL], ids=_name)
def test_agent_cannot_log_out_while_ringing_or_in_call(state: AgentState) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, E.LOGOUT)


@pytest.mark.parametrize("state", [S.RINGING, S.IN_CALL, S.WRAP_UP], ids=_name)
def test_sweeper_releases_a_stuck_agent_to_available(state: AgentState) -> None:
    assert transition(state, E.SWEEP) is S.AVAILABLE


def test_login_then_ready_makes_the_agent_available() -> None:
    assert _run(E.LOGIN) is S.UNAVAILABLE
    assert _run(E.LOGIN, E.READY) is S.AVAILABLE


def test_missed_offer_sets_the_agent_unavailable() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.RING_TIMEOUT) is S.UNAVAILABLE


def test_rejecting_an_offer_returns_the_agent_to_available() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.REJECT) is S.AVAILABLE


def test_caller_hanging_up_while_ringing_returns_the_agent_to_available() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.OFFER_WITHDRAWN) is S.AVAILABLE


def test_accepted_call_goes_through_wrap_up_to_available() -> None:
    state = _run(E.LOGIN, E.READY, E.OFFER, E.ACCEPT, E.CALL_ENDED)
    assert state is S.WRAP_UP
    assert transition(state, E.DECISION_SUBMITTED) is S.AVAILABLE


def test_expired_wrap_up_returns_the_agent_to_available() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.ACCEPT, E.CALL_ENDED, E.WRAP_UP_EXPIRED) is S.AVAILABLE


def test_call_ended_with_decision_already_made_skips_wrap_up() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.ACCEPT, E.RELEASE) is S.AVAILABLE


def test_agent_calls_the_customer_back_from_wrap_up() -> None:
    assert _run(E.LOGIN, E.READY, E.OFFER, E.ACCEPT, E.CALL_ENDED, E.CALLBACK_STARTED) is S.IN_CALL


def test_agent_on_break_gets_no_offer() -> None:
    with pytest.raises(IllegalTransition):
        _run(E.LOGIN, E.READY, E.BREAK, E.OFFER)


class TestAgentMachineContract(MachineContract):
    MACHINE = AGENT
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = set()
    NAME = "agent"
    INITIAL = S.OFFLINE
