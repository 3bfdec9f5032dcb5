"""The offer machine (one call to one agent) against a hand-written table: PENDING → five final outcomes."""

from __future__ import annotations

import itertools
from enum import Enum

import pytest

from vkyc.domain.machine import IllegalTransition, StateMachine
from vkyc.domain.offer import OFFER, OfferEvent, OfferState, transition

S, E = OfferState, OfferEvent

EXPECTED: dict[OfferState, dict[OfferEvent, OfferState]] = {
    S.PENDING: {
        E.ACCEPT: S.ACCEPTED,
        E.REJECT: S.REJECTED,
        E.RING_TIMEOUT: S.MISSED,
        E.CANCEL: S.CANCELLED,
        E.RESCIND: S.RESCINDED,
    },
    S.ACCEPTED: {},
    S.REJECTED: {},
    S.MISSED: {},
    S.CANCELLED: {},
    S.RESCINDED: {},
}
FINALS = {S.ACCEPTED, S.REJECTED, S.MISSED, S.CANCELLED, S.RESCINDED}

ALLOWED = [(s, e, t) for s, moves in EXPECTED.items() for e, t in moves.items()]
FORBIDDEN = [(s, e) for s, e in itertools.product(S, E) if e not in EXPECTED[s]]


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def test_expected_table_covers_every_state() -> None:
    assert set(EXPECTED) == set(S)
    assert len(ALLOWED) + len(FORBIDDEN) == len(S) * len(E)


def test_machine_is_named_offer_and_starts_pending() -> None:
    assert OFFER.name == "offer"
    assert OFFER.initial is S.PENDING


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED, ids=_name)
def test_allowed_move_returns_expected_target(
    state: OfferState, event: OfferEvent, target: OfferState
) -> None:
    assert transition(state, event) is target
    assert OFFER.can(state, event)


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=_name)
def test_other_move_raises_illegal_transition_naming_machine_state_and_event(
    state: OfferState, event: OfferEvent
) -> None:
    assert not OFFER.can(state, event)
    with pytest.raises(IllegalTransition) as info:
        transition(state, event)
    message = str(info.value)
    assert "offer" in message
    assert repr(state.value) in message
    assert repr(event.value) in message
    assert info.value.machine == "offer"
    assert info.value.state is state
    assert info.value.event is event


@pytest.mark.parametrize("state", list(S), ids=_name)
def test_is_final_for_every_state_but_pending(state: OfferState) -> None:
    assert OFFER.is_final(state) is (state in FINALS)


@pytest.mark.parametrize("state", sorted(FINALS), ids=_name)
def test_final_state_has_no_outgoing_move(state: OfferState) -> None:
    assert OFFER.events_from(state) == frozenset()


def test_every_state_is_reachable_from_pending() -> None:
    seen = {OFFER.initial}
    frontier = [OFFER.initial]
    while frontier:
        state = frontier.pop()
        for event in OFFER.events_from(state):
            target = OFFER.transition(state, event)
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(S)


def test_constructor_rejects_a_move_out_of_a_final_state() -> None:
    with pytest.raises(ValueError, match="final state 'MISSED' has an outgoing transition"):
        StateMachine[OfferState, OfferEvent](
            name="offer",
            initial=S.PENDING,
            finals=frozenset(FINALS),
            table={**OFFER.table, (S.MISSED, E.ACCEPT): S.ACCEPTED},
        )


def test_late_accept_after_the_ring_timed_out_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        transition(transition(S.PENDING, E.RING_TIMEOUT), E.ACCEPT)


def test_accept_after_the_caller_hung_up_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        transition(transition(S.PENDING, E.CANCEL), E.ACCEPT)
