"""The dossier machine against a hand-written table from the domain doc (N → W → A/R/C/D; D → W; C → A/R)."""

from __future__ import annotations

from enum import Enum

from tests.unit.machine_contract import MachineContract
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState, transition

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


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def test_state_values_are_the_seed_letters() -> None:
    assert {s.value for s in S} == {"N", "W", "A", "R", "C", "D"}


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


class TestDossierMachineContract(MachineContract):
    MACHINE = DOSSIER
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = FINALS
    NAME = "dossier"
    INITIAL = S.NEW
