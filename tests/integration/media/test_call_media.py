"""One call through the media node, start to finish, with real aiortc peers: waiting media while it
rings, the agent's media after the answer, both ways, the decision snapshot, the recording and the
evidence bundle. The call runs once (module fixture); each test checks one promise of issue #5.

The scenario waits on what each step needs (so many frames, so many audio packets), never on the
clock, and the tests check what arrived, not how fast: the frame rates, the switch from waiting media
to the agent's and the snapshot's time are figures of ``bench/media_call.py``."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from bench.media_peers import FrameLog, agent_peer, connect, mobile_peer, until, within
from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.evidence import Bundle, DecisionFacts, EvidenceFile, build_bundle, verify_bundle
from media_node.recorder import RecordingInfo
from media_node.snapshot import SnapshotResult, read_jpeg_comment, stamp_text
from media_node.storage import S3Store
from sdk.media import MediaPeer
from tests.unit.media_node.stamp_check import VIETNAM, assert_stamped_with

ROOT = Path(__file__).resolve().parents[3]
CALL = "IT-CALL-1"


@dataclass
class Observed:
    store: S3Store
    mobile_log: FrameLog
    agent_log: FrameLog
    opened_at: float
    mobile_connected_at: float
    answered_at: float
    agent_attached_at: float
    mobile: MediaPeer
    agent: MediaPeer
    mobile_audio_while_ringing: int
    in_call_media_flowed: bool
    agent_video_frames: int
    snapshot: SnapshotResult
    snapshot_jpeg: bytes
    closed_at: float
    close_returned_at: float
    recording: RecordingInfo
    recording_bytes: bytes
    bundle: Bundle


async def run_call(store: S3Store) -> Observed:
    engine = MediaEngine(store, NodeConfig(node_id="it-node", chunk_seconds=1.0))
    await engine.start()
    mobile_log, agent_log = FrameLog(), FrameLog()
    mobile, agent = mobile_peer(log=mobile_log), agent_peer(log=agent_log)
    try:
        opened_at = time.monotonic()
        await engine.open_call(CALL)
        await connect(engine, CALL, "mobile", mobile)
        mobile_connected_at = time.monotonic()
        # Ringing: the caller gets the node's waiting media (2 s of it at 15 fps, less the first frame).
        await until(lambda: len(mobile_log.classes()) >= 20 and mobile.received["audio"].frames >= 60)
        audio_while_ringing = mobile.received["audio"].frames
        await engine.answered(CALL)  # the agent accepted; its page is still connecting
        answered_at = time.monotonic()
        # Meanwhile the caller keeps the waiting media.
        await until(lambda: len(mobile_log.classes(since=answered_at)) >= 5)
        await connect(engine, CALL, "agent", agent)
        agent_attached_at = time.monotonic()
        # In call: 2 s of video each way at 15 fps, and over 2 s of voice each way (50 packets a second).
        flowed = await within(
            lambda: (
                len(agent_log.classes(since=agent_attached_at)) >= IN_CALL_FRAMES
                and len(mobile_log.classes(since=agent_attached_at)) >= IN_CALL_FRAMES
                and agent.received["audio"].frames >= IN_CALL_AUDIO
                and mobile.received["audio"].frames - audio_while_ringing >= IN_CALL_AUDIO
            ),
            timeout=60,
        )
        shot = await engine.snapshot(CALL)
        # The call goes on a moment after the snapshot: half a second of the caller's video.
        frames = agent.received["video"].frames
        await until(lambda: agent.received["video"].frames >= frames + 8, timeout=60)
        closed_at = time.monotonic()
        recording = await engine.close_call(CALL, "hangup")
        close_returned_at = time.monotonic()
        assert recording.key is not None
        for name in ("f", "b", "p"):  # stand-ins for the ID card's sides and the eKYC portrait
            _, jpeg = cv2.imencode(".jpg", np.full((60, 80, 3), 200, np.uint8))
            store.put(f"dossiers/HS-IT/{name}.jpg", jpeg.tobytes(), "image/jpeg")
        bundle = build_bundle(
            store,
            DecisionFacts(
                dossier_id="HS-IT",
                call_id=CALL,
                decision="A",
                agent_id="tdv1.kv1",
                decided_at=datetime.now(UTC),
                files=(
                    EvidenceFile("id_front", "dossiers/HS-IT/f.jpg"),
                    EvidenceFile("id_back", "dossiers/HS-IT/b.jpg"),
                    EvidenceFile("portrait", "dossiers/HS-IT/p.jpg"),
                    EvidenceFile("snapshot", shot.key),
                    EvidenceFile("recording", recording.key, recording.sha256),
                ),
            ),
        )
        return Observed(
            store,
            mobile_log,
            agent_log,
            opened_at,
            mobile_connected_at,
            answered_at,
            agent_attached_at,
            mobile,
            agent,
            audio_while_ringing,
            flowed is not None,
            agent.received["video"].frames,
            shot,
            store.get(shot.key),
            closed_at,
            close_returned_at,
            recording,
            store.get(recording.key),
            bundle,
        )
    finally:
        await mobile.close()
        await agent.close()
        await engine.shutdown()


SENT_SIZES = {(640, 480), (320, 240)}  # EncodedVideoTrack's size and low_size
IN_CALL_FRAMES = 30
IN_CALL_AUDIO = 100


@pytest.fixture(scope="module")
def call(media_store: S3Store) -> Iterator[Observed]:
    yield asyncio.run(run_call(media_store))


def test_the_caller_sees_and_hears_waiting_media_while_it_rings(call: Observed) -> None:
    ringing = call.mobile_log.classes(until=call.answered_at)
    assert len(ringing) >= 20  # 2 s at 15 fps, less the first frame's delay
    assert set(ringing) == {"waiting"}
    assert call.mobile_audio_while_ringing >= 60  # the chime: 50 packets a second


def test_waiting_media_goes_on_until_the_agents_media_replaces_it(call: Observed) -> None:
    # Answered but the agent's page not yet connected: the caller still gets the waiting media.
    assert set(call.mobile_log.classes(call.answered_at, call.agent_attached_at)) == {"waiting"}
    switched = call.mobile_log.first("agent", since=call.answered_at)
    assert switched is not None and call.agent_attached_at < switched < call.closed_at
    assert set(call.mobile_log.classes(since=switched)) == {"agent"}  # it stopped for good


def test_media_flows_both_ways(call: Observed) -> None:
    # Within a minute of the agent's link (generous: media only stalls that long when it is broken),
    # 2 s of video and of voice arrived each way.
    assert call.in_call_media_flowed
    # The sender drops to 320x240 when the node's estimate of the link falls, which a busy machine's
    # delays can cause even on loopback; either picture size is the caller's full picture.
    assert call.agent.received["video"].size in SENT_SIZES
    assert set(call.agent_log.classes()) == {"customer"}  # the agent sees the caller's face


def test_the_snapshot_finds_the_face_and_carries_the_burned_in_time(call: Observed) -> None:
    shot = call.snapshot
    assert shot.face_found and shot.face_box is not None
    assert (shot.width, shot.height) in SENT_SIZES and shot.sharpness > 10
    assert shot.key == f"calls/{CALL}/snapshots/{shot.snapshot_id}.jpg"
    assert abs((datetime.now(UTC) - shot.taken_at).total_seconds()) < 120
    text = stamp_text(CALL, shot.taken_at, VIETNAM)
    comment = read_jpeg_comment(call.snapshot_jpeg)
    assert comment is not None and text in comment
    picture = cv2.imdecode(np.frombuffer(call.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    assert_stamped_with(picture, text, CALL, shot.taken_at)


def test_the_recording_opens_and_lasts_as_long_as_the_call(call: Observed) -> None:
    info = call.recording
    assert not info.incomplete and info.end_reason == "hangup"
    assert info.size == len(call.recording_bytes)
    assert info.sha256 == hashlib.sha256(call.recording_bytes).hexdigest()
    with av.open(io.BytesIO(call.recording_bytes), mode="r") as container:
        assert len(container.streams.video) == 2 and len(container.streams.audio) == 2
        duration = (container.duration or 0) / 1e6
        titles = sorted(s.metadata.get("title", "") for s in container.streams)
        caller_video = next(s for s in container.streams.video if s.metadata.get("title") == "mobile_video")
        frames = sum(1 for _ in container.decode(caller_video))
    assert titles == ["agent_audio", "agent_video", "mobile_audio", "mobile_video"]
    # The media flowed from the caller's link up to the hang-up at least, and within the node's call
    # at most (a busy machine stretches the moments around those: connecting, closing).
    call_seconds = call.closed_at - call.mobile_connected_at
    assert call_seconds - 1.0 <= duration <= call.close_returned_at - call.opened_at + 1.0, (
        duration,
        call_seconds,
    )
    assert abs(info.duration_s - duration) < 0.2
    # The caller's video the node relayed to the agent, it also recorded, from further back (the
    # caller's link came up before the agent's).
    assert frames >= call.agent_video_frames


def test_the_evidence_bundle_verifies_then_fails_after_one_changed_byte(call: Observed) -> None:
    store, bundle = call.store, call.bundle
    assert verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256).ok
    env = {**os.environ, "VKYC_BUCKET": store.bucket}
    command = [
        sys.executable,
        "-m",
        "media_node",
        "verify",
        bundle.manifest_key,
        "--sha256",
        bundle.manifest_sha256,
    ]
    good = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    tampered = bytearray(call.snapshot_jpeg)
    tampered[len(tampered) // 2] ^= 0x01
    store.put(call.snapshot.key, bytes(tampered), "image/jpeg")
    result = verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256)
    assert not result.ok and result.mismatch is not None
    assert result.mismatch.startswith(f"snapshot {call.snapshot.key}: sha256")
    bad = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and f"snapshot {call.snapshot.key}" in bad.stderr
