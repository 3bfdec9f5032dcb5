"""How one call's media feels to its parties, on one media node (issue #5's figures; issue #11 moved
them here from the media tests, which now wait for frames instead of timing them).

Set-up: a moto server (S3) in this process and a ``MediaEngine`` in this process (as the media tests
run it); a caller sending a real face (``FaceVideo``, 640x480 at 15 fps) and an agent sending a
synthetic camera, both aiortc peers that decode what they receive and tell the frames apart
(``bench.media_peers.classify``: the node's waiting media, the agent's camera, the caller's face).
The rounds run one after another, so each figure is one call on an otherwise idle node.

* **clean** (``--rounds`` calls): the caller links and rings (2 s of waiting media), the call is
  answered, the agent links, 2.5 s in call, a snapshot, 0.5 s more, hang-up.

  - ``switch_ms``: the agent's link up → the first frame of the agent's camera at the caller
    (target < 1,500);
  - ``caller_fps`` / ``agent_fps``: video received by each party over the last 2 s before the
    snapshot (target >= 12 of the 15 sent);
  - ``snapshot_ms``: the engine's snapshot, decode to stored JPEG (target < 1,500);
  - ``recording_fps``: the caller's video frames in the recording / the seconds from its link to
    the hang-up (target >= 9.6, 80 % of 12).
* **impaired** (``--impaired-rounds`` calls): the caller's link at 300 kbit/s each way with 10 %
  random loss (``bench.impairment``); after 8 s to adapt, ``caller_fps`` / ``agent_fps`` over 10 s
  (target >= 5 each way).

Prints progress on stderr, then ONE JSON line: per scenario and figure, the median and the worst
round, and ``targets_met`` (each figure's worst round against its target).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import av

from bench.impairment import call_on_a_slow_link
from bench.media_peers import FrameLog, agent_peer, connect, mobile_peer, store_on_moto, until
from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.storage import S3Store

IMPAIRED_ADAPT_S = 8.0
IMPAIRED_WINDOW_S = 10.0  # holds one resolution switch (a new key frame stalls the picture a while)
# figure → (better when "low" or "high", target)
TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    "clean": {
        "switch_ms": ("low", 1500.0),
        "caller_fps": ("high", 12.0),
        "agent_fps": ("high", 12.0),
        "snapshot_ms": ("low", 1500.0),
        "recording_fps": ("high", 12.0 * 0.8),
    },
    "impaired": {"caller_fps": ("high", 5.0), "agent_fps": ("high", 5.0)},
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def caller_video_frames(recording: bytes) -> int:
    with av.open(io.BytesIO(recording), mode="r") as container:
        stream = next(s for s in container.streams.video if s.metadata.get("title") == "mobile_video")
        return sum(1 for _ in container.decode(stream))


async def clean_call(store: S3Store, call_id: str) -> dict[str, float]:
    engine = MediaEngine(store, NodeConfig(node_id="bench-node", chunk_seconds=1.0))
    await engine.start()
    caller_log = FrameLog()
    mobile, agent = mobile_peer(log=caller_log), agent_peer()
    try:
        await engine.open_call(call_id)
        await connect(engine, call_id, "mobile", mobile)
        linked_at = time.monotonic()
        await until(lambda: len(caller_log.classes()) >= 20, timeout=60)  # ringing: the waiting media
        await engine.answered(call_id)
        await connect(engine, call_id, "agent", agent)
        agent_linked_at = time.monotonic()
        await asyncio.sleep(2.5)  # in call a while; the rates are taken over its last 2 s
        caller_fps, agent_fps = mobile.received["video"].fps(2.0), agent.received["video"].fps(2.0)
        started = time.perf_counter()
        await engine.snapshot(call_id)
        snapshot_ms = (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.5)
        hung_up_at = time.monotonic()
        recording = await engine.close_call(call_id, "hangup")
        switched = caller_log.first("agent", since=agent_linked_at)
        assert recording.key is not None
        frames = caller_video_frames(store.get(recording.key))
        return {
            "switch_ms": (switched - agent_linked_at) * 1000 if switched else float("inf"),
            "caller_fps": caller_fps,
            "agent_fps": agent_fps,
            "snapshot_ms": snapshot_ms,
            "recording_fps": frames / (hung_up_at - linked_at),
        }
    finally:
        await mobile.close()
        await agent.close()
        await engine.shutdown()


async def impaired_call(store: S3Store, call_id: str) -> dict[str, float]:
    engine = MediaEngine(store, NodeConfig(node_id="bench-slow"))
    await engine.start()
    mobile, agent = mobile_peer(), agent_peer()
    try:
        link = await call_on_a_slow_link(engine, call_id, mobile, agent)
        await asyncio.sleep(IMPAIRED_ADAPT_S + IMPAIRED_WINDOW_S)
        figures = {
            "caller_fps": mobile.received["video"].fps(IMPAIRED_WINDOW_S),
            "agent_fps": agent.received["video"].fps(IMPAIRED_WINDOW_S),
        }
        link.close()
        await engine.close_call(call_id, "hangup")
        return figures
    finally:
        await mobile.close()
        await agent.close()
        await engine.shutdown()


def summary(scenario: str, rounds: list[dict[str, float]]) -> dict[str, Any]:
    result: dict[str, Any] = {"rounds": len(rounds)}
    met: dict[str, bool] = {}
    for name, (better, target) in TARGETS[scenario].items():
        values = [r[name] for r in rounds]
        worst = max(values) if better == "low" else min(values)
        p50 = statistics.median(values)
        result[name] = {"p50": round(p50, 1), "worst": round(worst, 1), "target": round(target, 1)}
        met[name] = worst < target if better == "low" else worst >= target
    result["targets_met"] = met
    return result


async def run_rounds(
    label: str, rounds: int, play: Callable[[S3Store, str], Any], store: S3Store
) -> list[dict[str, float]]:
    results: list[dict[str, float]] = []
    for i in range(rounds):
        figures: dict[str, float] = await play(store, f"BENCH-{label}-{uuid.uuid4().hex[:8]}")
        log(f"  {label} {i + 1}/{rounds}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
        results.append(figures)
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with store_on_moto("bench-call") as store:
        if args.rounds:
            log(f"clean calls: {args.rounds}")
            result["clean"] = summary("clean", await run_rounds("clean", args.rounds, clean_call, store))
        if args.impaired_rounds:
            log(f"impaired calls (300 kbit/s, 10 % loss): {args.impaired_rounds}")
            rounds = await run_rounds("impaired", args.impaired_rounds, impaired_call, store)
            result["impaired"] = summary("impaired", rounds)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="clean calls, one after another (default 5)")
    parser.add_argument(
        "--impaired-rounds", type=int, default=3, help="calls on the slow lossy link (default 3)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse()))), flush=True)
