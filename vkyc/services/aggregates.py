"""The reports' aggregates: fed by the ``calls`` and ``agents`` change streams, recomputed from the
tables and their logs on demand.

- ``AggregateService.calls_changed(records)`` / ``agents_changed(records)``: stream records (DynamoDB
  JSON images, ``NewImage`` / ``OldImage``) → the milestones each record reached
  (``vkyc.domain.metrics``) → ``vkyc.repositories.aggregates.apply``, which counts each milestone once
  whatever the deliveries: at-least-once delivery, batches repeated, records reordered.
- ``recompute(first_day, last_day, units)``: what every cell of that range must hold, from the calls
  created in it (``calls.by_unit_created``, each call's log) and the agents' logs. ``check`` compares it
  with the stored cells; ``rebuild`` writes it over them (and marks recent milestones as applied, so a
  record still in the stream does not count again). Both are ``python -m vkyc.services.aggregates``.

A rebuild is meant for closed ranges: a record applied while a rebuild of its cell runs may be
overwritten (``check`` then shows it, and a second rebuild repairs it). Each owner's cells of every
call are visited, and its cells of each slice (``Cell.dims``: a SUB_TYPE, a channel…) that a call of
the range counts in: slices are open-ended (a dealer channel is any name), and a slice no call of the
range carries could only hold cells of calls since deleted (vkyc deletes none).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from vkyc.domain.buckets import day_start, quarter_key
from vkyc.domain.metrics import (
    CallFacts,
    Cell,
    Contribution,
    Family,
    LogFacts,
    call_contribution,
    call_milestones,
    merge,
    milestones_from_log,
    owner_of_queue,
    stint_contributions,
)
from vkyc.repositories import aggregates, directory
from vkyc.repositories.aggregates import MARK_TTL, Applied
from vkyc.repositories.call_media import calls as calls_by_id
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, AgentLog, Call, CallEvent
from vkyc.repositories.units import UnitView, list_units

log = logging.getLogger("vkyc.aggregates")

STREAM_IMAGES = ("OldImage", "NewImage")


def call_facts(call: Call) -> CallFacts:
    return CallFacts(
        call_id=call.call_id,
        version=int(call.version),
        direction=call.direction,
        state=call.state,
        unit_id=call.unit_id,
        created_at=call.created_at,
        serving_unit_id=call.serving_unit_id,
        queue_id=call.queue_id,
        sub_type=call.sub_type,
        customer_type=call.customer_type,
        dealer_channel=call.dealer_channel,
        agent_id=call.agent_id,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        end_reason=call.end_reason,
        decision=call.decision,
        recording=bool(call.recording_closed_at and call.recording_key),
        face=bool(call.face_snapshot_ids),
        bundle=call.evidence_built_at is not None,
    )


def _image(record: Mapping[str, Any], which: str) -> dict[str, Any] | None:
    image = record.get(which)
    if image is None and isinstance(record.get("dynamodb"), dict):
        image = record["dynamodb"].get(which)  # a raw Lambda record
    return image if isinstance(image, dict) and image else None


def zone_of(unit_id: str) -> tzinfo:
    return cached_settings(unit_id).zone()


def sla_s_of(unit_id: str) -> int:
    return cached_settings(unit_id).sla_answer_within_s


def call_record_contributions(record: Mapping[str, Any]) -> list[Contribution]:
    """What one stream record of ``calls`` adds (nothing for a removal)."""
    new_image = _image(record, "NewImage")
    if new_image is None:
        return []
    old_image = _image(record, "OldImage")
    new = call_facts(Call.from_raw_data(new_image))
    old = call_facts(Call.from_raw_data(old_image)) if old_image is not None else None
    return [call_contribution(m, new, zone_of=zone_of, sla_s_of=sla_s_of) for m in call_milestones(old, new)]


def agent_record_contributions(record: Mapping[str, Any]) -> list[Contribution]:
    """What one stream record of ``agents`` adds: the stint its new version ended (nothing for a write
    that moved no version, such as the agent's socket changing)."""
    new_image, old_image = _image(record, "NewImage"), _image(record, "OldImage")
    if new_image is None or old_image is None:
        return []
    new, old = Agent.from_raw_data(new_image), Agent.from_raw_data(old_image)
    if int(new.version) <= int(old.version):
        return []
    return stint_contributions(
        new.agent_id,
        new.unit_id,
        old.state,
        old.updated_at,
        new.updated_at,
        int(new.version),
        zone_of(new.unit_id),
    )


def _each(
    records: Iterable[Mapping[str, Any]], read: Callable[[Mapping[str, Any]], list[Contribution]]
) -> list[Contribution]:
    """What each record adds. A record that cannot be read (an image that is not a call or an agent) is
    logged and skipped: retrying its batch would not make it readable, and would hold the stream's shard
    (``check`` shows what it missed). AWS failures (settings unreadable) propagate: the batch comes again."""
    found: list[Contribution] = []
    for record in records:
        try:
            found += read(record)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.exception("a stream record could not be counted: %s", str(record)[:500])
    return found


class AggregateService:
    """The stream consumers' use case: thread-safe (no state of its own). Raises ``RepositoryError``
    when DynamoDB refuses: the batch is then delivered again, and counts once."""

    def calls_changed(self, records: Iterable[Mapping[str, Any]]) -> Applied:
        return aggregates.apply(_each(records, call_record_contributions))

    def agents_changed(self, records: Iterable[Mapping[str, Any]]) -> Applied:
        return aggregates.apply(_each(records, agent_record_contributions))


# -- recomputing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    family: Family
    owner: str
    first: str  # first bucket of the range, inclusive
    last: str
    dims: str = ""  # the slice (``Cell.dims``)


@dataclass
class Expected:
    """What the cells of a range must hold, and the milestones counted in it."""

    rows: dict[Owner, dict[str, dict[str, int]]] = field(default_factory=dict)
    marks: list[str] = field(default_factory=list)


def _bounds(first_day: date, last_day: date, zone: tzinfo) -> tuple[tuple[str, str], tuple[str, str]]:
    """The range's first and last 15-minute and day buckets in ``zone``."""
    start = day_start(first_day, zone)
    end = day_start(last_day + timedelta(days=1), zone)
    return (quarter_key(start), quarter_key(end - timedelta(minutes=15))), (
        first_day.isoformat(),
        last_day.isoformat(),
    )


def _owners(
    family_15: Family, family_day: Family, owner: str, zone: tzinfo, first: date, last: date
) -> list[Owner]:
    quarters, days = _bounds(first, last, zone)
    return [Owner(family_15, owner, *quarters), Owner(family_day, owner, *days)]


def scope_units(serving_unit_id: str | None, units: Sequence[UnitView]) -> list[UnitView]:
    """The units a rebuild covers: a serving unit and those it serves, or every unit."""
    return [u for u in units if serving_unit_id in (None, u.served_by)]


def recompute(
    first_day: date,
    last_day: date,
    serving_unit_id: str | None = None,
    *,
    units: Callable[[], list[UnitView]] = list_units,
    now: datetime | None = None,
) -> Expected:
    """The cells of ``[first_day, last_day]`` (local days of each owner's unit) for the units of
    ``serving_unit_id``'s reach (default: all), from the tables. Reads every call created in the range
    (and a day around it, for units in other zones), each call's log, and every agent's log."""
    when = now or datetime.now(UTC)
    scope = scope_units(serving_unit_id, units())
    calls = CallRepository()
    owners: list[Owner] = []
    contributions: list[Contribution] = []
    recent: list[tuple[datetime, Contribution]] = []
    # A unit's calls wait in its serving unit's queues (or in none: call-backs).
    queues_of: dict[str, set[str | None]] = {
        u.unit_id: {None, *(q.id for q in directory.queues().values() if q.unit_id == u.served_by)}
        for u in scope
    }
    since = day_start(first_day - timedelta(days=1), UTC)
    until = day_start(last_day + timedelta(days=2), UTC)
    for unit in scope:
        listed = calls.of_unit(unit.unit_id, since, until)
        for call in calls_by_id([c.call_id for c in listed]):
            facts = call_facts(call)
            queues_of[unit.unit_id].add(call.queue_id)
            entries = [
                LogFacts(e.version, e.from_state, e.to_state, e.event, e.actor, e.at)
                for e in CallEvent.query(call.call_id, consistent_read=True)
            ]
            for milestone in milestones_from_log(facts, entries):
                made = call_contribution(milestone, facts, zone_of=zone_of, sla_s_of=sla_s_of)
                contributions.append(made)
                recent.append((call.created_at, made))
    for unit in scope:
        zone = zone_of(unit.unit_id)
        for queue_id in queues_of[unit.unit_id]:
            owner = owner_of_queue(unit.unit_id, queue_id)
            owners += _owners(Family.QUEUE_15, Family.QUEUE_DAY, owner, zone, first_day, last_day)
        if not unit.has_agents:
            continue
        owners += _owners(Family.STAFF_15, Family.STAFF_DAY, unit.unit_id, zone, first_day, last_day)
        for agent_id in directory.agents_of(unit.unit_id):
            owners += _owners(Family.AGENT_15, Family.AGENT_DAY, agent_id, zone, first_day, last_day)
            stints = list(AgentLog.query(agent_id, consistent_read=True))
            for before, after in itertools.pairwise(stints):
                made_all = stint_contributions(
                    agent_id, unit.unit_id, before.to_state, before.at, after.at, after.version, zone
                )
                contributions += made_all
                recent += [(after.at, made) for made in made_all]
    sums: dict[Cell, dict[str, int]] = {}
    maxima: dict[Cell, dict[str, int]] = {}
    merge(sums, contributions, maxima)
    expected = Expected({o: {} for o in owners})
    by_key = {(o.family, o.owner): o for o in owners}
    for source in (sums, maxima):
        for cell, row in source.items():
            whole = by_key.get((cell.family, cell.owner))
            if whole is None:
                continue
            owner_range = dataclasses.replace(whole, dims=cell.dims)
            rows = expected.rows.setdefault(owner_range, {})
            if owner_range.first <= cell.bucket <= owner_range.last:
                rows.setdefault(cell.bucket, {}).update({k: v for k, v in row.items() if v})
    cutoff = when - MARK_TTL
    expected.marks = [c.mark for at, c in recent if at >= cutoff]
    return expected


@dataclass(frozen=True)
class Difference:
    family: str
    owner: str  # and its slice, if any: "1|q|st=ZP"
    bucket: str
    attribute: str
    stored: int | None
    expected: int | None

    def __str__(self) -> str:
        where = f"{self.family} {self.owner} {self.bucket} {self.attribute}"
        return f"{where}: stored {self.stored}, expected {self.expected}"


def check(expected: Expected) -> list[Difference]:
    """Every counter whose stored value differs from the recomputation (absent = 0)."""
    found: list[Difference] = []
    for owner, rows in expected.rows.items():
        stored = aggregates.read(owner.family, owner.owner, owner.first, owner.last, owner.dims)
        for bucket in sorted(set(stored) | set(rows)):
            have, want = stored.get(bucket, {}), rows.get(bucket, {})
            for name in sorted(set(have) | set(want)):
                if have.get(name, 0) != want.get(name, 0):
                    found.append(
                        Difference(
                            owner.family.value,
                            owner.owner + owner.dims,
                            bucket,
                            name,
                            have.get(name),
                            want.get(name),
                        )
                    )
    return found


def rebuild(expected: Expected) -> int:
    """Write the recomputation over the stored cells of its range; returns the items written."""
    written = 0
    for owner, rows in expected.rows.items():
        written += aggregates.replace(owner.family, owner.owner, owner.first, owner.last, rows, owner.dims)
    aggregates.put_marks(expected.marks)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vkyc.services.aggregates", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=("check", "rebuild"))
    parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--unit", help="a serving unit: it and the units it serves (default: all)")
    args = parser.parse_args(argv)
    if args.last < args.first:
        parser.error("--to is before --from")
    expected = recompute(args.first, args.last, args.unit)
    if args.command == "rebuild":
        print(f"rebuilt {len(expected.rows)} owner ranges: {rebuild(expected)} items written")
        return 0
    differences = check(expected)
    for difference in differences:
        print(difference)
    print(f"{len(differences)} difference(s) over {len(expected.rows)} owner ranges")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
