"""Reports at volume: does what a report costs stay flat as calls pile up?

Seeds 1,000 historical calls of a serving unit and the two units it serves over 31 days (call items,
their logs, the agents' logs, and the aggregates computed from them by the same functions the stream
consumer and the rebuild use), and apart from them 100,000 calls the same way, then measures both,
taking turns. The two sets have the same shape (3 units, their queue and group, 10 agents and the same
31 days of the agents' logs; checked before measuring, and printed) and differ only in their calls:

- a 31-day summary (day buckets), a 31-day agents report, the first page of the call list (50 rows):
  DynamoDB items read (counted from every response: Query/Scan ``Count``, GetItem, BatchGetItem) and
  p50 latency of ``--samples`` runs (the report use cases called in this process, moto in its own);
- ``ratio_100k_1k``: each p50 at 100,000 calls over the one at 1,000 (target ≤ 1.2; items read must not
  grow at all);
- the CSV export of all 100,000 rows of the call list: how much the process's resident memory grows
  while it is generated and read (target < 50 MB), and its size.

Prints a table, then one JSON line.

Seeding goes straight into moto's backend, in this process (moto runs here as a thread): through
HTTP, the calls with their logs and counters took about 50 ms a call on the shared 2-core machine (over
an hour for 100,000).
The measures run in a child process (``--measure``) that reads through moto's HTTP endpoint like any
client, so its latency includes the round trips and its resident memory is the report's alone.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import botocore.client

from local import moto_patches
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
from vkyc.repositories import aggregates, pynamodb_internals, tables
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


def use_prefix(prefix: str) -> None:
    """Point every model at the tables of ``prefix``, on the connection already bound (no network)."""
    shared = tables.connection()
    for model in tables.ALL_MODELS:
        model.Meta.table_name = prefix + model.TABLE
        if model.Meta.table_name not in shared._tables:
            pynamodb_internals.share_connection(model, shared)
        else:  # as share_connection does, the schema being registered already
            model._connection = None
            model._get_connection().connection = shared


def measured(run: Callable[[], Any], prefixes: list[str], samples: int) -> list[tuple[int, float]]:
    """For each table set: the items a run reads, and the p50 ms of ``samples`` runs. The sets take
    turns run by run (after a warm-up of each), so that the machine's changing load falls on each
    alike: the ratio is what the bench is about."""
    for prefix in prefixes:
        use_prefix(prefix)
        run()
    timings: dict[str, list[float]] = {p: [] for p in prefixes}
    items: dict[str, list[int]] = {p: [] for p in prefixes}
    for n in range(samples):
        for prefix in prefixes if n % 2 == 0 else prefixes[::-1]:
            use_prefix(prefix)
            _reads.on, _reads.items, _reads.requests = True, 0, 0
            started = time.perf_counter()
            run()
            timings[prefix].append((time.perf_counter() - started) * 1000)
            items[prefix].append(_reads.items)
            _reads.on = False
    # The fewest items of the runs: the one that refreshes a cached configuration reads a few more.
    return [(min(items[p]), round(statistics.median(timings[p]), 2)) for p in prefixes]


# -- seeding -----------------------------------------------------------------------------------------------


def _write(table_name: str, items: list[dict[str, Any]]) -> None:
    """Put ``items`` (DynamoDB JSON) into the in-process moto backend's table: no request, no stream
    record (nobody consumes them here, and 100,000 calls' records would only fill memory)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][env.region()].get_table(table_name)
    with moto_patches._LOCK:
        shard, table.stream_shard = table.stream_shard, None
        try:
            keys = [k for k in (table.hash_key_attr, table.range_key_attr) if k]
            for item in items:
                stored = table.put_item({k: item[k] for k in keys}, overwrite=True)
                # moto's item dict re-measures the whole item at each attribute set: a counter row of
                # hundreds of attributes took a second. Items here are valid by construction.
                dict.update(stored.attrs, {k: DynamoType(v) for k, v in item.items() if k not in keys})
        finally:
            table.stream_shard = shard
            moto_patches._writes[0] += 2  # the patched Query's maps of the indexes are now stale


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
            "counter_key": {"S": aggregates.counter_key(cell.family, cell.owner, cell.dims)},
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


def measure_all(
    caller: ReportCaller, prefixes: list[str], samples: int
) -> dict[str, list[tuple[int, float]]]:
    last = (FIRST + timedelta(days=DAYS - 1)).isoformat()
    params = {"from": FIRST.isoformat(), "to": last}
    queries = ReportQueries(clock=lambda: datetime(2026, 2, 2, tzinfo=UTC))
    summary = r.SummaryQuery.model_validate({**params, "bucket": "day"})
    agents = r.AgentsQuery.model_validate(params)
    calls = r.CallsQuery.model_validate({**params, "limit": 50})
    return {
        "summary": measured(lambda: queries.summary(caller, summary), prefixes, samples),
        "agents": measured(lambda: queries.agents(caller, agents), prefixes, samples),
        "calls": measured(lambda: CallList().page(caller, calls), prefixes, samples),
    }


SHAPE = (tables.Unit, tables.Queue, tables.Group, tables.Agent, tables.AgentLog)


def shape() -> dict[str, int]:
    """The items of the bound set's configuration and agents' days: two sets compared must hold the
    same (and differ only in their calls)."""
    client: Any = tables.connection().client
    found: dict[str, int] = {}
    for model in SHAPE:
        count, start = 0, None
        while True:
            page = client.scan(
                TableName=model.Meta.table_name,
                Select="COUNT",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            count, start = count + int(page["Count"]), page.get("LastEvaluatedKey")
            if not start:
                break
        found[model.TABLE] = count
    return found


def measure_child(url: str, prefixes: list[str], samples: int) -> None:
    """``--measure``: the reports read from the moto at ``url``, each table set in turn, then the CSV of
    the last set; one JSON line of results."""
    ensure_fake_credentials()
    tables.bind(url, env.region(), prefixes[0])
    shapes = []
    for prefix in prefixes:
        use_prefix(prefix)
        shapes.append(shape())
    if any(found != shapes[0] for found in shapes):
        raise SystemExit(f"the table sets differ in more than their calls: {shapes}")
    _install_read_counter()
    units = tuple(UnitView(u, f"Đơn vị {u}", SERVING, u == SERVING) for u in SERVED)
    caller = ReportCaller("gs.bench", SERVING, units)
    result: dict[str, Any] = dict(measure_all(caller, prefixes, samples))
    result["shape"] = {**shapes[0], "days": DAYS}
    use_prefix(prefixes[-1])
    last = (FIRST + timedelta(days=DAYS - 1)).isoformat()
    result["csv"] = csv_memory(caller, {"from": FIRST.isoformat(), "to": last})
    print(json.dumps(result))


def seed(prefix: str, count: int, seed_base: int, chunk: int = 10_000) -> None:
    """A set of tables holding ``count`` calls (and the configuration, the agents' days, the
    aggregates)."""
    started = time.perf_counter()
    use_prefix(prefix)
    tables.create_all()
    setup_config()
    zone = zone_of(SERVING)
    agent_logs, stints = agent_stints(zone)
    _write(tables.AgentLog.Meta.table_name, agent_logs)
    counters = Counters()
    counters.fold(stints)
    for n, at in enumerate(range(0, count, chunk)):
        calls, logs = seed_calls(min(chunk, count - at), seed_base * 1000 + n, zone, counters)
        _write(tables.Call.Meta.table_name, calls)
        _write(tables.CallEvent.Meta.table_name, logs)
    write_aggregates(counters)
    print(f"seeded {count} calls ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=25)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--prefixes", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_child(args.measure, args.prefixes, args.samples)
        return
    ensure_fake_credentials()
    server = MotoServer(port=0, in_process=True)
    server.start()
    run = uuid.uuid4().hex[:6]
    prefixes = [f"bench{run}s-", f"bench{run}l-"]
    try:
        tables.bind(server.url, env.region(), prefixes[0])
        seed(prefixes[0], args.small, 1)
        seed(prefixes[1], args.large, 2)
        command = [sys.executable, "-m", "bench.reports", "--measure", server.url, "--prefixes", *prefixes]
        done = subprocess.run(
            [*command, "--samples", str(args.samples)], check=True, capture_output=True, text=True
        )
        results = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    rows, size_bytes, growth = results["csv"]
    print(f"{'report':<10}{'items 1k':>10}{'p50 ms 1k':>12}{'items 100k':>12}{'p50 ms 100k':>13}{'ratio':>8}")
    line: dict[str, Any] = {"calls_small": args.small, "calls_large": args.large}
    ratios = {}
    for name in ("summary", "agents", "calls"):
        (items_s, p50_s), (items_l, p50_l) = results[name]
        ratios[name] = round(p50_l / p50_s, 2)
        print(f"{name:<10}{items_s:>10}{p50_s:>12}{items_l:>12}{p50_l:>13}{ratios[name]:>8.2f}")
        line[f"{name}_items_1k"], line[f"{name}_p50_ms_1k"] = items_s, p50_s
        line[f"{name}_items_100k"], line[f"{name}_p50_ms_100k"] = items_l, p50_l
    print(f"CSV of {rows} rows, {size_bytes / 2**20:.1f} MB: resident memory +{growth} MB")
    line["ratio_100k_1k"] = ratios
    line["shape"] = results["shape"]  # the same in both sets, checked
    line.update({"csv_rows": rows, "csv_mb": round(size_bytes / 2**20, 1), "csv_rss_growth_mb": growth})
    print(json.dumps(line))


if __name__ == "__main__":
    main()
