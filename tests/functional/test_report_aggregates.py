"""The reports' aggregates are exact under the change streams' delivery: a random workload (calls
answered and decided, abandoned in the queue and while ringing, rung out, rejected, no agent,
call-backs of every outcome) is played through the real services; the streams' records are then fed
to the consumer in batches that are repeated, split differently and reordered, and every counter must
equal its recomputation from the tables and their logs, and what the workload did."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.functional.report_world import Workload, World
from tests.functional.stream_records import stream_records
from vkyc.domain.buckets import day_key
from vkyc.domain.figures import Sums
from vkyc.domain.metrics import Family, owner_of_queue
from vkyc.repositories import aggregates
from vkyc.repositories.tables import Agent, Call
from vkyc.services.aggregates import AggregateService, check, rebuild, recompute, zone_of

# 22:30 in Hanoi: the workload runs across midnight, so local days and 15-minute buckets both split.
START = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)


def shuffled_batches(records: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """The records cut into batches of 1 to 25, a third of the batches delivered twice, a few records
    twice within their batch, every batch and the batches' order shuffled."""
    batches: list[list[dict[str, Any]]] = []
    at = 0
    while at < len(records):
        size = rng.randint(1, 25)
        batches.append(list(records[at : at + size]))
        at += size
    batches += [list(b) for b in rng.sample(batches, len(batches) // 3)]
    for batch in batches:
        batch += rng.sample(batch, min(2, len(batch)))
        rng.shuffle(batch)
    rng.shuffle(batches)
    return batches


def feed(records: dict[str, list[dict[str, Any]]], rng: random.Random) -> None:
    service = AggregateService()
    consumers: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
        "calls": service.calls_changed,
        "agents": service.agents_changed,
    }
    deliveries = [(table, batch) for table, rows in records.items() for batch in shuffled_batches(rows, rng)]
    rng.shuffle(deliveries)  # the two streams interleave in any order too
    for table, batch in deliveries:
        consumers[table](batch)


@pytest.fixture(scope="module")
def played(tables: Any) -> tuple[World, Workload]:
    world = World(START)
    workload = Workload(world, seed=20250310)
    workload.run(70)
    records = {"calls": stream_records(Call), "agents": stream_records(Agent)}
    records["calls"] = [
        r for r in records["calls"] if r["dynamodb"]["Keys"]["call_id"]["S"] in set(workload.call_ids)
    ]
    feed(records, random.Random(7))
    return world, workload


def days(world: World) -> tuple[Any, Any]:
    zone = zone_of(world.unit_id)
    return (datetime.fromisoformat(day_key(START, zone)).date(), world.clock.now.astimezone(zone).date())


def test_every_counter_equals_its_recomputation_after_repeated_and_reordered_batches(played):
    world, _ = played
    first, last = days(world)
    assert first < last, "the workload must span local midnight"
    differences = check(recompute(first, last, world.unit_id))
    assert differences == [], "\n".join(map(str, differences[:20]))


def test_the_counters_say_what_the_workload_did(played):
    world, workload = played
    first, last = days(world)
    owner = owner_of_queue(world.unit_id, world.queue_id)
    sums = Sums()
    for row in aggregates.read(Family.QUEUE_DAY, owner, first.isoformat(), last.isoformat()).values():
        sums.add_item(row)
    for row in aggregates.read(
        Family.QUEUE_DAY, owner_of_queue(world.unit_id, None), first.isoformat(), last.isoformat()
    ).values():
        sums.add_item(row)  # the call-backs: they wait in no queue
    for name, count in sorted(workload.truth.items()):
        assert sums[name] == count, f"{name}: counted {sums[name]}, the workload did {count}"
    assert workload.truth["queued"] > 30 and workload.truth["cb_placed"] > 3
    # The 15-minute cells add up to the same totals.
    quarters = Sums()
    for queue in (world.queue_id, None):
        for row in aggregates.read(
            Family.QUEUE_15, owner_of_queue(world.unit_id, queue), "2025", "2026"
        ).values():
            quarters.add_item(row)
    assert quarters.counts == sums.counts and quarters.ends == sums.ends


def test_agent_time_covers_every_stint_up_to_the_last_change(played):
    world, _ = played
    first, last = days(world)
    for connection in world.agents:
        agent = world.agent(connection)
        rows = aggregates.read(Family.AGENT_DAY, agent.agent_id, first.isoformat(), last.isoformat())
        total = sum(v for row in rows.values() for k, v in row.items() if k.startswith("t:"))
        assert total == (agent.updated_at - START) // timedelta(milliseconds=1)


def test_a_missing_mark_would_count_a_record_twice_and_the_check_sees_it(played):
    world, workload = played
    first, last = days(world)
    # As if now were the workload's end: its milestones are recent enough for a late delivery.
    expected = recompute(first, last, world.unit_id, now=world.clock.now)
    call_id = workload.call_ids[0]
    # Forget that the creation of the first call was applied, and deliver its record again.
    aggregates._client().delete_item(
        TableName=aggregates._marks_table(), Key={"mark": {"S": f"c:{call_id}:created"}}
    )
    created = [
        r
        for r in stream_records(Call)
        if r["eventName"] == "INSERT" and call_id in str(r["dynamodb"]["Keys"])
    ]
    AggregateService().calls_changed(created)
    differences = check(expected)
    assert {d.attribute.split("|")[0] for d in differences} == {"queued"}
    # The rebuild puts it right, and marks it applied so that the record cannot count again.
    rebuild(expected)
    assert check(recompute(first, last, world.unit_id)) == []
    AggregateService().calls_changed(created)
    assert check(recompute(first, last, world.unit_id)) == []
