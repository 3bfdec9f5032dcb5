"""The dossier machine against a hand-written table from the domain doc (N → W → A/R/C/D; D → W; C → A/R)."""

from __future__ import annotations

import itertools
from enum import Enum

import pytest

from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState, transition
from vkyc.domain.machine import IllegalTransition, StateMachine

S, E = DossierState, DossierEvent

EXPECTED: dict[DossierState, dict[DossierEvent, DossierState]] = {
    S.NEW: {E.SUBMIT: S.WAITING},
    S.WAITING: {
        E.APPROVE: S.APPROVED,
        E.REJECT: S.REJECTED,
        E.POST_AUDIT: S.POST_AUDIT,
        E.UNREACHABLE: S.UNREACHABLE,
    },
    S.UNREACHABLE: {E.RETRY: S.WAITING},
    S.POST_AUDIT: {E.REVIEW_APPROVE: S.APPROVED, E.REVIEW_REJECT: S.REJECTED},
    S.APPROVED: {},
    S.REJECTED: {},
}
FINALS = {S.APPROVED, S.REJECTED}

ALLOWED = [(s, e, t) for s, moves in EXPECTED.items() for e, t in moves.items()]
FORBIDDEN = [(s, e) for s, e in itertools.product(S, E) if e not in EXPECTED[s]]


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def test_expected_table_covers_every_state() -> None:
    assert set(EXPECTED) == set(S)
    assert len(ALLOWED) + len(FORBIDDEN) == len(S) * len(E)


def test_machine_is_named_dossier_and_starts_new() -> None:
    assert DOSSIER.name == "dossier"
    assert DOSSIER.initial is S.NEW


def test_state_values_are_the_seed_letters() -> None:
    assert {s.value for s in S} == {"N", "W", "A", "R", "C", "D"}


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED, ids=_name)
def test_allowed_move_returns_expected_target(
    state: DossierState, event: DossierEvent, target: DossierState
) -> None:
    assert transition(state, event) is target
    assert DOSSIER.can(state, event)


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=_name)
def test_other_move_raises_illegal_transition_naming_machine_state_and_event(
    state: DossierState, event: DossierEvent
) -> None:
    assert not DOSSIER.can(state, event)
    with pytest.raises(IllegalTransition) as info:
        transition(state, event)
    message = str(info.value)
    assert "dossier" in message
    assert repr(state.value) in message
    assert repr(event.value) in message
    assert info.value.machine == "dossier"
    assert info.value.state is state
    assert info.value.event is event
    assert info.value.code == "ILLEGAL_TRANSITION"


@pytest.mark.parametrize("state", list(S), ids=_name)
def test_is_final_only_for_approved_and_rejected(state: DossierState) -> None:
    assert DOSSIER.is_final(state) is (state in FINALS)


@pytest.mark.parametrize("state", sorted(FINALS), ids=_name)
def test_final_state_has_no_outgoing_move(state: DossierState) -> None:
    assert DOSSIER.events_from(state) == frozenset()


@pytest.mark.parametrize("state", list(S), ids=_name)
def test_events_from_lists_the_expected_events(state: DossierState) -> None:
    assert DOSSIER.events_from(state) == frozenset(EXPECTED[state])


def test_every_state_is_reachable_from_new() -> None:
    seen = {DOSSIER.initial}
    frontier = [DOSSIER.initial]
    while frontier:
        state = frontier.pop()
        for event in DOSSIER.events_from(state):
            target = DOSSIER.transition(state, event)
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(S)


def test_constructor_rejects_a_move_out_of_a_final_state() -> None:
    with pytest.raises(ValueError, match="final state 'A' has an outgoing transition"):
        StateMachine[DossierState, DossierEvent](
            name="dossier",
            initial=S.NEW,
            finals=frozenset(FINALS),
            table={**DOSSIER.table, (S.APPROVED, E.RETRY): S.WAITING},
        )


def test_unreachable_customer_is_retried_then_approved() -> None:
    state = S.NEW
    for event in (E.SUBMIT, E.UNREACHABLE, E.RETRY, E.APPROVE):
        state = transition(state, event)
    assert state is S.APPROVED


def test_post_audit_is_decided_again_by_back_office_review() -> None:
    assert transition(transition(S.WAITING, E.POST_AUDIT), E.REVIEW_REJECT) is S.REJECTED


def test_each_decision_letter_maps_to_the_event_that_reaches_it() -> None:
    assert set(DECISION_EVENTS) == {S.APPROVED, S.REJECTED, S.POST_AUDIT, S.UNREACHABLE}
    for decided, event in DECISION_EVENTS.items():
        assert transition(S.WAITING, event) is decided
