"""kill -9 of a media node mid-call leaves a playable recording up to its last seconds.

The node runs as its own process (``python -m media_node serve --control stdio``), driven through
its stdin like the signaling wiring will drive it; the two parties are aiortc peers in this process.
After SIGKILL, ``python -m media_node recover`` assembles what S3 holds and marks it incomplete."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from bench.media_peers import agent_peer, mobile_peer
from media_node.control import ControlClient
from media_node.errors import RecordingStillActive
from media_node.recorder import RecordingInfo, recover_recording
from media_node.storage import S3Store

ROOT = Path(__file__).resolve().parents[3]
CALL = "IT-KILL-1"
CHUNK_S = 1.0


@dataclass
class Observed:
    media_seconds: float  # from the caller's first frame to the kill
    attached_seconds: float  # from the caller's attach (before any media) to the kill
    exit_code: int
    frames_before_kill: int


def node_env(store: S3Store) -> dict[str, str]:
    return {**os.environ, "VKYC_BUCKET": store.bucket, "VKYC_MEDIA_CHUNK_S": str(CHUNK_S)}


async def call_then_kill(store: S3Store) -> Observed:
    node = ControlClient(
        # python -m media_node serve, with the default waiting media the session encoded once.
        [sys.executable, "-m", "local.media_node_process", "serve", "--control", "stdio"],
        node_env(store),
        ROOT,
    )
    ready = await node.start()
    assert ready["event"] == "ready" and ready["pid"] == node.pid
    mobile, agent = mobile_peer(), agent_peer()
    try:
        await node.request("open_call", call_id=CALL)
        attached_at = time.monotonic()
        await mobile.accept(
            await node.request("attach", call_id=CALL, party="mobile", offer_sdp=await mobile.offer())
        )
        await node.request("answered", call_id=CALL)
        await agent.accept(
            await node.request("attach", call_id=CALL, party="agent", offer_sdp=await agent.offer())
        )
        await mobile.wait_frames("video", 1, timeout=30)
        first_frame = time.monotonic()
        await agent.wait_frames("video", 15, timeout=30)
        # The call goes on until the node has had 60 of the caller's frames (4 s at 15 fps).
        deadline = time.monotonic() + 30
        while (stats := await node.request("stats", call_id=CALL))["parties"]["mobile"][
            "video_frames_in"
        ] < 60:
            assert time.monotonic() < deadline, stats
            await asyncio.sleep(0.2)
        code = await node.kill()
        killed_at = time.monotonic()
        return Observed(
            killed_at - first_frame,
            killed_at - attached_at,
            code,
            stats["parties"]["mobile"]["video_frames_in"],
        )
    finally:
        await mobile.close()
        await agent.close()


def test_a_killed_node_leaves_a_playable_partial_recording(
    media_store: S3Store, node_waiting_media: None
) -> None:
    seen = asyncio.run(call_then_kill(media_store))
    assert seen.exit_code == -9 and seen.frames_before_kill >= 60

    # Right after the kill the parts are fresh: recovery refuses (a live node might still write).
    with pytest.raises(RecordingStillActive):
        recover_recording(media_store, CALL, min_idle_s=10)

    command = [sys.executable, "-m", "media_node", "recover", CALL, "--min-idle-s", "0"]
    done = subprocess.run(
        command, env=node_env(media_store), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    info = RecordingInfo.from_json(json.loads(done.stdout))
    assert info.incomplete and info.end_reason == "media_node_lost" and info.key is not None

    with av.open(io.BytesIO(media_store.get(info.key)), mode="r") as container:
        duration = (container.duration or 0) / 1e6
        caller_frames = sum(1 for _ in container.decode(video=0))
    # Everything up to the last uploaded part: at most a part and a tick behind the kill; and no more
    # than the node had (a busy machine delays the caller's first frame behind the node's).
    assert seen.media_seconds - 2 * CHUNK_S - 0.6 <= duration <= seen.attached_seconds + 0.5, (duration, seen)
    assert caller_frames >= 12 * (duration - 0.5)
    assert recover_recording(media_store, CALL) == info  # done once; later calls read the result
