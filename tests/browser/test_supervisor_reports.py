"""Issue #15's console, in Chromium: the supervisor finds yesterday's call in the list by subscriber
number (typed as people type it), opens it and reads it in their language (state and event names,
agent names, the timeline in Vietnamese then English), exports the day as CSV, and watches the live
tiles and the chart move during a call without clicking anything (screenshots: supervisor-reports,
supervisor-call-named, supervisor-tiles)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import expect_console_errors, screenshot
from tests.browser.helpers import login
from tests.integration.test_calls import available, caller, new_dossier
from vkyc.domain.call import CALL, CallEvent
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call
from vkyc.repositories.transitions import commit, plan_note, transition

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def local_day(offset: int = 0) -> str:
    zone = cached_settings("1").zone()
    return (datetime.now(UTC).astimezone(zone) + timedelta(days=offset)).date().isoformat()


def call_of_yesterday(subscriber: str) -> str:
    """A call of unit 1 placed yesterday at 10:00, answered by tdv1.kv1, ended and approved: its item and
    its log, as the services write them."""
    zone = cached_settings("1").zone()
    day = datetime.fromisoformat(local_day(-1))
    when = datetime(day.year, day.month, day.day, 10, 0, tzinfo=zone).astimezone(UTC)
    call = Call(
        call_id=str(uuid.uuid4()),
        direction="in",
        unit_id="1",
        serving_unit_id="1",
        queue_id="kv1-ekyc",
        dossier_id=new_dossier(),
        subscriber=subscriber,
        sub_type="MC",
        customer_type="KHCN",
        created_at=when,
    )
    calls = CallRepository()
    calls.create(call, CALL, request_id=uuid.uuid4().hex, actor="dl-9", reason="call requested", at=when)
    steps = [
        (CallEvent.OFFER, "router", {"agent_id": "tdv1.kv1"}, 2),
        (CallEvent.ACCEPT, "tdv1.kv1", {"answered_at": when + timedelta(seconds=9)}, 9),
        (CallEvent.MEDIA_CONNECTED, "system", {}, 11),
        (
            CallEvent.END,
            "agent",
            {"ended_at": when + timedelta(seconds=250), "end_reason": "completed", "ended_by": "agent"},
            250,
        ),
    ]
    for event, actor, attrs, seconds in steps:
        at = when + timedelta(seconds=seconds)
        transition(call, CALL, event, request_id=uuid.uuid4().hex, actor=actor, attrs=attrs, at=at)
    decided = when + timedelta(seconds=280)
    note = plan_note(call, event="decided", actor="tdv1.kv1", attrs={"decision": "A", "decided_at": decided})
    commit(note, request_id=uuid.uuid4().hex, at=decided)
    return call.call_id


def show_reports(page: Any, first: str, last: str) -> None:
    page.wait_for_selector("#reports[data-ready]")  # the console's own first load is done
    page.fill("#report-from", first)
    page.fill("#report-to", last)
    page.click("#report-form button[type=submit]")
    page.wait_for_function("() => !document.querySelector('#reports').dataset.loading")


def test_the_supervisor_finds_yesterdays_call_by_number_and_reads_it_in_their_language(open_page):
    number = "8490" + str(uuid.uuid4().int)[:7]
    call_id = call_of_yesterday(number)
    page = open_page("/supervisor.html", "gs.kv1")
    login(page, "gs.kv1", "#console")
    page.wait_for_selector("#tiles [data-unit='1']")
    show_reports(page, local_day(-1), local_day())
    page.fill("#calls-subscriber", "0" + number[2:])  # the number as people write it
    page.click("#calls-form button[type=submit]")
    # The range's list may already show the call: wait for the searched list, which has it alone.
    page.wait_for_function("() => document.querySelectorAll('#calls-table tbody tr').length === 1")
    row = page.wait_for_selector(f"#calls-table tr[data-call='{call_id}']")
    assert "Nguyễn Thị Lan" in row.inner_text() and "Duyệt" in row.inner_text()
    page.wait_for_selector("#chart svg")
    screenshot(page, "supervisor-reports")

    page.click(f"#calls-table tr[data-call='{call_id}']")
    page.wait_for_selector(f'dl[data-call="{call_id}"]')
    fields = page.inner_text(f'dl[data-call="{call_id}"]')
    # In words and names (issue #16): no state letters, no account ids.
    assert "Đã kết thúc" in fields and "Nguyễn Thị Lan" in fields and "tdv1.kv1" not in fields
    assert "A — Đã duyệt" in fields and "đã hoàn tất" in fields
    timeline = page.inner_text("#timeline")
    assert "→ Đang đổ chuông" in timeline and "Nguyễn Thị Lan" in timeline
    screenshot(page, "supervisor-call-named")

    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    timeline = page.inner_text("#timeline")
    assert "→ Ringing" in timeline and "Nguyễn Thị Lan" in timeline
    assert "Approved" in page.inner_text(f'dl[data-call="{call_id}"]')
    page.click("#lang")


def test_the_day_exports_as_csv_with_a_bom(open_page, tmp_path):
    number = "8490" + str(uuid.uuid4().int)[:7]
    call_id = call_of_yesterday(number)
    page = open_page("/supervisor.html", "gs.kv1")
    login(page, "gs.kv1", "#console")
    show_reports(page, local_day(-1), local_day(-1))
    with page.expect_download() as download:
        page.click("[data-csv=calls]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"calls_{local_day(-1)}_{local_day(-1)}.csv"
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("\ufeffcall_id,created_at,")
    assert call_id in text and "Nguyễn Thị Lan" in text
    with page.expect_download() as summary:
        page.click("[data-csv=summary]")
    assert summary.value.suggested_filename.startswith(f"summary_{local_day(-1)}_{local_day(-1)}")


def test_the_live_tiles_and_the_chart_move_during_a_call_without_a_click(open_page, stack):
    page = open_page("/supervisor.html", "gs.kv1")
    login(page, "gs.kv1", "#console")
    page.wait_for_selector("#tiles [data-unit='1']")
    show_reports(page, local_day(), local_day())
    queued = int(page.get_attribute("#tiles [data-unit='1']", "data-queued") or 0)
    answered = int(page.get_attribute("#tiles [data-unit='1']", "data-answered") or 0)
    charted = page.evaluate("() => window.vkycSupervisor.summary.totals.queued")

    agent = available(stack, "tdv2.kv1")
    mobile = caller(stack, new_dossier())
    try:
        call_id = mobile.request("call.request")["call_id"]
        page.wait_for_selector(f"#tiles [data-unit='1'][data-queued='{queued + 1}']")
        offer = agent.next_push("call.offer")
        agent.request("offer.accept", offer_id=offer["offer_id"])
        page.wait_for_selector(f"#tiles [data-unit='1'][data-answered='{answered + 1}']")
        page.wait_for_function("n => window.vkycSupervisor.summary.totals.queued > n", arg=charted)
        assert "1" in page.inner_text("#tiles [data-tile=agents]")
        screenshot(page, "supervisor-tiles")
        agent.request("call.hangup", call_id=call_id)
    finally:
        mobile.close()
        agent.close()
    expect_console_errors(page)  # none expected: the list of allowed errors stays empty
