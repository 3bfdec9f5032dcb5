"""A caller on a bad mobile link: 300 kbit/s each way with 10 % random loss. Video must keep moving
both ways at 320x240 or more, after the call had a few seconds to adapt. How fast it moves (at least
5 fps) is a figure of ``bench/media_call.py``, which runs this link too: the test waits for frames.

The impairment wraps the caller's datagram transport (``impairment.impair``): the kernel here has no
``netem``, so the loss is injected in user space, and the rate with it (a token bucket)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.impairment import ShaperStats, call_on_a_slow_link
from bench.media_peers import agent_peer, mobile_peer, within
from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.storage import S3Store

CALL = "IT-SLOW-1"
ADAPT_S = 8.0
MOVING_FRAMES = 30  # 2 s at 15 fps, more than a frozen picture's odd key frame


@dataclass
class Observed:
    caller_moving: bool  # the agent's video kept arriving at the caller, over the slow downlink
    agent_moving: bool  # the caller's video kept arriving at the agent, sent over the slow uplink
    link_seconds: float
    caller_sizes: set[tuple[int, int]]
    agent_sizes: set[tuple[int, int]]
    uplink: ShaperStats
    downlink: ShaperStats


async def scenario(store: S3Store) -> Observed:
    engine = MediaEngine(store, NodeConfig(node_id="it-slow"))
    await engine.start()
    mobile, agent = mobile_peer(), agent_peer()
    try:
        link_started = time.monotonic()
        link = await call_on_a_slow_link(engine, CALL, mobile, agent)
        await asyncio.sleep(ADAPT_S)  # the scenario: the senders adapt to the link for this long
        caller, callee = mobile.received["video"], agent.received["video"]
        caller.sizes_seen.clear()
        callee.sizes_seen.clear()
        first_caller, first_callee = caller.frames, callee.frames
        # Generous: video that stalls a minute is broken, not slow.
        await within(lambda: caller.frames - first_caller >= MOVING_FRAMES, timeout=60)
        await within(lambda: callee.frames - first_callee >= MOVING_FRAMES, timeout=60)
        seen = Observed(
            caller.frames - first_caller >= MOVING_FRAMES,
            callee.frames - first_callee >= MOVING_FRAMES,
            time.monotonic() - link_started,
            set(caller.sizes_seen),
            set(callee.sizes_seen),
            link.uplink.stats,
            link.downlink.stats,
        )
        link.close()
        await engine.close_call(CALL, "hangup")
        return seen
    finally:
        await mobile.close()
        await agent.close()
        await engine.shutdown()


def test_video_keeps_moving_both_ways_on_a_slow_lossy_link(media_store: S3Store) -> None:
    seen = asyncio.run(scenario(media_store))
    # The link really was that bad: about a tenth lost at random, and the rate held to 300 kbit/s.
    for shaper in (seen.uplink, seen.downlink):
        assert 0.07 < shaper.lost / shaper.offered < 0.13
    assert seen.uplink.delivered_bytes * 8 / seen.link_seconds < 330_000
    assert seen.caller_moving and seen.agent_moving, seen
    assert seen.caller_sizes and min(w * h for w, h in seen.caller_sizes) >= 320 * 240, seen
    assert seen.agent_sizes and min(w * h for w, h in seen.agent_sizes) >= 320 * 240, seen
