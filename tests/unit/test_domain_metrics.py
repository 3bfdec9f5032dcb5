"""The reports' counting rules (``vkyc.domain.metrics``, ``buckets``, ``figures``) without AWS: each
milestone is reached by exactly one write and counts once; the log finds the same milestones as the
writes; time splits exactly over buckets and local days; the figures follow their definitions."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vkyc.domain.buckets import day_key, ms, pieces, quarter_key, quarter_of
from vkyc.domain.figures import Sums, figures
from vkyc.domain.metrics import (
    CELLS_PER_CONTRIBUTION,
    DIMENSION_SETS,
    CallFacts,
    Family,
    Kind,
    LogFacts,
    call_contribution,
    call_milestones,
    filter_suffix,
    merge,
    milestones_from_log,
    stint_contributions,
)

HANOI = timezone(timedelta(hours=7))
T0 = datetime(2025, 3, 10, 16, 50, tzinfo=UTC)  # 23:50 in Hanoi


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def history() -> list[CallFacts]:
    """An inbound call: created ringing, rang out, offered again, answered, ended, decided, evidence."""
    base = CallFacts("c1", 2, "in", "W", "1", T0, serving_unit_id="1", queue_id="q", sub_type="ZP",
                     customer_type="KHCN", agent_id="a1")  # fmt: skip
    steps = [
        base,
        replace(base, version=3, state="M", agent_id=None),
        replace(base, version=4, state="W", agent_id="a2"),
        replace(base, version=5, state="A", agent_id="a2", answered_at=at(40)),
        replace(base, version=6, state="CONNECTED", agent_id="a2", answered_at=at(40)),
        replace(
            base,
            version=7,
            state="FINISHED",
            agent_id="a2",
            answered_at=at(40),
            ended_at=at(400),
            end_reason="completed",
        ),
    ]
    decided = replace(steps[-1], version=8, decision="A", face=True)
    return [*steps, decided, replace(decided, recording=True), replace(decided, recording=True, bundle=True)]


def log_of(facts: list[CallFacts]) -> list[LogFacts]:
    entries = [LogFacts(1, None, "N", "create", "m", T0), LogFacts(2, "N", "W", "offer", "m", T0)]
    for before, after in itertools.pairwise(facts):
        if after.version != before.version:
            actor = before.agent_id or "system"
            entries.append(LogFacts(after.version, before.state, after.state, "x", actor, T0))
    return entries


def test_each_milestone_is_reached_by_exactly_one_write_whatever_the_repeats():
    facts = history()
    writes = [(None, facts[0]), *itertools.pairwise(facts)]
    reached = [m.mark("c1") for old, new in writes for m in call_milestones(old, new)]
    assert len(reached) == len(set(reached))
    kinds = {m.kind for old, new in writes for m in call_milestones(old, new)}
    assert kinds == set(Kind)
    # A write delivered twice reaches the same milestones, with the same marks.
    assert call_milestones(facts[2], facts[3]) == call_milestones(facts[2], facts[3])
    assert call_milestones(facts[-1], facts[-1]) == []


def test_the_log_finds_the_milestones_the_writes_reached():
    facts = history()
    writes = [(None, facts[0]), *itertools.pairwise(facts)]
    from_writes = sorted(m.mark("c1") for old, new in writes for m in call_milestones(old, new))
    from_log = sorted(m.mark("c1") for m in milestones_from_log(facts[-1], log_of(facts)))
    assert from_writes == from_log


def zone_of(unit: str) -> timezone:
    return HANOI


def total(contributions, cell_family: Family = Family.QUEUE_DAY) -> dict[str, int]:
    sums: dict = {}
    maxima: dict = {}
    merge(sums, contributions, maxima)
    out: dict[str, int] = {}
    for cell, row in {**sums}.items():
        if cell.family is cell_family and cell.dims == "":
            for name, value in row.items():
                out[name] = out.get(name, 0) + value
    for cell, row in maxima.items():
        if cell.family is cell_family and cell.dims == "":
            out.update(row)
    return out


def contributions_of(facts: list[CallFacts]):
    writes = [(None, facts[0]), *itertools.pairwise(facts)]
    return [
        call_contribution(m, new, zone_of=zone_of, sla_s_of=lambda unit: 20)
        for old, new in writes
        for m in call_milestones(old, new)
    ]


def test_an_answered_call_counts_its_wait_talk_offers_decision_and_evidence():
    counted = total(contributions_of(history()))
    assert counted == {
        "queued": 1,
        "answered": 1,
        "wait_ms": 40_000,
        "max_wait_ms": 40_000,
        "missed": 1,
        "talked": 1,
        "talk_ms": 360_000,
        "end:FINISHED:completed": 1,
        "decided": 1,
        "dec_A": 1,
        "ev_face": 1,
        "ev_recording": 1,
        "ev_bundle": 1,
        "ev_complete": 1,
    }  # 40 s: not within the 20 s of the SLA
    agents = total(contributions_of(history()), Family.AGENT_DAY)
    assert agents["missed"] == 1 and agents["answered"] == 1  # a1 missed it, a2 answered (two cells)


def test_every_counter_lands_in_the_bucket_and_local_day_of_the_calls_creation():
    contributions = contributions_of(history())
    cells = {cell for c in contributions for cell in c.cells}
    assert {c.bucket for c in cells if c.family is Family.QUEUE_15} == {"2025-03-10T16:45Z"}
    assert {c.bucket for c in cells if c.family is Family.QUEUE_DAY} == {"2025-03-10"}
    assert {c.owner for c in cells if c.family is Family.QUEUE_DAY} == {"1|q"}


@pytest.mark.parametrize(("from_state", "kind"), [("W", "abandoned_ringing"), ("N", "abandoned_queue")])
def test_a_hang_up_before_the_answer_is_abandoned_in_the_queue_or_while_ringing(from_state, kind):
    old = CallFacts("c2", 3, "in", from_state, "1", T0)
    new = replace(old, version=4, state="E", ended_at=at(12), end_reason="caller_hung_up")
    counted = total(contributions_of([old, new])[1:])
    assert counted[kind] == 1 and counted["abandon_ms"] == 12_000 and counted["unanswered"] == 1


def test_a_stint_splits_exactly_over_quarters_and_local_days():
    start, end = at(0), at(3 * 3600 + 7.5)  # 23:50 → 02:50 in Hanoi, across midnight
    parts = list(pieces(start, end, HANOI))
    assert sum(p[2] for p in parts) == ms(end) - ms(start)
    assert {p[1] for p in parts} == {"2025-03-10", "2025-03-11"}
    assert parts[0][:2] == (quarter_key(quarter_of(start)), "2025-03-10") and parts[0][2] == 10 * 60_000
    made = stint_contributions("a1", "1", "AVAILABLE", start, end, 9, HANOI)
    assert [c.mark for c in made] == ["a:a1:v9:0"]
    days = total(made, Family.STAFF_DAY)
    assert days == {"t:AVAILABLE": ms(end) - ms(start)}


def test_a_long_stint_is_cut_into_marked_transactions_and_offline_is_not_stored():
    made = stint_contributions("a1", "1", "UNAVAILABLE", at(0), at(3 * 86400), 4, HANOI)
    assert len(made) > 1 and all(len(c.adds) <= CELLS_PER_CONTRIBUTION for c in made)
    assert [c.mark for c in made] == [f"a:a1:v4:{n}" for n in range(len(made))]
    assert stint_contributions("a1", "1", "OFFLINE", at(0), at(60), 5, HANOI) == []
    wrap = stint_contributions("a1", "1", "WRAP_UP", at(0), at(30), 6, HANOI)
    assert total(wrap, Family.AGENT_DAY) == {"t:WRAP_UP": 30_000, "wrapups": 1}


def test_each_slice_is_a_cell_of_its_own_holding_the_counters_of_its_calls_only():
    contributions = contributions_of(history())
    sums: dict = {}
    maxima: dict = {}
    merge(sums, contributions, maxima)
    days = {cell: row for cell, row in sums.items() if cell.family is Family.QUEUE_DAY}
    assert {cell.dims for cell in days} == {
        "", "|dir=in", "|st=ZP", "|ct=KHCN", "|ch=-", "|dir=in|st=ZP", "|dir=in|ct=KHCN", "|dir=in|ch=-",
    }  # fmt: skip
    whole = next(row for cell, row in days.items() if cell.dims == "")
    # One call: each of its slices counts exactly what all calls count, under the same names.
    assert all(row == whole for row in days.values())
    longest = [row for cell, row in maxima.items() if cell.family is Family.QUEUE_DAY]
    assert len(longest) == len(days) and all(row == {"max_wait_ms": 40_000} for row in longest)
    agent_slices = {cell.dims for cell in sums if cell.family is Family.AGENT_DAY}
    assert agent_slices == {"", "|dir=in"}


def test_filters_pick_one_kept_combination_of_dimensions():
    assert filter_suffix({}, DIMENSION_SETS) == ""
    assert filter_suffix({"st": "ZP", "dir": "in"}, DIMENSION_SETS) == "|dir=in|st=ZP"
    assert filter_suffix({"st": "ZP", "ct": "KHCN"}, DIMENSION_SETS) is None


def test_the_figures_follow_their_definitions():
    sums = Sums(
        counts={
            "queued": 10,
            "answered": 8,
            "in_sla": 6,
            "wait_ms": 80_000,
            "unanswered": 2,
            "abandoned_queue": 1,
            "abandoned_ringing": 1,
            "abandon_ms": 30_000,
            "missed": 2,
            "rejected": 0,
            "talked": 8,
            "talk_ms": 800_000,
            "decided": 4,
            "dec_A": 3,
            "dec_R": 1,
            "ev_complete": 2,
        },
        max_wait_ms=61_000,
        state_ms={"AVAILABLE": 600_000, "IN_CALL": 300_000, "WRAP_UP": 100_000},
        wrapups=5,
    )
    f = figures(sums, span_ms=2_000_000, agents=1)
    assert f["service_level_percent"] == 60.0  # 6 within the SLA of the 10 that left the queue
    assert f["abandon_rate_percent"] == 20.0 and f["avg_abandon_time_s"] == 15.0
    assert f["avg_speed_of_answer_s"] == 10.0 and f["longest_wait_s"] == 61.0
    assert f["answer_rate_percent"] == 80.0  # 8 answered of 10 offers that rang out or were answered
    assert (f["avg_talk_s"], f["avg_wrap_up_s"], f["avg_handle_s"]) == (100.0, 20.0, 120.0)
    assert f["occupancy_percent"] == 40.0  # (300 + 100) / (600 + 300 + 100)
    assert f["agent_time_s"]["OFFLINE"] == 1000.0
    assert f["decision_rates_percent"] == {"A": 75.0, "R": 25.0, "C": 0.0, "D": 0.0}
    assert f["evidence"]["complete_percent"] == 50.0
    assert figures(Sums())["service_level_percent"] is None


def test_local_days_follow_the_units_zone():
    assert day_key(at(0), HANOI) == "2025-03-10" and day_key(at(600), HANOI) == "2025-03-11"
