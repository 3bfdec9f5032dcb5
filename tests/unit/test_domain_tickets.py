"""The tickets' pure rules (``vkyc.domain.tickets``): the state machine, what counts as missed, the merge
buckets of the four modes and the local day a miss falls on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vkyc.domain.direction import Direction
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.settings import MissedTicketMerge
from vkyc.domain.tickets import (
    TICKET,
    TicketEvent,
    TicketState,
    answered_and_decided,
    bucket,
    callback_started,
    customer_of,
    local_day,
    missed_call,
    move_to,
    ticket_id,
)


def test_done_is_final_and_every_other_state_can_close():
    assert TICKET.is_final(TicketState.DONE)
    assert move_to(TicketState.OPEN, TicketState.DONE) is TicketEvent.CLOSE
    assert move_to(TicketState.IN_PROGRESS, TicketState.DONE) is TicketEvent.CLOSE
    assert move_to(TicketState.OPEN, TicketState.IN_PROGRESS) is TicketEvent.START
    assert move_to(TicketState.IN_PROGRESS, TicketState.OPEN) is TicketEvent.RELEASE
    assert move_to(TicketState.OPEN, TicketState.OPEN) is None
    with pytest.raises(IllegalTransition):
        move_to(TicketState.DONE, TicketState.OPEN)


@pytest.mark.parametrize(
    ("old", "new", "missed"),
    [
        ({"state": "W"}, {"state": "E"}, True),  # the caller hung up while ringing
        ({"state": "N"}, {"state": "FINISHED", "end_reason": "no_agent"}, True),  # queue timeout
        ({"state": "A"}, {"state": "T", "answered_at": "x"}, False),  # answered, no media came
        ({"state": "CONNECTED"}, {"state": "FINISHED", "answered_at": "x"}, False),
        ({"state": "E"}, {"state": "E"}, False),  # a later write of a missed call
        ({"state": "N"}, {"state": "W"}, False),
        ({"state": "N", "direction": "out"}, {"state": "T", "direction": "out"}, True),
        (None, {"state": "I", "direction": "out"}, True),
        ({"state": "N", "direction": "out"}, {"state": "E", "direction": "out"}, False),  # agent cancelled
        ({"state": "A", "direction": "out"}, {"state": "C", "direction": "out"}, False),
    ],
)
def test_what_counts_as_missed(old, new, missed):
    assert missed_call(old, {"direction": "in", **new}) is missed


def test_call_backs_start_and_close_tickets():
    placed = {"direction": "out", "state": "N"}
    assert callback_started(None, placed) and not callback_started(placed, placed)
    decided = {"direction": "out", "state": "C", "answered_at": "x", "decision": "A"}
    assert answered_and_decided({**decided, "decision": None}, decided)
    assert not answered_and_decided(decided, decided)
    assert not answered_and_decided(None, {**decided, "answered_at": None})
    assert not answered_and_decided(None, {**decided, "direction": "in"})


def test_the_buckets_of_the_four_modes():
    def of(mode: MissedTicketMerge) -> list[str]:
        return [
            bucket(mode, Direction.INBOUND, "q1", "c1"),
            bucket(mode, Direction.INBOUND, "q2", "c2"),
            bucket(mode, Direction.OUTBOUND, None, "c3"),
        ]

    assert of(MissedTicketMerge.ALL_IN_ONE) == ["all", "all", "all"]
    assert of(MissedTicketMerge.ONE_PER_CALL) == ["call:c1", "call:c2", "call:c3"]
    assert of(MissedTicketMerge.INBOUND_AND_OUTBOUND) == ["in", "in", "out"]
    assert of(MissedTicketMerge.PER_QUEUE_AND_OUTBOUND) == ["in:q1", "in:q2", "out"]


def test_the_customer_is_the_number_else_the_dossier():
    assert customer_of({"subscriber": "84901", "dossier_id": "D"}) == "msisdn:84901"
    assert customer_of({"dossier_id": "D"}) == "dossier:D"
    assert customer_of({}) is None


def test_the_day_turns_at_local_midnight_and_ids_follow_it():
    vietnam = timezone(timedelta(hours=7))
    late, early = datetime(2026, 3, 10, 16, 59, tzinfo=UTC), datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    assert (local_day(late, vietnam).day, local_day(early, vietnam).day) == (10, 11)
    assert local_day(late, UTC) == local_day(early, UTC)
    first = ticket_id("1", "msisdn:84901", local_day(late, vietnam), "all", 1)
    assert first == ticket_id("1", "msisdn:84901", local_day(late, vietnam), "all", 1)
    assert first != ticket_id("1", "msisdn:84901", local_day(early, vietnam), "all", 1)
    assert first != ticket_id("1", "msisdn:84901", local_day(late, vietnam), "all", 2)
