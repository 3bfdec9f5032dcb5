"""Reports at volume: does what a report costs stay flat as calls pile up?

Seeds 1,000 historical calls of a serving unit and the two units it serves over 31 days (call items,
their logs, the agents' logs, and the aggregates computed from them by the same functions the stream
consumer and the rebuild use), then measures; then seeds more calls up to 100,000 and measures again:

- a 31-day summary (day buckets), a 31-day agents report, the first page of the call list (50 rows):
  DynamoDB items read (counted from every response: Query/Scan ``Count``, GetItem, BatchGetItem) and
  p50 latency of ``--samples`` runs (the report use cases called in this process, moto in its own);
- ``ratio_100k_1k``: each p50 at 100,000 calls over the one at 1,000 (target ≤ 1.2; items read must not
  grow at all);
- the CSV export of all 100,000 rows of the call list: how much the process's resident memory grows
  while it is generated and read (target < 50 MB), and its size.

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import botocore.client

from local.moto_server import MotoServer, ensure_fake_credentials
from vkyc import env
from vkyc.domain.metrics import (
    CallFacts,
    Cell,
    Contribution,
    LogFacts,
    call_contribution,
    merge,
    milestones_from_log,
    stint_contributions,
)
from vkyc.protocol import report_rest as r
from vkyc.repositories import aggregates, directory, tables
from vkyc.repositories.units import UnitView
from vkyc.services.aggregates import zone_of
from vkyc.services.call_list import CallList
from vkyc.services.report_queries import ReportQueries
from vkyc.services.report_scope import ReportCaller

SERVING, SERVED = "B1", ("B1", "B4", "B6")
QUEUE = "B1-q"
AGENTS = [f"b1-agent-{n:02d}" for n in range(10)]
SUB_TYPES = ("ZP", "MC", "B4G", "FC", "MY")
FIRST = date(2026, 1, 1)
DAYS = 31

# -- items read ------------------------------------------------------------------------------------------

_reads = threading.local()


def _install_read_counter() -> None:
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        answer = original(self, operation, params)
        if getattr(_reads, "on", False):
            if operation in ("Query", "Scan"):
                _reads.items += int(answer.get("Count", 0))
            elif operation == "GetItem":
                _reads.items += 1 if "Item" in answer else 0
            elif operation == "BatchGetItem":
                _reads.items += sum(len(v) for v in answer.get("Responses", {}).values())
            _reads.requests += 1
        return answer

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[attr-defined]


def measured(run: Callable[[], Any], samples: int) -> tuple[int, float]:
    """Items read by one run, and the p50 ms of ``samples`` runs (after one warm-up)."""
    run()
    timings = []
    items = 0
    for _ in range(samples):
        _reads.on, _reads.items, _reads.requests = True, 0, 0
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
        items = _reads.items
        _reads.on = False
    return items, round(statistics.median(timings), 2)


# -- seeding -----------------------------------------------------------------------------------------------


def _client() -> Any:
    return tables.connection().client


def _write(table: str, items: list[dict[str, Any]], threads: int = 4) -> None:
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def send(batch: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = _client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, batches))


def setup_config() -> None:
    for unit in SERVED:
        tables.Unit(unit, name=f"Đơn vị {unit}", served_by=SERVING, has_agents=unit == SERVING).save()
    tables.Group("B1-team", unit_id=SERVING, name="Tổ B1").save()
    tables.Queue(
        QUEUE, unit_id=SERVING, name="Hàng đợi B1", groups=[tables.QueueGroup(group_id="B1-team", priority=1)]
    ).save()
    start = datetime(2025, 12, 31, tzinfo=UTC)
    for agent_id in AGENTS:
        agent = tables.Agent(
            agent_id, unit_id=SERVING, name=f"Nhân viên {agent_id[-2:]}", group_ids={"B1-team"}
        )
        agent.state, agent.version, agent.created_at, agent.updated_at = "OFFLINE", 1, start, start
        agent.last_request_id = "seed"
        agent.save()


def agent_stints(zone: Any) -> tuple[list[dict[str, Any]], list[Contribution]]:
    """Each agent's days: logged in 8:00-17:00 with a break, available and in calls (a log entry per
    change), offline at night; the log items and what their stints add."""
    rng = random.Random(7)
    log_items: list[dict[str, Any]] = []
    contributions: list[Contribution] = []
    for agent_id in AGENTS:
        version, state, at = 1, "OFFLINE", datetime(2025, 12, 31, tzinfo=UTC)
        for day in range(DAYS):
            local = datetime(FIRST.year, FIRST.month, FIRST.day, 8, tzinfo=zone) + timedelta(days=day)
            moments = [local]
            for _ in range(16):
                moments.append(moments[-1] + timedelta(minutes=rng.randint(10, 40)))
            states = ["UNAVAILABLE"] + ["AVAILABLE", "RINGING", "IN_CALL", "WRAP_UP"] * 4
            for when, next_state in [
                *zip(moments, states, strict=True),
                (moments[-1] + timedelta(hours=1), "OFFLINE"),
            ]:
                version += 1
                contributions += stint_contributions(agent_id, SERVING, state, at, when, version, zone)
                log_items.append(
                    {
                        "agent_id": {"S": agent_id},
                        "version": {"N": str(version)},
                        "from_state": {"S": state},
                        "to_state": {"S": next_state},
                        "event": {"S": "seed"},
                        "actor": {"S": "seed"},
                        "request_id": {"S": f"seed-{agent_id}-{version}"},
                        "at": {"S": tables.AgentLog.at.serialize(when)},
                    }
                )
                state, at = next_state, when
    return log_items, contributions


def seed_calls(
    count: int, seed: int, zone: Any, counters: Counters
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` calls spread over the 31 days: items and log items; what they add is folded into
    ``counters`` as they are made (holding 100,000 calls' contributions would take gigabytes)."""
    rng = random.Random(seed)
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=zone).astimezone(UTC)
    span = DAYS * 86400
    calls: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for _ in range(count):
        created = start + timedelta(seconds=rng.uniform(0, span - 3600))
        call_id = str(uuid.UUID(int=rng.getrandbits(128)))
        unit = rng.choice(SERVED)
        agent = rng.choice(AGENTS)
        outcome = rng.random()
        entries = [LogFacts(1, None, "N", "create", "dealer", created)]
        item = tables.Call(
            call_id=call_id,
            direction="in",
            unit_id=unit,
            serving_unit_id=SERVING,
            queue_id=QUEUE,
            dossier_id=f"D-{call_id[:8]}",
            subscriber="849" + str(rng.randrange(10**7, 10**8)),
            sub_type=rng.choice(SUB_TYPES),
            customer_type=rng.choice(("KHCN", "KHDN")),
            dealer_channel=rng.choice(("DBH", "DL", None)),
            created_at=created,
        )
        waited = timedelta(seconds=rng.uniform(1, 60))
        if outcome < 0.8:
            entries.append(LogFacts(2, "N", "W", "offer", "router", created + timedelta(seconds=1)))
            entries.append(LogFacts(3, "W", "A", "accept", agent, created + waited))
            ended = created + waited + timedelta(seconds=rng.uniform(60, 600))
            entries.append(LogFacts(4, "A", "FINISHED", "end", "agent", ended))
            item.agent_id, item.answered_at, item.ended_at, item.end_reason = (
                agent,
                created + waited,
                ended,
                "completed",
            )
            item.state, item.version = "FINISHED", 4
            if rng.random() < 0.9:
                item.decision = rng.choice("ARCD")
                item.face_snapshot_ids = {"s1"}
                item.recording_key, item.recording_closed_at = f"calls/{call_id}/recording.webm", ended
                item.evidence_built_at = ended + timedelta(seconds=5)
        elif outcome < 0.95:
            entries.append(LogFacts(2, "N", "E", "caller_hangup", "dealer", created + waited))
            item.ended_at, item.end_reason, item.state, item.version = (
                created + waited,
                "caller_hung_up",
                "E",
                2,
            )
        else:
            entries.append(
                LogFacts(2, "N", "FINISHED", "no_agent", "system", created + timedelta(seconds=180))
            )
            item.ended_at, item.end_reason = created + timedelta(seconds=180), "no_agent"
            item.state, item.version = "FINISHED", 2
        item.updated_at = entries[-1].at
        item.last_request_id = "seed"
        calls.append(item.serialize())
        for e in entries:
            logs.append(
                {
                    "call_id": {"S": call_id},
                    "version": {"N": str(e.version)},
                    **({"from_state": {"S": e.from_state}} if e.from_state else {}),
                    "to_state": {"S": e.to_state},
                    "event": {"S": e.event},
                    "actor": {"S": e.actor},
                    "request_id": {"S": f"seed-{call_id}-{e.version}"},
                    "at": {"S": tables.CallEvent.at.serialize(e.at)},
                }
            )
        facts = CallFacts(
            call_id, item.version, "in", item.state, unit, created, SERVING, QUEUE, item.sub_type,
            item.customer_type, item.dealer_channel, item.agent_id, item.answered_at, item.ended_at,
            item.end_reason, item.decision, bool(item.recording_key), bool(item.face_snapshot_ids),
            item.evidence_built_at is not None,
        )  # fmt: skip
        counters.fold(
            call_contribution(m, facts, zone_of=zone_of, sla_s_of=lambda u: 20)
            for m in milestones_from_log(facts, entries)
        )
    return calls, logs


class Counters:
    """Every cell's counters, as the stream consumer would have left them."""

    def __init__(self) -> None:
        self.sums: dict[Cell, dict[str, int]] = {}
        self.maxima: dict[Cell, dict[str, int]] = {}

    def fold(self, contributions: Iterable[Contribution]) -> None:
        merge(self.sums, contributions, self.maxima)


def write_aggregates(counters: Counters) -> None:
    """Write every cell whole."""
    sums = {cell: dict(row) for cell, row in counters.sums.items()}
    for cell, row in counters.maxima.items():
        sums.setdefault(cell, {}).update(row)
    items = [
        {
            "counter_key": {"S": aggregates.counter_key(cell.family, cell.owner)},
            "bucket": {"S": cell.bucket},
            **{name: {"N": str(value)} for name, value in row.items() if value},
        }
        for cell, row in sums.items()
    ]
    _write(tables.ReportCounter.Meta.table_name, items)


# -- measuring ---------------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def csv_memory(caller: ReportCaller, params: dict[str, Any]) -> tuple[int, int, float]:
    """Rows and bytes of the call list's CSV, and how far resident memory rose while it was read."""
    baseline = rss_mb()
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb())
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = rows = 0
    for chunk in CallList().csv(caller, r.CallsQuery.model_validate(params)).chunks():
        size += len(chunk.encode())
        rows += chunk.count("\r\n")
    stop.set()
    sampler.join()
    return rows - 1, size, round(max(peak[0], rss_mb()) - baseline, 1)


def measure_all(caller: ReportCaller, samples: int) -> dict[str, tuple[int, float]]:
    last = (FIRST + timedelta(days=DAYS - 1)).isoformat()
    params = {"from": FIRST.isoformat(), "to": last}
    queries = ReportQueries(clock=lambda: datetime(2026, 2, 2, tzinfo=UTC))
    summary = r.SummaryQuery.model_validate({**params, "bucket": "day"})
    agents = r.AgentsQuery.model_validate(params)
    calls = r.CallsQuery.model_validate({**params, "limit": 50})
    return {
        "summary": measured(lambda: queries.summary(caller, summary), samples),
        "agents": measured(lambda: queries.agents(caller, agents), samples),
        "calls": measured(lambda: CallList().page(caller, calls), samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    ensure_fake_credentials()
    server = MotoServer(port=0)
    server.start()
    try:
        tables.bind(server.url, env.region(), f"bench{uuid.uuid4().hex[:6]}-")
        tables.create_all()
        _install_read_counter()
        setup_config()
        directory.clear()
        zone = zone_of(SERVING)
        units = tuple(UnitView(u, f"Đơn vị {u}", SERVING, u == SERVING) for u in SERVED)
        caller = ReportCaller("gs.bench", SERVING, units)
        agent_logs, stints = agent_stints(zone)
        _write(tables.AgentLog.Meta.table_name, agent_logs)
        results: dict[int, dict[str, tuple[int, float]]] = {}
        counters = Counters()
        counters.fold(stints)
        seeded = 0
        for size, seed in ((args.small, 1), (args.large, 2)):
            started = time.perf_counter()
            calls, logs = seed_calls(size - seeded, seed, zone, counters)
            _write(tables.Call.Meta.table_name, calls)
            _write(tables.CallEvent.Meta.table_name, logs)
            del calls, logs
            write_aggregates(counters)
            seeded = size
            print(f"seeded {size} calls ({time.perf_counter() - started:.0f} s)", flush=True)
            results[size] = measure_all(caller, args.samples)
        last = (FIRST + timedelta(days=DAYS - 1)).isoformat()
        rows, size_bytes, growth = csv_memory(caller, {"from": FIRST.isoformat(), "to": last})
    finally:
        server.stop()
    small, large = results[args.small], results[args.large]
    print(f"{'report':<10}{'items 1k':>10}{'p50 ms 1k':>12}{'items 100k':>12}{'p50 ms 100k':>13}{'ratio':>8}")
    for name in ("summary", "agents", "calls"):
        ratio = large[name][1] / small[name][1]
        print(
            f"{name:<10}{small[name][0]:>10}{small[name][1]:>12}{large[name][0]:>12}{large[name][1]:>13}{ratio:>8.2f}"
        )
    print(f"CSV of {rows} rows, {size_bytes / 2**20:.1f} MB: resident memory +{growth} MB")
    line: dict[str, Any] = {"calls_small": args.small, "calls_large": args.large}
    for name in ("summary", "agents", "calls"):
        line[f"{name}_items_1k"], line[f"{name}_p50_ms_1k"] = small[name]
        line[f"{name}_items_100k"], line[f"{name}_p50_ms_100k"] = large[name]
    line["ratio_100k_1k"] = {
        name: round(large[name][1] / small[name][1], 2) for name in ("summary", "agents", "calls")
    }
    line.update({"csv_rows": rows, "csv_mb": round(size_bytes / 2**20, 1), "csv_rss_growth_mb": growth})
    print(json.dumps(line))


if __name__ == "__main__":
    main()
