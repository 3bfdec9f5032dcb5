"""Issue #4, "Done when": 50 callers against 10 agents for 20 rounds, with random accepts, rejects and
ring timeouts, never give one agent two calls, and every call ends exactly once.

The agents and the dossiers live in a unit of this test's own (``LOAD_UNIT``, serving itself), with a
1 s ring timeout and an 8 s queue timeout. Each round, 50 callers place their call at the same moment
(a barrier); each waits until its call ends, cancelling when it waited too long (a share of them wait
for the queue timeout instead). The checks run on the stored items and logs at the end. The drivers
(agent bots, callers) are ``bench/drivers.py``'s; the timers' lateness is printed, not asserted
(``bench/timers_load.py`` measures it under this same load).
"""

from __future__ import annotations

import itertools
import os
import random
import time
import traceback
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench import signaling_client
from bench.drivers import (
    FINAL_CALL_STATES,
    LOAD_SETTINGS,
    Behaviour,
    CallerResult,
    create_unit,
    invalidate_routing,
    run_round,
    start_agents,
)
from bench.timer_lateness import TimerWatch
from tests.polling import wait_until
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.settings import clear_settings, put_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE

# A load scenario: `make load` runs it; `make test` leaves it out (see pyproject addopts).
pytestmark = [pytest.mark.usefixtures("stack_tables"), pytest.mark.load]

LOAD_UNIT = "41"
CALLERS, AGENTS = 50, 10
ROUNDS = int(os.environ.get("VKYC_LOAD_ROUNDS", "20"))  # the issue asks for 20; fewer only to debug
GIVE_UP_S = 25.0  # queue timeout 8 s: a caller still waiting after this found a stuck call
SETTINGS = LOAD_SETTINGS  # ring timeout 1 s, queue timeout 8 s


@pytest.fixture(autouse=True)
def patient_clients(monkeypatch):
    monkeypatch.setattr(signaling_client, "REPLY_TIMEOUT_S", 60.0)


@pytest.fixture()
def load_unit(stack):
    unit = create_unit(LOAD_UNIT, AGENTS)
    invalidate_routing()
    put_settings(SETTINGS, unit_id=LOAD_UNIT, by="test")
    SETTINGS_CACHE.clear()
    yield unit
    clear_settings(list(SETTINGS), unit_id=LOAD_UNIT)
    SETTINGS_CACHE.clear()


def _busy_intervals(calls: dict[str, object]) -> dict[str, list[tuple[datetime, datetime, str]]]:
    """Per agent, the time each of its offers held it: ringing until the offer ended, or (accepted)
    until the call ended."""
    offers = OfferRepository()
    held: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for call_id, call in calls.items():
        for listed in offers.of_call(call_id):
            offer = offers.get(listed.offer_id)
            if offer.state == "PENDING":
                raise AssertionError(f"offer {offer.offer_id} of final call {call_id} is still PENDING")
            end = call.ended_at if offer.state == "ACCEPTED" else offer.updated_at  # type: ignore[attr-defined]
            held[offer.agent_id].append((offer.created_at, end, offer.offer_id))
    return held


def _story(calls_repo: CallRepository, result: CallerResult) -> dict[str, Any]:
    """What a caller saw and what the call went through, in seconds since the request: why it failed."""
    call = calls_repo.get(result.call_id or "")
    created = call.created_at
    return {
        "state": call.state,
        "end_reason": call.end_reason,
        "caller_saw": [(round(at - result.sent_at, 2), what) for at, what, _ in result.events],
        "history": [
            (round((e.at - created).total_seconds(), 2), e.event, e.to_state, e.actor)
            for e in calls_repo.history(call.call_id)
        ],
    }


@pytest.fixture()
def timer_watch(stack):
    """How late the timers fire during the scenario, printed at the end (see ``bench/timer_lateness.py``)."""
    from local.chalice_app import load_app

    watch = TimerWatch.of_app(load_app(Path(__file__).resolve().parents[2] / "functions" / "signaling"))
    watch.install()
    yield watch
    watch.uninstall()
    figures = watch.figures()
    by_kind = figures.pop("by_kind")
    print(f"\ntimer lateness: {figures}")
    for kind, row in by_kind.items():
        print(f"  {kind}: {row}")


@pytest.mark.timeout(900)  # about 22 s per round on this machine
def test_50_callers_10_agents_20_rounds_never_double_assign(stack, load_unit, timer_watch):
    rng = random.Random(4)
    behaviour = Behaviour()
    started = time.monotonic()
    bots = start_agents(stack.http_url, stack.ws_url, load_unit, behaviour, rng)
    results: list[CallerResult] = []
    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        for n in range(ROUNDS):
            round_started = time.monotonic()
            results += run_round(
                stack.http_url, stack.ws_url, load_unit, behaviour, rng, pool, CALLERS, GIVE_UP_S
            )
            print(f"round {n + 1}: {time.monotonic() - round_started:.1f} s", flush=True)
    calls_repo = CallRepository()

    def all_final() -> bool:
        return all(calls_repo.get(r.call_id).state in FINAL_CALL_STATES for r in results if r.call_id)

    assert wait_until(all_final, timeout=30)

    def all_decided() -> bool:
        """Every bot has sent the decision of each call it connected (it decides after the hang-up),
        or failed (reported below)."""
        return all(
            b.errors
            or sum(
                1
                for _, kind, reply in b.events
                if kind == "accept_reply" and reply.get("action") == "call.connected"
            )
            == sum(1 for _, kind, _ in b.events if kind == "decide_reply")
            for b in bots
        )

    assert wait_until(all_decided, timeout=30)
    for bot in bots:
        bot.stop()
    elapsed = time.monotonic() - started

    errors = [r.error for r in results if r.error]
    assert errors == [], "".join(traceback.format_exception(errors[0])) + f"\n({len(errors)} callers failed)"
    assert [b.errors for b in bots if b.errors] == []
    outcomes = defaultdict(int)
    for r in results:
        outcomes[r.outcome] += 1
    print(
        f"\n{len(results)} calls in {elapsed:.1f} s: {dict(outcomes)}; offers {sum(b.offers for b in bots)}"
    )
    assert len(results) == CALLERS * ROUNDS
    stuck = {
        r.call_id: _story(calls_repo, r) for r in results if r.outcome in ("timeout", "refused") and r.call_id
    }
    for call_id, story in stuck.items():  # in full: an assertion message would be cut short
        print(f"stuck {call_id}: {story}")
    assert outcomes["timeout"] == 0 and outcomes["refused"] == 0, (dict(outcomes), len(stuck))
    assert outcomes["connected"] > 0 and outcomes["cancelled"] > 0 and outcomes["no_agent"] > 0

    # One call record per request, in a final state reached exactly once.
    calls = {}
    for r in results:
        of_dossier = calls_repo.of_dossier(r.dossier_id)
        assert [c.call_id for c in of_dossier] == [r.call_id], r.dossier_id
        call = calls_repo.get(r.call_id)
        assert call.state in FINAL_CALL_STATES
        # Entering a final state (a note on a finished call, e.g. the decision, stays in it: not counted).
        finals = [
            e.to_state
            for e in calls_repo.history(call.call_id)
            if e.to_state in FINAL_CALL_STATES and e.from_state != e.to_state
        ]
        assert finals == [call.state], (call.call_id, finals)
        if call.answered_at is not None:
            assert call.decision in ("A", "D"), f"answered call {call.call_id} left undecided"
        calls[call.call_id] = call

    # No agent ever held two calls: offers only from AVAILABLE, and no two offers' holds overlap.
    agents = AgentRepository()
    for bot in bots:
        offered_from = {e.from_state for e in agents.history(bot.agent_id) if e.event == "offer"}
        assert offered_from <= {"AVAILABLE"}, (bot.agent_id, offered_from)
    held = _busy_intervals(calls)
    assert sum(len(v) for v in held.values()) == sum(b.offers for b in bots)
    for agent_id, intervals in held.items():
        intervals.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(intervals):
            assert start >= end, f"{agent_id} held {first} and {second} at once"

    # Settled: nobody left ringing or in a call; an agent in wrap-up has decided (checked above).
    for bot in bots:
        assert agents.get(bot.agent_id).state not in ("RINGING", "IN_CALL"), bot.agent_id
