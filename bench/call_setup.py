"""Call set-up through the whole local stack: how long from [Call] to the agent's ringing popup, and how
many AWS requests a call costs.

Runs the stack in this process (moto, the WebSocket emulator, the event runners, REST; demo data plus
a unit of its own with ``--agents`` agents), then, for ``--rounds`` rounds, ``--callers`` simulated
callers request a call at the same moment; agents accept at once, hang up and decide. Measured:
- ring: the caller's ``call.request`` sent → the agent's ``call.offer`` frame received;
- floor: the no-op round trip through the emulator (``bench/ws_roundtrip.py``'s noop), same run;
- moto_request: one DynamoDB GetItem against the same moto server, same run;
- AWS requests (DynamoDB, SQS, @connections), counted per WebSocket message handler invocation with a
  hook on ``botocore.client.BaseClient._make_api_call`` (PynamoDB goes through it too): "to ring" is
  the requests of the ``call.request`` handler up to and including the ``call.offer`` post; "per call"
  the requests of the four handlers of a call (request, accept, hangup, decide). Timer firings that
  come later (the queue timer finding the call finished) are not counted.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.client

from bench.drivers import (
    Behaviour,
    CallerResult,
    create_unit,
    invalidate_routing,
    run_round,
    start_agents,
)
from bench.ws_roundtrip import measure, percentile, start_emulator
from local.stack import Addresses, Stack
from vkyc import env

ROOT = Path(__file__).resolve().parent.parent
BENCH_UNIT = "42"

_local = threading.local()
# One entry per traced handler invocation: (action of the message, [(service, operation, detail)]).
TRACES: list[tuple[str, list[tuple[str, str, str]]]] = []
_traces_lock = threading.Lock()


def _install_counter() -> None:
    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 (private, untyped)

    def counted(self: botocore.client.BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        trace: list[tuple[str, str, str]] | None = getattr(_local, "trace", None)
        if trace is not None:
            detail = ""
            if operation_name == "PostToConnection":
                data = api_params.get("Data", b"")
                text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
                detail = str(json.loads(text).get("action", "")) if text.startswith("{") else ""
            started = time.perf_counter()
            try:
                return original(self, operation_name, api_params)
            finally:
                took = f"{(time.perf_counter() - started) * 1000:.1f}ms"
                service = self.meta.service_model.service_name
                trace.append((service, operation_name, f"{detail} {took}".strip()))
        return original(self, operation_name, api_params)

    setattr(botocore.client.BaseClient, "_make_api_call", counted)  # noqa: B010 (private, untyped)


def _trace_handlers(stack_apps: list[Any]) -> None:
    """Wrap the WebSocket message handler of the signaling app: each invocation is traced."""
    for app in stack_apps:
        config = app.websocket_handlers.get("$default")
        if config is None:
            continue
        handler: Callable[..., Any] = app.handler_map[config.name]

        def traced(event: dict[str, Any], context: Any, _handler: Callable[..., Any] = handler) -> Any:
            body = event.get("body") or ""
            try:
                action = str(json.loads(body).get("action", ""))
            except ValueError:
                action = ""
            _local.trace = []
            try:
                return _handler(event, context)
            finally:
                with _traces_lock:
                    TRACES.append((action, _local.trace))
                _local.trace = None

        app.handler_map[config.name] = traced


def start_stack(environment: dict[str, str] | None = None) -> Stack:
    """The whole local stack in this process (moto in its own), demo data loaded, tables under a prefix
    of their own; ``environment`` is set first (e.g. the integration tests' settings)."""
    os.environ.update(
        {
            "VKYC_TABLE_PREFIX": f"b{uuid.uuid4().hex[:6]}-",
            "VKYC_TOKEN_SECRET": "bench-secret-" + "x" * 40,
            "VKYC_MEDIA_NODE_MASTER_KEY": "bench-node-key-master-" + "x" * 16,
            **(environment or {}),
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    stack = Stack(Addresses("127.0.0.1", 0, 0, 0), out=lambda line: None)
    stack.start(ROOT / "local" / "demo" / "demo.toml")
    return stack


def _floor(messages: int) -> list[float]:
    proc, url = start_emulator()
    try:
        samples, _ = asyncio.run(measure(url, "noop", 1, messages))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return samples


def _moto_get_item(endpoint: str, count: int) -> list[float]:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=env.region())
    table = os.environ["VKYC_TABLE_PREFIX"] + "agents"
    key = {"agent_id": {"S": "tdv1.kv1"}}
    for _ in range(5):
        client.get_item(TableName=table, Key=key)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.get_item(TableName=table, Key=key, ConsistentRead=True)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _double_assignments(agent_ids: list[str]) -> int:
    from vkyc.repositories.agents import AgentRepository

    agents = AgentRepository()
    return sum(
        1 for a in agent_ids for e in agents.history(a) if e.event == "offer" and e.from_state != "AVAILABLE"
    )


def run(callers: int, agent_count: int, rounds: int, floor_messages: int) -> dict[str, Any]:
    stack = start_stack()
    try:
        _install_counter()
        from local.chalice_app import load_app

        _trace_handlers([load_app(ROOT / "functions" / "signaling")])
        unit = create_unit(BENCH_UNIT, agent_count)
        invalidate_routing()
        behaviour = Behaviour(
            accept=1.0, reject=0.0, talk_s=(0.0, 0.0), hangup_first=1.0, waits_for_timeout=1.0
        )
        bots = start_agents(stack.http_url, stack.ws_url, unit, behaviour, random.Random(0))
        results: list[CallerResult] = []
        with ThreadPoolExecutor(max_workers=callers) as pool:
            for _ in range(rounds):
                results += run_round(
                    stack.http_url, stack.ws_url, unit, behaviour, random.Random(), pool, callers, 60.0
                )
                time.sleep(0.3)  # the last decisions
        for bot in bots:
            bot.stop()
        offered_at = {
            msg["call_id"]: at for bot in bots for at, action, msg in bot.events if action == "call.offer"
        }
        ring = [(offered_at[r.call_id] - r.sent_at) * 1000 for r in results if r.call_id in offered_at]
        completed = sum(1 for r in results if r.outcome == "connected")
        moto = _moto_get_item(stack.aws_endpoint, 200)
        floor = _floor(floor_messages)
        doubles = _double_assignments([b.agent_id for b in bots])
    finally:
        stack.stop()

    to_ring: list[float] = []
    per_action: dict[str, list[float]] = {}
    for action, trace in TRACES:
        per_action.setdefault(action, []).append(len(trace))
        if action == "call.request":
            index = next((i for i, t in enumerate(trace) if t[2].startswith("call.offer")), None)
            if index is not None:
                to_ring.append(index + 1)
    per_call = sum(
        statistics.median(per_action.get(a, [0]))
        for a in ("call.request", "offer.accept", "call.hangup", "call.decide")
    )
    floor_p50, moto_p50 = percentile(floor, 50), percentile(moto, 50)
    ring_p50 = percentile(ring, 50) if ring else float("nan")
    print(f"{'measure':<34}{'n':>6}{'p50':>9}{'p99':>9}{'max':>9}")
    for name, samples in (("ring ms", ring), ("floor (noop rtt) ms", floor), ("moto GetItem ms", moto)):
        if samples:
            print(
                f"{name:<34}{len(samples):>6}{percentile(samples, 50):>9.2f}"
                f"{percentile(samples, 99):>9.2f}{max(samples):>9.2f}"
            )
    for action in sorted(per_action):
        counts = per_action[action]
        print(
            f"{'AWS requests: ' + action:<34}{len(counts):>6}{statistics.median(counts):>9.1f}"
            f"{percentile(counts, 99):>9.1f}{max(counts):>9.1f}"
        )
    if to_ring:
        print(
            f"{'AWS requests to ring':<34}{len(to_ring):>6}{statistics.median(to_ring):>9.1f}"
            f"{percentile(to_ring, 99):>9.1f}{max(to_ring):>9.1f}"
        )
    targets = {
        "to_ring<=5": bool(to_ring) and statistics.median(to_ring) <= 5,
        "per_call<=15": per_call <= 15,  # issue #14: replies ride the route response
        "ring_p50<=2x(floor+3moto)": ring_p50 <= 2 * (floor_p50 + 3 * moto_p50),
        "double_assignments==0": doubles == 0,
    }
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    print(
        f"calls {len(results)} ({outcomes}); targets: "
        + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items())
    )
    return {
        "calls": len(results),
        "completed_calls": completed,
        "ring_p50_ms": round(ring_p50, 2),
        "ring_p99_ms": round(percentile(ring, 99), 2) if ring else None,
        "floor_p50_ms": round(floor_p50, 2),
        "moto_request_p50_ms": round(moto_p50, 2),
        "aws_requests_to_ring": statistics.median(to_ring) if to_ring else None,
        "aws_requests_per_call": per_call,
        "double_assignments": doubles,
        "targets_met": targets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--callers", type=int, default=10, help="callers per round, all at once")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--floor-messages", type=int, default=300, help="noop round trips for the floor")
    parser.add_argument("--show-requests", action="store_true", help="list one call's AWS requests")
    args = parser.parse_args()
    figures = run(args.callers, args.agents, args.rounds, args.floor_messages)
    if args.show_requests:
        _show_requests()
    print(json.dumps(figures))


def _show_requests() -> None:
    """The AWS requests of the last traced invocation of each action, in order."""
    last: dict[str, list[tuple[str, str, str]]] = {}
    for action, trace in TRACES:
        last[action] = trace
    for action, trace in sorted(last.items()):
        print(f"{action}: " + ", ".join(f"{s}.{op}{'(' + d + ')' if d else ''}" for s, op, d in trace))


if __name__ == "__main__":
    main()
