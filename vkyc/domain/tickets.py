"""Tickets for missed calls (seed 004), the pure part: their states, which call changes make or move
one, and which ticket a missed call goes into.

States:

- ``open``: a missed call (or several, merged) waits for someone to call the customer back.
- ``in_progress``: someone took it: an agent started a call-back to the customer, or an integrator
  set it so.
- ``done``: closed: a call-back was answered and the dossier decided, or someone closed it. Final: a
  customer's next missed call opens a new ticket.

Events: START (open → in_progress), RELEASE (in_progress → open), CLOSE (open, in_progress → done).
Adding a call to a ticket moves no state (it is a logged, versioned note).

**What counts as missed** (``missed_call``): an inbound call that reached a final state without ever
being answered (the caller hung up or cancelled, no agent took it, the queue timed out: E, or FINISHED
without ``answered_at``), and a call-back that failed: T (not answered, declined) or I (device not
registered). A call-back the agent cancelled (E) is the agent's own choice, not a miss.

**Merging** (``MissedTicketMerge``): the missed calls of one customer (the subscriber number, else the
dossier) on one local day of the serving unit (its ``timezone`` setting; the merge resets at midnight)
go into the ticket of the call's *bucket*: ``all`` (all in one), the call's id (one per call), ``in`` /
``out`` (inbound and outbound apart), ``in:<queue>`` / ``out`` (per queue plus outbound). A bucket's
ticket that is already ``done`` is not reopened: the call goes into the bucket's next ticket
(``generation`` 2, 3, ...). Ticket ids derive from (unit, customer, day, bucket, generation), so the
same missed call seen twice (streams deliver at least once) lands in the same ticket, once.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from vkyc.domain.direction import Direction, direction_of
from vkyc.domain.machine import StateMachine
from vkyc.domain.settings import MissedTicketMerge


class TicketState(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TicketEvent(StrEnum):
    START = "start"
    RELEASE = "release"
    CLOSE = "close"


S, E = TicketState, TicketEvent

TICKET = StateMachine[TicketState, TicketEvent](
    name="ticket",
    initial=S.OPEN,
    finals=frozenset({S.DONE}),
    table={
        (S.OPEN, E.START): S.IN_PROGRESS,
        (S.IN_PROGRESS, E.RELEASE): S.OPEN,
        (S.OPEN, E.CLOSE): S.DONE,
        (S.IN_PROGRESS, E.CLOSE): S.DONE,
    },
)

ADD_CALL = "call_added"
"""The log event of a missed call merged into an existing ticket."""
ASSIGN = "assigned"
"""The log event of a change of assignee without a change of state."""

MAX_GENERATIONS = 50
"""Tickets of one bucket and day a customer may have (each closed before the next opens)."""

_FINAL_INBOUND = frozenset({"E", "T", "FINISHED"})
_MISSED_CALLBACK = frozenset({"T", "I"})


_TOWARDS = {S.IN_PROGRESS: E.START, S.OPEN: E.RELEASE, S.DONE: E.CLOSE}


def move_to(state: TicketState, target: TicketState) -> TicketEvent | None:
    """The event that takes a ticket from ``state`` to ``target``; None when it is there already.
    Raises ``IllegalTransition`` when the machine has no such move (e.g. out of ``done``)."""
    if state == target:
        return None
    event = _TOWARDS[target]
    TICKET.transition(state, event)
    return event


def missed_call(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether this change of a call (its images before and after) is the moment it became missed."""
    state = str(new.get("state"))
    before = None if old is None else str(old.get("state"))
    if direction_of(new.get("direction")) is Direction.OUTBOUND:
        return state in _MISSED_CALLBACK and before not in _MISSED_CALLBACK
    if state not in _FINAL_INBOUND or before in _FINAL_INBOUND:
        return False
    return not new.get("answered_at")


def callback_started(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether this change is a call-back being placed (its customer's tickets are being worked on)."""
    outbound = direction_of(new.get("direction")) is Direction.OUTBOUND
    return old is None and outbound and new.get("state") == "N"


def answered_and_decided(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether this change is a call-back, answered, whose dossier was just decided through it: the
    customer's tickets are done."""
    outbound = direction_of(new.get("direction")) is Direction.OUTBOUND
    if not outbound or not new.get("answered_at") or not new.get("decision"):
        return False
    return old is None or not old.get("decision")


def customer_of(call: Mapping[str, Any]) -> str | None:
    """Who the customer is: the subscriber number, else the dossier; None for neither."""
    if call.get("subscriber"):
        return f"msisdn:{call['subscriber']}"
    if call.get("dossier_id"):
        return f"dossier:{call['dossier_id']}"
    return None


def bucket(mode: MissedTicketMerge, direction: Direction, queue_id: str | None, call_id: str) -> str:
    """The merge bucket of a missed call under ``mode`` (see the module docstring)."""
    outbound = direction is Direction.OUTBOUND
    if mode is MissedTicketMerge.ALL_IN_ONE:
        return "all"
    if mode is MissedTicketMerge.ONE_PER_CALL:
        return f"call:{call_id}"
    if mode is MissedTicketMerge.INBOUND_AND_OUTBOUND or outbound:
        return direction.value  # "in" or "out"
    return f"in:{queue_id or '-'}"


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The day ``moment`` falls on in ``zone``: where the merge resets (midnight local)."""
    return moment.astimezone(zone).date()


def ticket_id(unit_id: str, customer: str, day: date, bucket_name: str, generation: int) -> str:
    """The one ticket of a customer's bucket on a day (the ``generation``-th, after closed ones)."""
    text = f"{unit_id}|{customer}|{day.isoformat()}|{bucket_name}|{generation}"
    return "tkt_" + hashlib.sha256(text.encode()).hexdigest()[:24]
