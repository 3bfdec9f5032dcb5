"""Dossier (hồ sơ) states: N new → W waiting → A approved / R rejected / C post-audit / D unreachable.

A and R are final. D may go back to W for a retry. C is decided again by a back-office review (→ A/R).
A call may be placed only while the dossier is eligible (see ``eligibility``).
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class DossierState(StrEnum):
    NEW = "N"
    WAITING = "W"
    APPROVED = "A"
    REJECTED = "R"
    POST_AUDIT = "C"
    UNREACHABLE = "D"


class DossierEvent(StrEnum):
    SUBMIT = "submit"  # N → W: the dealer sent the dossier for video verification
    APPROVE = "approve"  # agent decision A
    REJECT = "reject"  # agent decision R
    POST_AUDIT = "post_audit"  # agent decision C: approved now, checked again later
    UNREACHABLE = "unreachable"  # agent decision D: the customer could not be reached
    RETRY = "retry"  # D → W: try again
    REVIEW_APPROVE = "review_approve"  # C → A by back-office review
    REVIEW_REJECT = "review_reject"  # C → R by back-office review


S, E = DossierState, DossierEvent

DOSSIER = StateMachine[DossierState, DossierEvent](
    name="dossier",
    initial=S.NEW,
    finals=frozenset({S.APPROVED, S.REJECTED}),
    table={
        (S.NEW, E.SUBMIT): S.WAITING,
        (S.WAITING, E.APPROVE): S.APPROVED,
        (S.WAITING, E.REJECT): S.REJECTED,
        (S.WAITING, E.POST_AUDIT): S.POST_AUDIT,
        (S.WAITING, E.UNREACHABLE): S.UNREACHABLE,
        (S.UNREACHABLE, E.RETRY): S.WAITING,
        (S.POST_AUDIT, E.REVIEW_APPROVE): S.APPROVED,
        (S.POST_AUDIT, E.REVIEW_REJECT): S.REJECTED,
    },
)


def transition(state: DossierState, event: DossierEvent) -> DossierState:
    """The dossier's one transition function. Raises ``IllegalTransition``."""
    return DOSSIER.transition(state, event)


DECISION_EVENTS: dict[DossierState, DossierEvent] = {
    S.APPROVED: E.APPROVE,
    S.REJECTED: E.REJECT,
    S.POST_AUDIT: E.POST_AUDIT,
    S.UNREACHABLE: E.UNREACHABLE,
}
"""The agent's decision letter (A, R, C, D) mapped to the event that applies it."""
