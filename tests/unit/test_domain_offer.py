"""The offer machine (one call to one agent) against a hand-written table: PENDING → five final outcomes."""

from __future__ import annotations

from enum import Enum

import pytest

from tests.unit.machine_contract import MachineContract
from vkyc.domain.machine import IllegalTransition
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


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def test_late_accept_after_the_ring_timed_out_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        transition(transition(S.PENDING, E.RING_TIMEOUT), E.ACCEPT)


def test_accept_after_the_caller_hung_up_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        transition(transition(S.PENDING, E.CANCEL), E.ACCEPT)


class TestOfferMachineContract(MachineContract):
    MACHINE = OFFER
    TRANSITION = staticmethod(transition)
    EXPECTED = EXPECTED
    FINALS = FINALS
    NAME = "offer"
    INITIAL = S.PENDING
