"""Missed-call tickets on the agent page (issue #16, seed 004): a customer gives up waiting, the calls
table's stream makes a ticket for the queue's group, the agent sees it in the tickets panel and calls the
customer back from it; the ticket is then in progress, assigned to that agent, and the unit's webhook
received ``ticket.created`` and ``ticket.updated``."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import go_available, login, wait_phase
from tests.integration.test_calls import caller, new_dossier
from tests.polling import wait_until
from vkyc.repositories.tables import Ticket

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def tickets_of(dossier_id: str) -> list[Ticket]:
    return [t for t in Ticket.scan() if t.dossier_id == dossier_id]


def delivered(stack: Any, event_type: str, ticket_id: str) -> list[dict[str, Any]]:
    return [
        a
        for a in stack.sink.snapshot()
        if a["verified"] and a["event_type"] == event_type and a["body"]["resource"]["id"] == ticket_id
    ]


def test_an_agent_sees_a_ticket_from_a_missed_call_and_calls_back_from_it(open_page, stack):
    subscriber = "8490" + "".join(random.choices("0123456789", k=7))  # a customer of this test alone
    dossier_id = new_dossier(subscriber=subscriber)
    mobile = caller(stack, dossier_id)
    assert mobile.request("device.register", device_id=f"phone-{uuid.uuid4().hex[:6]}")["action"] == (
        "device.registered"
    )
    call_id = mobile.request("call.request")["call_id"]  # every agent of unit 1 is on a break: it waits
    assert mobile.request("call.cancel", call_id=call_id)["action"] == "call.ended"

    page = open_page("/agent.html", "tdv1.kv1")
    login(page, "tdv1.kv1", "#work")
    ticket = page.wait_for_selector(f".ticket[data-dossier-id='{dossier_id}']", timeout=30_000)
    assert subscriber in ticket.inner_text()
    (stored,) = tickets_of(dossier_id)
    assert (stored.state, stored.call_ids, stored.assignee_group_id) == ("open", [call_id], "kv1-xac-thuc")
    go_available(page)
    screenshot(page, "agent-tickets")
    page.click(f".ticket[data-dossier-id='{dossier_id}'] button:not([disabled])")
    wait_phase(page, "callback")
    incoming = mobile.next_push("callback.incoming")
    assert incoming["dossier_id"] == dossier_id
    wait_until(lambda: tickets_of(dossier_id)[0].state == "in_progress", timeout=30)
    assert tickets_of(dossier_id)[0].assignee_agent_id == "tdv1.kv1"
    # Unit 1's integrator heard of both through its webhook (the stack's sink verifies signatures).
    wait_until(lambda: delivered(stack, "ticket.created", stored.ticket_id), timeout=30)
    wait_until(lambda: delivered(stack, "ticket.updated", stored.ticket_id), timeout=30)
    (update,) = delivered(stack, "ticket.updated", stored.ticket_id)
    assert update["body"]["data"]["state"] == "in_progress"
    page.click("#callback-cancel")
    wait_phase(page, "idle")
    mobile.close()
