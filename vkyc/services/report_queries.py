"""The summary, agents and errors reports, read from the aggregates (``vkyc.services.aggregates``): a
report reads the cells of its range (one Query per owner: a unit's queue, an agent, a unit's staff),
of the slice its filters name (``Scope.suffix``), so what it costs depends on the range and the owners,
never on the number of calls nor on the dimension values they carried.

- ``summary``: the figures of ``docs/reports.md`` in total and per bucket (15 minutes, hour: from the
  15-minute cells; day, week, month: from the day cells). For units, every call of the units; with
  ``group_id`` / ``agent_id``, the work of those agents. Agent state time includes the stint each agent
  is in now, up to now.
- ``agents``: one row per agent of the range.
- ``errors``: the calls that ended by an error, grouped by how they ended, with the newest ids.

Each also answers as CSV rows (``*_csv``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vkyc.domain.buckets import QUARTER, day_start, ms, parse_quarter, pieces, quarter_key, quarters
from vkyc.domain.figures import Sums, figures
from vkyc.domain.metrics import AGENT_STATES, Family, owner_of_queue
from vkyc.protocol import report_rest as r
from vkyc.protocol.tabular import CsvStream
from vkyc.repositories import aggregates, call_lists, directory
from vkyc.repositories.tables import Agent
from vkyc.services.ports import Clock, utc_now
from vkyc.services.report_scope import MAX_DAYS, ReportCaller, Scope, clipped_end, resolve

ERROR_REASONS = (
    "no_agent",
    "grace_expired",
    "mobile_left",
    "agent_left",
    "media_failed",
    "media_node_lost",
    "swept",
    "no_call_arrived",
    "device_not_registered",
)
"""How a call ends by an error (not the caller's or the customer's choice, not a normal end)."""
ERROR_CODES = {
    "no_agent": "NO_AGENT_AVAILABLE",
    "media_node_lost": "MEDIA_NODE_LOST",
    "device_not_registered": "DEVICE_NOT_REGISTERED",
}
ERROR_IDS = 20
ERROR_PAGE = 200
ERROR_PAGES_PER_UNIT = 5


def _iso(when: datetime, zone: Any) -> str:
    return when.astimezone(zone).isoformat()


class Buckets:
    """The report's buckets over its range: each cell's bucket key maps to one of them."""

    def __init__(self, scope: Scope, bucket: str) -> None:
        self.scope, self.bucket = scope, bucket
        zone = scope.zone
        self.starts: list[datetime] = []
        if bucket == "15min":
            self.starts = list(quarters(scope.start, scope.end))
        elif bucket == "hour":
            at = scope.start
            while at < scope.end:
                self.starts.append(at)
                at = (at.astimezone(zone) + timedelta(hours=1)).astimezone(UTC)
        else:
            day = scope.first
            while day <= scope.last:
                start = self._day_bucket(day)
                if not self.starts or self.starts[-1] != day_start(start, zone):
                    self.starts.append(day_start(start, zone))
                day += timedelta(days=1)

    @property
    def fine(self) -> bool:
        return self.bucket in ("15min", "hour")

    def _day_bucket(self, day: date) -> date:
        if self.bucket == "week":
            return max(self.scope.first, day - timedelta(days=day.weekday()))
        if self.bucket == "month":
            return max(self.scope.first, day.replace(day=1))
        return day

    def index_of(self, key: str) -> int | None:
        """The bucket a cell key (quarter or day) falls in."""
        if self.fine:
            at = parse_quarter(key)
        else:
            at = day_start(self._day_bucket(date.fromisoformat(key)), self.scope.zone)
        if not self.scope.start <= at < self.scope.end:
            return None
        position = bisect.bisect_right(self.starts, at) - 1
        return position if position >= 0 else None

    def label(self, n: int) -> str:
        local = self.starts[n].astimezone(self.scope.zone)
        if self.fine:
            return local.strftime("%Y-%m-%dT%H:%M")
        return local.strftime("%Y-%m") if self.bucket == "month" else local.date().isoformat()

    def span(self, n: int, until: datetime) -> int:
        end = self.starts[n + 1] if n + 1 < len(self.starts) else self.scope.end
        return max(0, ms(min(end, until)) - ms(self.starts[n]))

    def keys(self) -> tuple[str, str]:
        """The first and last cell keys of the range."""
        if self.fine:
            return quarter_key(self.scope.start), quarter_key(self.scope.end - QUARTER)
        return self.scope.first.isoformat(), self.scope.last.isoformat()


class ReportQueries:
    def __init__(
        self, *, clock: Clock = utc_now, live_agents: Callable[[str], list[Agent]] | None = None
    ) -> None:
        self.clock = clock
        self.live_agents = live_agents or (lambda unit: list(Agent.by_unit.query(unit)))

    # -- summary ----------------------------------------------------------------------------------------

    def summary(self, caller: ReportCaller, query: r.SummaryQuery) -> r.Summary:
        scope = resolve(caller, query, max_days=MAX_DAYS[query.bucket])
        suffix = scope.suffix()
        buckets = Buckets(scope, query.bucket)
        first_key, last_key = buckets.keys()
        fine = buckets.fine
        sums = [Sums() for _ in buckets.starts]

        def add(family: Family, owner: str, dims: str, *, calls: bool, states: bool) -> None:
            for key, row in aggregates.read(family, owner, first_key, last_key, dims).items():
                n = buckets.index_of(key)
                if n is not None:
                    sums[n].add_item(row, calls=calls, states=states)

        if scope.by_agents:
            family = Family.AGENT_15 if fine else Family.AGENT_DAY
            for agent in scope.agents:
                # State time is the agent's, not a slice's: kept in its cells of every call.
                add(family, agent.id, suffix, calls=True, states=not suffix)
                if suffix:
                    add(family, agent.id, "", calls=False, states=True)
        else:
            family = Family.QUEUE_15 if fine else Family.QUEUE_DAY
            for unit in scope.units:
                for queue_id in scope.queues.get(unit.unit_id, []):
                    owner = owner_of_queue(unit.unit_id, queue_id)
                    add(family, owner, suffix, calls=True, states=False)
            staff = Family.STAFF_15 if fine else Family.STAFF_DAY
            for unit_id in scope.staff_units:
                add(staff, unit_id, "", calls=False, states=True)
        now = self.clock()
        for quarter, day, state, amount in self._ongoing(scope, now):
            n = buckets.index_of(quarter if fine else day)
            if n is not None:
                sums[n].state_ms[state] = sums[n].state_ms.get(state, 0) + amount
        until = clipped_end(scope, now)
        total = Sums()
        for part in sums:
            total.add(part)
        agents = len(scope.agents)
        series = [
            r.SummaryBucket(
                start=_iso(buckets.starts[n], scope.zone),
                label=buckets.label(n),
                figures=r.Figures.model_validate(
                    figures(part, span_ms=buckets.span(n, until), agents=agents)
                ),
            )
            for n, part in enumerate(sums)
        ]
        span = max(0, ms(until) - ms(scope.start))
        return r.Summary(
            **{"from": query.from_},
            to=query.to,
            bucket=query.bucket,
            time_zone=scope.settings.timezone,
            units=scope.unit_ids,
            agents=[a.id for a in scope.agents],
            scope="agents" if scope.by_agents else "units",
            sla_answer_within_s=scope.settings.sla_answer_within_s,
            sla_target_percent=scope.settings.sla_target_percent,
            totals=r.Figures.model_validate(figures(total, span_ms=span, agents=agents)),
            series=series,
        )

    def _ongoing(self, scope: Scope, now: datetime) -> Iterator[tuple[str, str, str, int]]:
        """The stint each agent of the scope is in now, within the range: (quarter, day, state, ms)."""
        wanted = {a.id for a in scope.agents}
        units = sorted({a.unit_id for a in scope.agents})
        until = clipped_end(scope, now)
        for unit_id in units:
            for agent in self.live_agents(unit_id):
                if (
                    agent.agent_id not in wanted
                    or agent.state not in AGENT_STATES
                    or agent.updated_at is None
                ):
                    continue
                start = max(agent.updated_at, scope.start)
                for quarter, day, amount in pieces(start, until, scope.zone) if start < until else ():
                    yield quarter, day, agent.state, amount

    def summary_csv(self, caller: ReportCaller, query: r.SummaryQuery) -> CsvStream:
        answer = self.summary(caller, query)
        columns = _flat(answer.totals.model_dump())
        rows: list[list[Any]] = [
            [b.label, b.start, *_flat(b.figures.model_dump()).values()] for b in answer.series
        ]
        rows.append(["total", answer.series[0].start if answer.series else "", *columns.values()])
        name = f"summary_{query.from_}_{query.to}_{query.bucket}.csv"
        return CsvStream(name, ["bucket", "start", *columns], rows)

    # -- agents -----------------------------------------------------------------------------------------

    def agents(self, caller: ReportCaller, query: r.AgentsQuery) -> r.AgentsReport:
        scope = resolve(caller, query, max_days=MAX_DAYS["month"])
        now = self.clock()
        span = max(0, ms(clipped_end(scope, now)) - ms(scope.start))
        live: dict[str, Agent] = {}
        for unit_id in sorted({a.unit_id for a in scope.agents}):
            live.update({a.agent_id: a for a in self.live_agents(unit_id)})
        now_in: dict[str, int] = {}  # the stint each agent is in now, within the range
        until = clipped_end(scope, now)
        for agent_id, item in live.items():
            if item.state in AGENT_STATES and item.updated_at is not None:
                now_in[agent_id] = max(0, ms(until) - ms(max(item.updated_at, scope.start)))
        rows: list[r.AgentRow] = []
        group_names = {g.id: g.name for g in directory.groups().values()}
        first, last = scope.first.isoformat(), scope.last.isoformat()
        for agent in sorted(scope.agents, key=lambda a: (a.unit_id, a.name)):
            sums = Sums()
            for row in aggregates.read(Family.AGENT_DAY, agent.id, first, last).values():
                sums.add_item(row)
            current = live.get(agent.id)
            if current is not None and agent.id in now_in:
                sums.state_ms[current.state] = sums.state_ms.get(current.state, 0) + now_in[agent.id]
            f = figures(sums, span_ms=span, agents=1)
            rows.append(
                r.AgentRow(
                    agent_id=agent.id,
                    name=agent.name,
                    unit_id=agent.unit_id,
                    groups=sorted(group_names.get(g, g) for g in agent.group_ids),
                    status=current.state if current is not None else "OFFLINE",
                    answered=f["answered"],
                    missed_offers=f["missed_offers"],
                    rejected_offers=f["rejected_offers"],
                    answer_rate_percent=f["answer_rate_percent"],
                    answered_within_sla=f["answered_within_sla"],
                    avg_speed_of_answer_s=f["avg_speed_of_answer_s"],
                    talked=f["talked"],
                    avg_talk_s=f["avg_talk_s"],
                    wrap_ups=f["wrap_ups"],
                    avg_wrap_up_s=f["avg_wrap_up_s"],
                    avg_handle_s=f["avg_handle_s"],
                    callbacks_placed=f["callbacks_placed"],
                    callbacks_answered=f["callbacks_answered"],
                    decided=f["decided"],
                    decisions=r.Decisions.model_validate(f["decisions"]),
                    evidence_complete_percent=f["evidence"]["complete_percent"],
                    time_s=r.AgentTime.model_validate(f["agent_time_s"]),
                    occupancy_percent=f["occupancy_percent"],
                )
            )
        return r.AgentsReport(
            **{"from": query.from_},
            to=query.to,
            time_zone=scope.settings.timezone,
            units=scope.unit_ids,
            agents=rows,
        )

    def agents_csv(self, caller: ReportCaller, query: r.AgentsQuery) -> CsvStream:
        answer = self.agents(caller, query)
        if not answer.agents:
            return CsvStream(f"agents_{query.from_}_{query.to}.csv", ["agent_id"], [])
        header = list(_flat(answer.agents[0].model_dump()))
        rows = [list(_flat(a.model_dump()).values()) for a in answer.agents]
        return CsvStream(f"agents_{query.from_}_{query.to}.csv", header, rows)

    # -- errors -----------------------------------------------------------------------------------------

    def errors(self, caller: ReportCaller, query: r.ErrorsQuery) -> r.ErrorsReport:
        scope = resolve(caller, query, max_days=MAX_DAYS["month"])
        suffix = scope.suffix()
        sums = Sums()
        for unit in scope.units:
            for queue_id in scope.queues.get(unit.unit_id, []):
                owner = owner_of_queue(unit.unit_id, queue_id)
                for row in aggregates.read(
                    Family.QUEUE_DAY, owner, scope.first.isoformat(), scope.last.isoformat(), suffix
                ).values():
                    sums.add_item(row, states=False)
        counted = {end: n for end, n in sums.ends.items() if n and end.split(":", 1)[1] in ERROR_REASONS}
        ids = self._error_ids(scope, {end.split(":", 1)[1] for end in counted}, query.direction)
        groups = [
            r.ErrorGroup(
                state=end.split(":", 1)[0],
                end_reason=end.split(":", 1)[1],
                code=ERROR_CODES.get(end.split(":", 1)[1]),
                count=n,
                call_ids=ids.get(end, []),
            )
            for end, n in sorted(counted.items(), key=lambda item: (-item[1], item[0]))
        ]
        return r.ErrorsReport(
            **{"from": query.from_},
            to=query.to,
            time_zone=scope.settings.timezone,
            units=scope.unit_ids,
            total=sum(counted.values()),
            groups=groups,
        )

    def _error_ids(self, scope: Scope, reasons: set[str], direction: str | None) -> dict[str, list[str]]:
        """The newest calls of each error end, from a few pages of each unit's calls (bounded reads)."""
        found: dict[str, list[str]] = {}
        if not reasons:
            return found
        equals = {"direction": direction} if direction else None
        for unit in scope.units:
            until = call_lists.stamp(scope.end - timedelta(microseconds=1))
            for _ in range(ERROR_PAGES_PER_UNIT):
                page = call_lists.page(
                    "by_unit_created",
                    unit.unit_id,
                    scope.start,
                    until,
                    limit=ERROR_PAGE,
                    equals=equals,
                    one_of={"end_reason": sorted(reasons)},
                )
                for call in page.calls:
                    listed = found.setdefault(f"{call.state}:{call.end_reason}", [])
                    if len(listed) < ERROR_IDS:
                        listed.append(call.call_id)
                if page.last_examined is None or all(len(found.get(k, [])) >= ERROR_IDS for k in found):
                    break
                until = _just_before(page.last_examined)
        return found

    def errors_csv(self, caller: ReportCaller, query: r.ErrorsQuery) -> CsvStream:
        answer = self.errors(caller, query)
        rows = [[g.state, g.end_reason, g.code, g.count, " ".join(g.call_ids)] for g in answer.groups]
        return CsvStream(
            f"errors_{query.from_}_{query.to}.csv", ["state", "end_reason", "code", "count", "call_ids"], rows
        )


def _just_before(stored: str) -> str:
    """The stored ``created_at`` one microsecond earlier (to continue a page below it)."""
    when = datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%f%z") - timedelta(microseconds=1)
    return call_lists.stamp(when)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested answer fields as CSV columns (``decisions.A``)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            flat[prefix + key] = " ".join(str(v) for v in value)
        else:
            flat[prefix + key] = value
    return flat
