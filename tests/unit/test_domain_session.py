"""The session machine against a hand-written table: ACTIVE ⇄ DETACHED → ENDED."""

from __future__ import annotations

import pytest

from tests.unit.machine_contract import MachineContract
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.session import SESSION, SessionEvent, SessionState, transition

S, E = SessionState, SessionEvent

EXPECTED: dict[SessionState, dict[SessionEvent, SessionState]] = {
    S.ACTIVE: {
        E.DROP: S.DETACHED,
        E.RESUME: S.ACTIVE,
        E.END: S.ENDED,
        E.REPLACE: S.ENDED,
        E.REVOKE: S.ENDED,
    },
    S.DETACHED: {
        E.RESUME: S.ACTIVE,
        E.END: S.ENDED,
        E.GRACE_EXPIRED: S.ENDED,
        E.REPLACE: S.ENDED,
        E.REVOKE: S.ENDED,
    },
    S.ENDED: {},
}


class TestSessionMachineContract(MachineContract):
    MACHINE = SESSION
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = {S.ENDED}
    NAME = "session"
    INITIAL = S.ACTIVE


def test_an_ended_session_cannot_be_resumed() -> None:
    with pytest.raises(IllegalTransition):
        transition(transition(S.DETACHED, E.GRACE_EXPIRED), E.RESUME)


def test_an_attached_session_has_no_grace_to_expire() -> None:
    with pytest.raises(IllegalTransition):
        transition(S.ACTIVE, E.GRACE_EXPIRED)
