"""The outbound call-back machine against a hand-written table from seed 000 §4 (N, A, C, F, E, T, I)."""

from __future__ import annotations

from enum import Enum

import pytest

from tests.unit.machine_contract import MachineContract
from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState, transition
from vkyc.domain.machine import IllegalTransition

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


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


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


class TestCallbackMachineContract(MachineContract):
    MACHINE = CALLBACK
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = FINALS
    NAME = "callback"
    INITIAL = S.NEW
