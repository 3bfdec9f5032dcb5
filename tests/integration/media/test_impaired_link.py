"""A caller on a bad mobile link: 300 kbit/s each way with 10 % random loss. Video must keep moving
both ways: at least 5 fps at 320x240 or more, after the call had a few seconds to adapt.

The impairment wraps the caller's datagram transport (``impairment.impair``): the kernel here has no
``netem``, so the loss is injected in user space, and the rate with it (a token bucket)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.storage import S3Store
from tests.integration.media.helpers import agent_peer, connect, mobile_peer
from tests.integration.media.impairment import ShaperStats, impair

CALL = "IT-SLOW-1"
ADAPT_S = 8.0
# Long enough to hold one resolution switch: the sender's new key frame (many packets, 10 % of them
# lost) can stall the picture for seconds, and a 5 s window that caught one measured 4.6 fps once in
# five clean runs. Over 10 s the requirement is what a caller sees: the video keeps moving.
WINDOW_S = 10.0


@dataclass
class Observed:
    caller_fps: float  # the agent's video arriving at the caller, over the slow downlink
    agent_fps: float  # the caller's video arriving at the agent, sent over the slow uplink
    caller_sizes: set[tuple[int, int]]
    agent_sizes: set[tuple[int, int]]
    uplink: ShaperStats
    downlink: ShaperStats


async def scenario(store: S3Store) -> Observed:
    engine = MediaEngine(store, NodeConfig(node_id="it-slow"))
    await engine.start()
    mobile, agent = mobile_peer(), agent_peer()
    try:
        await engine.open_call(CALL)
        await connect(engine, CALL, "mobile", mobile)
        link = impair(mobile.pc, rate_bps=300_000, loss=0.10)
        await engine.answered(CALL)
        await connect(engine, CALL, "agent", agent)
        await asyncio.sleep(ADAPT_S)  # the scenario: the senders adapt to the link for this long
        caller, callee = mobile.received["video"], agent.received["video"]
        caller.sizes_seen.clear()
        callee.sizes_seen.clear()
        await asyncio.sleep(WINDOW_S)  # the scenario: then the rates are measured over this window
        seen = Observed(
            caller.fps(WINDOW_S),
            callee.fps(WINDOW_S),
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
    seconds = ADAPT_S + WINDOW_S
    assert seen.uplink.delivered_bytes * 8 / seconds < 330_000
    assert seen.caller_fps >= 5 and seen.agent_fps >= 5, seen
    assert seen.caller_sizes and min(w * h for w, h in seen.caller_sizes) >= 320 * 240, seen
    assert seen.agent_sizes and min(w * h for w, h in seen.agent_sizes) >= 320 * 240, seen
