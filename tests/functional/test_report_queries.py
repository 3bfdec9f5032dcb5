"""The reports read from the aggregates and the calls' indexes, after a random workload: the summary
says what happened (in total, per bucket, per agent, per dimension), the agents report accounts for
every agent's time, the call list pages through every call once with its filters, the errors report
names the failed calls, CSV carries the same rows, and every filter value is checked with its code."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.functional.report_world import SUB_TYPES, Workload, World
from tests.functional.stream_records import stream_records
from vkyc.protocol import report_rest as r
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.policy import POLICY_CACHE
from vkyc.repositories.tables import Agent, Call, SubTypePolicy
from vkyc.repositories.units import UnitView
from vkyc.services.aggregates import AggregateService, zone_of
from vkyc.services.call_list import CallList
from vkyc.services.report_queries import ReportQueries
from vkyc.services.report_scope import ReportCaller

START = datetime(2025, 6, 1, 16, 0, tzinfo=UTC)  # 23:00 in Hanoi on a Sunday: two days, two weeks


class Played:
    def __init__(self) -> None:
        for sub_type in SUB_TYPES:
            SubTypePolicy(sub_type, name=sub_type, icc_profile=sub_type, khcn=True, khdn=True).save()
        POLICY_CACHE.clear()
        self.world = World(START)
        self.workload = Workload(self.world, seed=602)
        self.workload.run(40)
        ids = set(self.workload.call_ids)
        calls = [r for r in stream_records(Call) if r["dynamodb"]["Keys"]["call_id"]["S"] in ids]
        AggregateService().calls_changed(calls)
        AggregateService().agents_changed(stream_records(Agent))
        unit = UnitView(self.world.unit_id, "Đơn vị thử", self.world.unit_id, True)
        self.caller = ReportCaller("gs.test", self.world.unit_id, (unit,))
        self.queries = ReportQueries(clock=lambda: self.world.clock.now)
        zone = zone_of(self.world.unit_id)
        self.first = START.astimezone(zone).date().isoformat()
        self.last = self.world.clock.now.astimezone(zone).date().isoformat()
        self.calls = [CallRepository().get(c) for c in self.workload.call_ids]

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"from": self.first, "to": self.last, **extra}


@pytest.fixture(scope="module")
def played(tables: Any) -> Played:
    return Played()


def summary(played: Played, **extra: Any) -> r.Summary:
    return played.queries.summary(played.caller, r.SummaryQuery.model_validate(played.params(**extra)))


def test_the_summary_says_what_the_workload_did(played):
    totals = summary(played).totals
    truth = played.workload.truth
    assert (totals.queued, totals.answered, totals.no_agent) == (
        truth["queued"],
        truth["answered"],
        truth["no_agent"],
    )
    assert totals.abandoned_in_queue == truth["abandoned_queue"]
    assert totals.abandoned_ringing == truth["abandoned_ringing"]
    assert (totals.missed_offers, totals.rejected_offers) == (truth["missed"], truth["rejected"])
    assert (totals.callbacks_placed, totals.callbacks_answered) == (truth["cb_placed"], truth["cb_answered"])
    assert totals.decided == truth["decided"] and truth["dec_A"] == totals.decisions.A
    assert totals.evidence.complete == truth["ev_complete"]
    answered = [c for c in played.calls if c.direction == "in" and c.answered_at]
    waits = [(c.answered_at - c.created_at).total_seconds() for c in answered]
    assert totals.avg_speed_of_answer_s == round(sum(waits) / len(waits), 1)
    within = sum(1 for w in waits if w <= 20)
    assert totals.service_level_percent == round(100 * within / (totals.answered + totals.unanswered), 1)
    unanswered = [c for c in played.calls if c.direction == "in" and c.answered_at is None]
    longest = max([*waits, *((c.ended_at - c.created_at).total_seconds() for c in unanswered)])
    assert totals.longest_wait_s == round(longest, 1)


def test_buckets_split_the_same_totals(played):
    days = summary(played)
    hours = summary(played, bucket="hour")
    quarters = summary(played, bucket="15min")
    assert [b.label for b in days.series] == [played.first, played.last]
    assert len(hours.series) == 48 and hours.series[0].label.endswith("T00:00")
    for name in ("queued", "answered", "abandoned", "talked", "decided", "callbacks_placed"):
        assert sum(getattr(b.figures, name) for b in hours.series) == getattr(days.totals, name)
        assert sum(getattr(b.figures, name) for b in quarters.series) == getattr(days.totals, name)
    assert hours.totals.queued == days.totals.queued
    weeks = summary(played, bucket="week")
    assert [b.label for b in weeks.series] == [played.first, played.last]  # Sunday, then Monday's week
    assert summary(played, bucket="month").series[0].label == played.first[:7]


def test_agent_time_adds_up_to_the_range_so_far(played):
    report = played.queries.agents(played.caller, r.AgentsQuery.model_validate(played.params()))
    span = (
        played.world.clock.now
        - datetime.fromisoformat(played.first).replace(tzinfo=zone_of(played.world.unit_id))
    ).total_seconds()
    assert len(report.agents) == len(played.world.agents)
    for row in report.agents:
        time = row.time_s
        total = (
            time.AVAILABLE
            + time.UNAVAILABLE
            + time.RINGING
            + time.IN_CALL
            + time.WRAP_UP
            + (time.OFFLINE or 0)
        )
        assert abs(total - span) < 0.5, row.agent_id
    answered_by = {a.principal_id: 0 for a in played.world.agents}
    for call in played.calls:
        if call.direction == "in" and call.answered_at:
            answered_by[call.agent_id] += 1
    assert {row.agent_id: row.answered for row in report.agents} == answered_by
    one = report.agents[0]
    by_agent = summary(played, agent_id=one.agent_id)
    assert by_agent.scope == "agents" and by_agent.totals.answered == one.answered
    assert by_agent.totals.queued == 0  # a queue's figures are nobody's
    # Narrowed to inbound calls: the calls of that slice, and still all of the agent's time.
    inbound = summary(played, agent_id=one.agent_id, direction="in").totals
    assert inbound.answered == one.answered and inbound.callbacks_placed == 0
    assert inbound.agent_time_s == by_agent.totals.agent_time_s and inbound.agent_time_s.IN_CALL > 0


def test_dimensions_narrow_the_calls(played):
    out = summary(played, direction="out").totals
    assert out.callbacks_placed == played.workload.truth["cb_placed"] and out.queued == 0
    for sub_type in ("ZP", "MC"):
        wanted = sum(1 for c in played.calls if c.direction == "in" and c.sub_type == sub_type)
        assert summary(played, sub_type=sub_type.lower()).totals.queued == wanted
    khdn = sum(1 for c in played.calls if c.direction == "in" and c.customer_type == "KHDN")
    assert summary(played, direction="in", customer_type="KHDN").totals.queued == khdn


def page_through(played: Played, limit: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        params = played.params(limit=limit, **filters)
        if cursor:
            params["cursor"] = cursor
        page = CallList().page(played.caller, r.CallsQuery.model_validate(params))
        assert len(page.calls) <= limit
        seen += [row.call_id for row in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def test_the_call_list_pages_through_every_call_once_newest_first(played):
    seen = page_through(played, limit=7)
    assert len(seen) == len(set(seen))
    newest_first = sorted(played.calls, key=lambda c: (c.created_at, c.call_id), reverse=True)
    assert seen == [c.call_id for c in newest_first]


@pytest.mark.parametrize(
    "field",
    [
        "decision",
        "state",
        "end_reason",
        "agent_id",
        "subscriber",
        "dossier_id",
        "direction",
        "dealer_channel",
    ],
)
def test_each_call_list_filter_keeps_exactly_its_calls(played, field):
    sample = next(c for c in reversed(played.calls) if getattr(c, field))
    value = getattr(sample, field)
    if field == "subscriber":
        value = "0" + value[2:]  # another spelling of the same number
    wanted = {c.call_id for c in played.calls if getattr(c, field) == getattr(sample, field)}
    assert set(page_through(played, limit=5, **{field: value})) == wanted


def test_the_errors_report_names_the_calls_no_agent_took(played):
    report = played.queries.errors(played.caller, r.ErrorsQuery.model_validate(played.params()))
    no_agent = [c.call_id for c in played.calls if c.end_reason == "no_agent"]
    group = next(g for g in report.groups if g.end_reason == "no_agent")
    assert (group.state, group.code, group.count) == ("FINISHED", "NO_AGENT_AVAILABLE", len(no_agent))
    assert set(group.call_ids) == set(no_agent[-20:])
    assert all(g.end_reason not in ("completed", "caller_hung_up") for g in report.groups)


def test_the_csv_has_a_bom_a_header_and_every_row(played):
    stream = CallList().csv(played.caller, r.CallsQuery.model_validate(played.params(limit=3)))
    text = "".join(stream.chunks(chunk_chars=256))
    assert text.startswith("\ufeffcall_id,created_at,")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert sorted(row["call_id"] for row in rows) == sorted(played.workload.call_ids)
    assert {row["evidence.recording"] for row in rows} <= {"True", "False"}
    summary_csv = played.queries.summary_csv(played.caller, r.SummaryQuery.model_validate(played.params()))
    lines = "".join(summary_csv.chunks()).splitlines()
    assert lines[0].startswith("\ufeffbucket,start,queued,answered") and lines[-1].startswith("total,")


BAD = [
    ({"unit_id": "u-other"}, "UNIT_NOT_SERVED"),
    ({"queue_id": "no-such-queue"}, "NOT_FOUND"),
    ({"group_id": "no-such-group"}, "NOT_FOUND"),
    ({"agent_id": "no-such-agent"}, "NOT_FOUND"),
    ({"sub_type": "XYZ"}, "BAD_MESSAGE"),
    ({"bucket": "15min", "from": "2025-06-01", "to": "2025-06-05"}, "REPORT_RANGE_TOO_LONG"),
    ({"bucket": "day", "from": "2025-01-01", "to": "2025-06-05"}, "REPORT_RANGE_TOO_LONG"),
    ({"from": "2025-06-05", "to": "2025-06-01"}, "BAD_MESSAGE"),
    ({"sub_type": "ZP", "customer_type": "KHCN"}, "REPORT_FILTERS_UNSUPPORTED"),
]


@pytest.mark.parametrize(("extra", "code"), BAD, ids=[c for _, c in BAD])
def test_every_filter_value_is_checked_with_its_code(played, extra, code):
    with pytest.raises(ProtocolError) as caught:
        summary(played, **extra)
    assert caught.value.code == code


def test_an_agent_filter_cannot_be_combined_with_a_queue(played):
    agent_id = played.world.agents[0].principal_id
    with pytest.raises(ProtocolError) as caught:
        summary(played, agent_id=agent_id, queue_id=played.world.queue_id)
    assert caught.value.code == "REPORT_FILTERS_UNSUPPORTED"
    with pytest.raises(ProtocolError) as caught:
        CallList().page(played.caller, r.CallsQuery.model_validate(played.params(cursor="bm90LWEtY3Vyc29y")))
    assert caught.value.code == "BAD_MESSAGE"


def test_a_day_without_calls_is_zero_not_missing(played):
    later = (datetime.fromisoformat(played.last) + timedelta(days=3)).date().isoformat()
    empty = summary(played, **{"from": later, "to": later})
    assert empty.totals.queued == 0 and empty.totals.service_level_percent is None
    assert [b.label for b in empty.series] == [later]


def test_a_subscriber_or_dossier_of_another_units_calls_lists_nothing(played):
    """An id filter reads another index than the units': the reach still filters every row."""
    stranger = ReportCaller("gs.other", "u-other", (UnitView("u-other", "Khác", "u-other", True),))
    call = next(c for c in played.calls if c.subscriber and c.dossier_id)
    for field in ("subscriber", "dossier_id"):
        query = r.CallsQuery.model_validate(played.params(**{field: getattr(call, field)}))
        page = CallList().page(stranger, query)
        assert page.calls == [] and page.next_cursor is None
