"""The two directions' rules (``vkyc.domain.direction``): what each machine means to the shared use
cases and the media routing."""

from __future__ import annotations

import pytest

from vkyc.domain.call import CallState
from vkyc.domain.callback import CallbackState
from vkyc.domain.direction import (
    INBOUND,
    OUTBOUND,
    Direction,
    Party,
    direction_of_id,
    is_live_call,
    rules_of,
)

INBOUND_STATES = {s.value for s in CallState}
WAITING = {"N", "W", "R", "M"}
LIVE = {"A", "CONNECTED", "RECONNECTING"}


@pytest.mark.parametrize("state", sorted(INBOUND_STATES))
def test_who_may_offer_media_on_an_inbound_call(state: str) -> None:
    assert INBOUND.may_send_media(state, Party.MOBILE) is (state in WAITING | LIVE)
    assert INBOUND.may_send_media(state, Party.AGENT) is (state in LIVE)
    assert INBOUND.may_snapshot(state) is (state in LIVE)
    assert INBOUND.is_answered(state) is (state in LIVE)


@pytest.mark.parametrize("state", sorted(s.value for s in CallbackState))
def test_a_call_back_has_media_once_answered(state: str) -> None:
    for party in Party:
        assert OUTBOUND.may_send_media(state, party) is (state == "A")
    assert OUTBOUND.may_snapshot(state) is (state == "A")


def test_a_call_may_get_a_node_while_it_is_not_final() -> None:
    assert INBOUND.live_states() == WAITING | LIVE
    assert OUTBOUND.live_states() == {"N", "A"}


def test_live_is_every_state_the_machine_can_leave_and_an_unknown_one() -> None:
    assert {s for s in INBOUND_STATES if is_live_call("in", s)} == WAITING | LIVE
    assert {s.value for s in CallbackState if is_live_call("out", s.value)} == {"N", "A"}
    assert is_live_call("in", "no-such-state"), "refusing one request is recoverable: two live calls are not"


def test_the_rules_are_picked_by_the_stored_direction_and_a_call_back_by_its_id() -> None:
    assert rules_of("in") is INBOUND and rules_of("out") is OUTBOUND
    with pytest.raises(ValueError):
        rules_of("sideways")
    assert direction_of_id("cb-1234") is Direction.OUTBOUND
    assert direction_of_id("0f4c2a9e-3b7d") is Direction.INBOUND
    assert direction_of_id(None) is Direction.INBOUND


def test_the_end_of_an_answered_call_depends_on_why() -> None:
    assert INBOUND.end_event("grace_expired").value == "grace_expired"
    assert INBOUND.end_event("completed").value == "end"
    assert OUTBOUND.end_event("grace_expired").value == "end", "a call-back has no event of its own for it"


def test_only_a_call_back_nobody_answered_lets_d_be_decided_unanswered() -> None:
    assert OUTBOUND.unanswered_ends == {"T", "I"}
    assert INBOUND.unanswered_ends == set()
