"""The four ``missed_ticket_merge`` modes across midnight, as an agent sees them (issue #16, seed 004;
docs/tickets.md): one customer misses calls just before and just after midnight in the serving unit's
time zone (unit 1: Vietnam, where midnight is 17:00 UTC, so every call here falls on one UTC day), in
two queues and as failed call-backs. The calls table's stream makes the tickets; the calls of
yesterday and of today never share one, and within a day they merge as the mode says. The agent's
tickets panel shows one card per ticket with its day and every call it gathers (screenshot:
agent-tickets-merged)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import login
from tests.integration.admin_http import AdminHttp
from tests.integration.test_calls import new_dossier
from tests.polling import wait_until
from vkyc.domain.settings import MissedTicketMerge
from vkyc.protocol import v1
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, Ticket
from vkyc.repositories.tickets import TicketRepository
from vkyc.services.tickets import TicketService

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")

MAIN_QUEUE = "kv1-ekyc"  # unit 1's demo queue, tickets on, first group kv1-xac-thuc (tdv1.kv1's)
AGENT = "tdv1.kv1"


@dataclass(frozen=True)
class Miss:
    """One missed call: on ``day`` (-1 yesterday, 0 today, local) at ``at`` local, from ``queue``
    (``main``, ``second``; None for a call-back), ending ``state`` for ``reason``."""

    day: int
    at: time
    direction: str
    queue: str | None
    state: str
    reason: str


MISSES = [
    Miss(-1, time(23, 55), "in", "main", "E", "caller_hung_up"),
    Miss(-1, time(23, 56), "in", "second", "FINISHED", "no_agent"),
    Miss(-1, time(23, 58), "out", None, "T", "no_answer"),
    Miss(0, time(0, 2), "in", "main", "E", "caller_hung_up"),
    Miss(0, time(0, 3), "in", "second", "E", "caller_hung_up"),
    Miss(0, time(0, 4), "in", "main", "FINISHED", "no_agent"),
    Miss(0, time(0, 5), "out", None, "I", "device_not_registered"),
]

EXPECTED = {
    # mode: the tickets, as the indexes into MISSES of the calls each gathers
    MissedTicketMerge.ALL_IN_ONE: [[0, 1, 2], [3, 4, 5, 6]],
    MissedTicketMerge.ONE_PER_CALL: [[0], [1], [2], [3], [4], [5], [6]],
    MissedTicketMerge.INBOUND_AND_OUTBOUND: [[0, 1], [2], [3, 4, 5], [6]],
    MissedTicketMerge.PER_QUEUE_AND_OUTBOUND: [[0], [1], [2], [3, 5], [4], [6]],
}


@pytest.fixture(scope="module")
def second_queue(stack: Any) -> Iterator[str]:
    """A second queue of unit 1 with tickets on, answered by tdv1.kv1's group (made through the admin
    API; no hotline sends calls to it), deleted after the module."""
    admin = AdminHttp(stack.http_url)
    queue_id = f"kv1-tickets-{uuid.uuid4().hex[:6]}"
    body = {
        "id": queue_id,
        "unit": 1,
        "name": "Phiếu ghi (test)",
        "groups": [{"group": "kv1-xac-thuc", "priority": 1}],
        "auto_ticket": True,
    }
    status, answer, _ = admin.call("POST", "/queues", body)
    assert status == 200, answer
    yield queue_id
    status, answer, _ = admin.call("DELETE", f"/queues/{queue_id}")
    assert status == 200, answer


def today_local() -> date:
    return datetime.now(UTC).astimezone(cached_settings("1").zone()).date()


def ended_at(miss: Miss, today: date) -> datetime:
    zone = cached_settings("1").zone()
    return datetime.combine(today + timedelta(days=miss.day), miss.at, tzinfo=zone).astimezone(UTC)


def put_missed_calls(
    subscriber: str, dossier_id: str, queues: dict[str, str], today: date, ids: list[str]
) -> None:
    """The calls of ``MISSES`` in the stack's calls table, each written once in its final state, as the
    services leave them (the stream's record of that write is the miss); their ids go to ``ids``, in
    order, as they are written."""
    for miss in MISSES:
        when = ended_at(miss, today)
        outbound = miss.direction == "out"
        call = Call(
            f"cb-{uuid.uuid4()}" if outbound else str(uuid.uuid4()),
            direction=miss.direction,
            unit_id="1",
            serving_unit_id="1",
            dossier_id=dossier_id,
            subscriber=subscriber,
            customer_type="KHCN",
            sub_type="MC",
            queue_id=queues[miss.queue] if miss.queue else None,
            agent_id=AGENT if outbound else None,
            state=miss.state,
            version=2,
            created_at=when - timedelta(seconds=40),
            updated_at=when,
            ended_at=when,
            end_reason=miss.reason,
            ended_by="system",
            last_request_id=uuid.uuid4().hex,
        )
        ids.append(call.call_id)
        call.save()


def forget(subscriber: str, call_ids: list[str]) -> None:
    """Close the customer's tickets and delete the calls made up here (every stream consumer ignores a
    removal), so that later tests' agents are not handed this customer, nor see these call-backs in
    tdv1.kv1's day."""
    service = TicketService()
    for ticket in customer_tickets(subscriber):
        service.patch("1", ticket.ticket_id, v1.TicketPatch(state="done"), actor="test")
    for call_id in call_ids:
        Call(call_id).delete()


def customer_tickets(subscriber: str) -> list[Ticket]:
    return TicketRepository().of_customer("1", f"msisdn:{subscriber}")


def all_ticketed(subscriber: str, call_ids: list[str]) -> list[Ticket] | None:
    """The customer's tickets once they hold every call (each once), else None."""
    tickets = customer_tickets(subscriber)
    held = sorted(c for t in tickets for c in t.call_ids)
    return tickets if held == sorted(call_ids) else None


def read_cards(page: Any, dossier_id: str) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        f".ticket[data-dossier-id='{dossier_id}']",
        """cards => cards.map((card) => ({
            ticket_id: card.dataset.ticketId,
            day: card.dataset.day,
            day_text: card.querySelector('.ticket-day').textContent,
            calls: [...card.querySelectorAll('.ticket-calls li')].map((li) => li.dataset.callId),
            directions: [...card.querySelectorAll('.ticket-calls li')].map((li) => li.dataset.direction),
            text: card.innerText,
        }))""",
    )


@pytest.mark.parametrize("mode", list(MissedTicketMerge), ids=lambda m: m.value)
def test_missed_calls_merge_as_the_mode_says_and_never_across_midnight(open_page, stack, second_queue, mode):
    subscriber = "8490" + "".join(random.choices("0123456789", k=7))  # a customer of this test alone
    dossier_id = new_dossier(subscriber=subscriber)
    today = today_local()
    days = {-1: (today - timedelta(days=1)).isoformat(), 0: today.isoformat()}
    # Both sides of local midnight fall on one UTC day: a merge that turned at UTC midnight would join them.
    assert len({ended_at(m, today).date() for m in MISSES}) == 1
    queues = {"main": MAIN_QUEUE, "second": second_queue}
    call_ids: list[str] = []
    admin = AdminHttp(stack.http_url)
    try:
        admin.settings(1, missed_ticket_merge=mode.value)
        try:
            put_missed_calls(subscriber, dossier_id, queues, today, call_ids)
            stored = wait_until(lambda: all_ticketed(subscriber, call_ids), timeout=30, interval=0.25)
        finally:
            admin.clear(1, "missed_ticket_merge")

        # Stored: the mode's tickets, each of one local day (a stream need not keep the order of writes
        # to different calls, so a ticket's calls are compared as a set).
        by_call = dict(zip(call_ids, MISSES, strict=True))
        assert sorted((t.day, sorted(t.call_ids)) for t in stored) == sorted(
            (days[MISSES[group[0]].day], sorted(call_ids[i] for i in group)) for group in EXPECTED[mode]
        )
        for ticket in stored:
            assert {days[by_call[c].day] for c in ticket.call_ids} == {ticket.day}  # never across midnight
            assert (ticket.state, ticket.assignee_group_id) == ("open", "kv1-xac-thuc")
        assert len({t.ticket_id for t in stored}) == len(EXPECTED[mode])

        # What the agent sees: one card per ticket, with its day and the calls it gathers.
        page = open_page("/agent.html", AGENT)
        login(page, AGENT, "#work")
        page.wait_for_function(
            "([dossier, count]) => document.querySelectorAll(`.ticket[data-dossier-id='${dossier}']`).length"
            " === count",
            arg=[dossier_id, len(stored)],
        )
        cards = read_cards(page, dossier_id)
        assert {c["ticket_id"]: (c["day"], c["calls"]) for c in cards} == {
            t.ticket_id: (t.day, t.call_ids) for t in stored
        }
        for card in cards:
            shown = date.fromisoformat(card["day"])
            assert f"{shown.day}/{shown.month}/{shown.year}" in card["day_text"]  # vi-VN: 10/3/2026
            assert card["directions"] == [by_call[c].direction for c in card["calls"]]
            assert all(c in card["text"] for c in card["calls"])  # the ids are on the card, to copy
        if mode is MissedTicketMerge.ALL_IN_ONE:
            page.eval_on_selector(f".ticket[data-dossier-id='{dossier_id}']", "c => c.scrollIntoView()")
            screenshot(page, "agent-tickets-merged")
    finally:
        forget(subscriber, call_ids)
