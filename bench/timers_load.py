"""Timer lateness under the load scenario: how late the ring, queue and dispatch timers fire while 50
callers at a time call 10 agents (``tests/integration/test_call_concurrency.py``, ``make load``).

Runs the stack in this process as the integration tests do (moto in its own process; routing caches
off, no housekeeping schedules), a unit of its own with the scenario's timers (ring 1 s, queue 8 s) and
``--agents`` agent bots answering at random (accept, reject, let it ring out), then ``--rounds`` rounds
of ``--callers`` callers requesting at the same moment, a share of whom wait for the queue timeout.
Every timer's due time (sent + ``DelaySeconds``) is compared with the moment the timer handler starts on
it (``bench/timer_lateness.py``). Prints a table, then one JSON line: lateness p50 / p99 / max (all, and
per kind), its parts (send, queue, return, wait), the handlers' time and AWS requests, failures,
retries, the callers' outcomes and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import signaling_client
from bench.call_setup import start_stack
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
from bench.ws_roundtrip import percentile

ROOT = Path(__file__).resolve().parent.parent
BENCH_UNIT = "43"
GIVE_UP_S = 25.0  # as the load test: a caller still waiting after this found a stuck call


def _wait_final(results: list[CallerResult], timeout: float) -> bool:
    from vkyc.repositories.calls import CallRepository

    calls = CallRepository()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(calls.get(r.call_id).state in FINAL_CALL_STATES for r in results if r.call_id):
            return True
        time.sleep(0.2)
    return False


def _show_requests(watch: TimerWatch) -> None:
    """Per timer kind, the AWS requests of its median and its largest firing, in order."""
    kinds = sorted({f.kind for f in watch.firings})
    for kind in kinds:
        firings = sorted((f for f in watch.firings if f.kind == kind), key=lambda f: len(f.requests))
        for label, firing in (("median", firings[len(firings) // 2]), ("largest", firings[-1])):
            steps = ", ".join(f"{name}({ms:.0f})" for name, ms in firing.requests)
            print(f"{kind} {label} ({len(firing.requests)} requests, {firing.took * 1000:.0f} ms): {steps}")


def run(
    callers: int, agent_count: int, rounds: int, seed: int, show_requests: bool = False
) -> dict[str, Any]:
    # As the load test: the one-process stack is slow under 50 callers, and a late reply is not an error.
    signaling_client.REPLY_TIMEOUT_S = 60.0
    load_before = os.getloadavg()
    stack = start_stack({"VKYC_CONFIG_CACHE_S": "0", "VKYC_LOCAL_SCHEDULES": "0"})
    try:
        from local.chalice_app import load_app
        from vkyc.repositories.settings import put_settings
        from vkyc.repositories.settings_cache import SETTINGS_CACHE

        watch = TimerWatch.of_app(load_app(ROOT / "functions" / "signaling")).install()
        unit = create_unit(BENCH_UNIT, agent_count)
        invalidate_routing()
        put_settings(LOAD_SETTINGS, unit_id=BENCH_UNIT, by="bench")
        SETTINGS_CACHE.clear()
        rng = random.Random(seed)
        behaviour = Behaviour()
        bots = start_agents(stack.http_url, stack.ws_url, unit, behaviour, rng)
        results: list[CallerResult] = []
        round_s: list[float] = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=callers) as pool:
            for n in range(rounds):
                round_started = time.monotonic()
                results += run_round(
                    stack.http_url, stack.ws_url, unit, behaviour, rng, pool, callers, GIVE_UP_S
                )
                round_s.append(time.monotonic() - round_started)
                print(f"round {n + 1}: {round_s[-1]:.1f} s", flush=True)
        settled = _wait_final(results, 30)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 30  # the timers still due (queue timers of the last round)
        while watch.overdue() and time.monotonic() < deadline:
            time.sleep(0.2)
        for bot in bots:
            bot.stop()
        offers = sum(bot.offers for bot in bots)
        bot_errors = sorted({repr(error)[:120] for bot in bots for error in bot.errors})
        watch.uninstall()
    finally:
        stack.stop()
    print(f"{'timers AWS requests ms':<40}{'n':>6}{'p50':>9}{'p99':>9}{'max':>9}")
    for name, samples in sorted(watch.requests_by_operation().items()):
        print(
            f"{name:<40}{len(samples):>6}{percentile(samples, 50):>9.1f}"
            f"{percentile(samples, 99):>9.1f}{max(samples):>9.1f}"
        )
    if show_requests:
        _show_requests(watch)
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome or "error"] = outcomes.get(r.outcome or "error", 0) + 1
    return {
        "callers": callers,
        "agents": agent_count,
        "rounds": rounds,
        "calls": len(results),
        "outcomes": outcomes,
        "callers_gave_up": outcomes.get("timeout", 0),
        "offers": offers,
        "settled": settled,
        "seconds": round(elapsed, 1),
        "round_s_max": round(max(round_s), 1) if round_s else None,
        **watch.figures(),
        "timers_never_fired": watch.overdue(),
        "caller_errors": sorted({repr(r.error)[:120] for r in results if r.error}),
        "bot_errors": bot_errors,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callers", type=int, default=50, help="callers per round, all at once")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20, help="the scenario's 20; fewer for a quick look")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--show-requests", action="store_true", help="list the timers' AWS requests")
    args = parser.parse_args()
    figures = run(args.callers, args.agents, args.rounds, args.seed, args.show_requests)
    print(f"{'timer lateness ms':<28}{'n':>6}{'p50':>9}{'p99':>9}{'max':>9}{'failed':>8}")
    print(
        f"{'all':<28}{figures['timers_fired']:>6}{figures['timer_late_p50_ms']!s:>9}"
        f"{figures['timer_late_p99_ms']!s:>9}{figures['timer_late_max_ms']!s:>9}{figures['timers_failed']:>8}"
    )
    for kind, row in figures["by_kind"].items():
        print(
            f"{kind:<28}{row['n']:>6}{row['late_p50_ms']!s:>9}{row['late_p99_ms']!s:>9}"
            f"{row['late_max_ms']!s:>9}{row['failed']:>8}"
        )
    for part in ("timer_send", "timer_queue", "timer_return", "timer_wait", "timer_handling"):
        print(
            f"{part.replace('_', ' '):<28}{'':>6}{figures[part + '_p50_ms']!s:>9}"
            f"{figures[part + '_p99_ms']!s:>9}{figures[part + '_max_ms']!s:>9}"
        )
    print(
        f"calls {figures['calls']} {figures['outcomes']}; gave up {figures['callers_gave_up']}; "
        f"load average {figures['loadavg_before']} -> {figures['loadavg_after']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
