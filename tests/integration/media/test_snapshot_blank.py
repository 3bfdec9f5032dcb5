"""A camera pointed at a wall: the snapshot is taken, and it says there is no face."""

from __future__ import annotations

import asyncio
import time

from bench.media_peers import blank_mobile_peer, connect
from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.snapshot import SnapshotResult
from media_node.storage import S3Store


def test_a_blank_video_gives_a_snapshot_without_a_face(media_store: S3Store) -> None:
    async def run() -> SnapshotResult:
        engine = MediaEngine(media_store, NodeConfig(node_id="it-blank"))
        await engine.start()
        mobile = blank_mobile_peer()
        try:
            await engine.open_call("IT-BLANK-1")
            await connect(engine, "IT-BLANK-1", "mobile", mobile)
            await mobile.wait_frames("video", 5, timeout=30)  # the node relays waiting media: the link is up
            await node_has_mobile_video(engine, "IT-BLANK-1")  # under load the other way lags behind
            shot = await engine.snapshot("IT-BLANK-1")
            await engine.close_call("IT-BLANK-1", "hangup")
            return shot
        finally:
            await mobile.close()
            await engine.shutdown()

    shot = asyncio.run(run())
    assert not shot.face_found and shot.face_box is None
    assert shot.sharpness < 5  # a flat grey picture (only the compression's noise)
    assert media_store.get(shot.key)[:2] == b"\xff\xd8"  # the JPEG is stored all the same


async def node_has_mobile_video(engine: MediaEngine, call_id: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while engine.stats(call_id).parties["mobile"].video_frames_in == 0:
        assert time.monotonic() < deadline, "no video from the mobile reached the node"
        await asyncio.sleep(0.05)
