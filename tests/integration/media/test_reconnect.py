"""A party that reconnects within the grace gets a fresh peer connection to the same node; the other
party keeps its media, and the recording goes on in the same file (with a gap)."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass

import av

from bench.media_peers import FrameLog, agent_peer, connect, mobile_peer, within
from media_node.config import NodeConfig
from media_node.engine import CallStats, MediaEngine
from media_node.recorder import RecordingInfo
from media_node.storage import S3Store

CALL = "IT-RECONNECT-1"


@dataclass
class Observed:
    mobile_frames_during_reconnect: int
    node_mobile_frames_during_reconnect: int
    second_agent_frames: int
    second_mobile_log: FrameLog
    stats_before_close: CallStats
    recording: RecordingInfo
    call_seconds: float


async def scenario(store: S3Store) -> Observed:
    engine = MediaEngine(store, NodeConfig(node_id="it-reconnect", chunk_seconds=1.0))
    await engine.start()
    mobile, agent = mobile_peer(), agent_peer()
    second_mobile_log = FrameLog()
    agent2 = agent_peer()
    mobile2 = mobile_peer(log=second_mobile_log)
    try:
        await engine.open_call(CALL)
        await connect(engine, CALL, "mobile", mobile)
        started = time.monotonic()
        await engine.answered(CALL)
        await connect(engine, CALL, "agent", agent)
        await mobile.wait_frames("video", 30, timeout=30)

        # The agent's page reloads: a new peer connection replaces the old one.
        mobile_before = mobile.received["video"].frames
        node_before = engine.stats(CALL).parties["mobile"].video_frames_in
        await agent.close()
        await asyncio.sleep(1.0)  # the scenario: the agent is away a second; the caller's media goes on
        await connect(engine, CALL, "agent", agent2)
        await agent2.wait_frames("video", 15, timeout=30)
        # The call goes on after the agent is back, until the caller sees the agent again (a minute
        # is generous: media that stalls that long is broken) and the node got 2 s of the caller.
        await within(
            lambda: (
                mobile.received["video"].frames - mobile_before >= 10
                and engine.stats(CALL).parties["mobile"].video_frames_in - node_before >= 30
            ),
            timeout=60,
        )
        mobile_during = mobile.received["video"].frames - mobile_before
        node_during = engine.stats(CALL).parties["mobile"].video_frames_in - node_before

        # Then the phone switches networks: it reconnects too, during the call (no waiting media).
        await mobile.close()
        await connect(engine, CALL, "mobile", mobile2)
        await mobile2.wait_frames("video", 15, timeout=30)
        stats = engine.stats(CALL)
        info = await engine.close_call(CALL, "hangup")
        return Observed(
            mobile_during,
            node_during,
            agent2.received["video"].frames,
            second_mobile_log,
            stats,
            info,
            time.monotonic() - started,
        )
    finally:
        for peer in (mobile, agent, agent2, mobile2):
            await peer.close()
        await engine.shutdown()


def test_reconnects_keep_the_other_party_and_the_recording_going(media_store: S3Store) -> None:
    seen = asyncio.run(scenario(media_store))
    # The caller's own link was untouched by the agent's reconnect: it kept sending...
    assert seen.node_mobile_frames_during_reconnect >= 30
    # ... and, once the new agent link was up, received the agent's video again.
    assert seen.mobile_frames_during_reconnect >= 10
    assert seen.second_agent_frames >= 15  # the new agent link sees the caller
    assert set(seen.second_mobile_log.classes()) == {"agent"}  # a reconnect after answer: no waiting media
    parties = seen.stats_before_close.parties
    assert parties["agent"].stream == 2 and parties["mobile"].stream == 2
    assert parties["mobile"].video_source == "agent#2"
    info = seen.recording
    assert info.key is not None and not info.incomplete
    with av.open(io.BytesIO(media_store.get(info.key)), mode="r") as container:
        duration = (container.duration or 0) / 1e6
        assert len(container.streams.video) == 2
        decoded = sum(1 for _ in container.decode(video=1))  # the agent's side, across both links
    assert abs(duration - seen.call_seconds) <= 1.0
    assert decoded >= 15 * 2  # both agent links are in the one file
