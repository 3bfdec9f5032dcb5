from __future__ import annotations

import asyncio
import io
import itertools
import json

import av
import pytest

from media_node.clip import EncodedClip
from media_node.config import KeyLayout
from media_node.errors import RecordingNotFound, RecordingStillActive
from media_node.frames import EncodedFrame, Kind
from media_node.recorder import (
    Recorder,
    RecordingInfo,
    RecordingState,
    Track,
    encode_part_header,
    parse_part,
    recover_recording,
)
from media_node.storage import MemoryStore

LAYOUT = KeyLayout()


def feed(
    recorder: Recorder, clip: EncodedClip, seconds: float, start: float, stream: int = 1, origin: float = 0.0
) -> None:
    """``seconds`` of both parties' media, as if it arrived from ``start`` (seconds after the
    recorder started); RTP-like timestamps count from ``origin`` (the stream's first frame)."""
    for i in range(int(seconds * 15)):
        at = start + i / 15
        frame = clip.video[round(at * 15) % len(clip.video)]
        ts = round((at - origin) * 90_000)
        for track in (Track.MOBILE_VIDEO, Track.AGENT_VIDEO):
            recorder.write(
                track, stream, EncodedFrame(Kind.VIDEO, frame.data, ts, frame.keyframe, recorder._t0 + at)
            )
    for i in range(int(seconds * 50)):
        at = start + i / 50
        packet = clip.audio[round(at * 50) % len(clip.audio)]
        ts = round((at - origin) * 48_000)
        for track in (Track.MOBILE_AUDIO, Track.AGENT_AUDIO):
            recorder.write(track, stream, EncodedFrame(Kind.AUDIO, packet, ts, True, recorder._t0 + at))


def open_recording(store: MemoryStore, info: RecordingInfo) -> av.container.InputContainer:
    assert info.key is not None
    return av.open(io.BytesIO(store.get(info.key)), mode="r")


def recorder(store: MemoryStore, call_id: str = "C-1") -> Recorder:
    return Recorder(store, call_id, layout=LAYOUT, node_id="n1", chunk_seconds=1.0)


def test_a_part_round_trips_and_a_truncated_tail_is_ignored() -> None:
    raw = encode_part_header({"seq": 3, "call_id": "C"})
    from media_node.recorder import RECORD

    raw += RECORD.pack(Track.MOBILE_AUDIO, 1, 20_000, 3) + b"abc"
    raw += RECORD.pack(Track.AGENT_VIDEO, 0, 40_000, 10) + b"short"
    header, records = parse_part(raw)
    assert header == {"seq": 3, "call_id": "C"}
    assert [(r.track, r.keyframe, r.pts_us, r.data) for r in records] == [
        (Track.MOBILE_AUDIO, True, 20_000, b"abc")
    ]
    with pytest.raises(ValueError):
        parse_part(b"XXXX" + raw[4:])


def test_parts_are_uploaded_during_the_call_and_assembled_at_the_end(small_clip: EncodedClip) -> None:
    store = MemoryStore()

    async def run() -> RecordingInfo:
        rec = recorder(store)
        feed(rec, small_clip, 1.0, start=0.0)
        rec._buffer_started -= 2  # the part is old enough
        rec.flush_due()
        await rec.drain()
        assert [o.key for o in store.list_prefix(LAYOUT.parts_prefix("C-1"))] == [LAYOUT.part("C-1", 0)]
        feed(rec, small_clip, 1.0, start=1.0)
        info = await rec.finish("hangup")
        assert rec.state is RecordingState.FINISHED
        return info

    info = asyncio.run(run())
    assert info.key == LAYOUT.recording("C-1") and not info.incomplete and info.end_reason == "hangup"
    assert info.tracks == ("mobile_video", "mobile_audio", "agent_video", "agent_audio")
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert store.list_prefix(LAYOUT.parts_prefix("C-1")) == []  # parts are gone once assembled
    assert json.loads(store.get(LAYOUT.recording_info("C-1")))["sha256"] == info.sha256
    with open_recording(store, info) as container:
        assert len(container.streams.video) == 2 and len(container.streams.audio) == 2
        assert (container.duration or 0) / 1e6 == pytest.approx(2.0, abs=0.15)
        decoded = sum(1 for _ in container.decode(video=0))
        assert decoded == 30


def test_a_reconnect_leaves_a_gap_and_waits_for_a_key_frame(small_clip: EncodedClip) -> None:
    store = MemoryStore()

    async def run() -> RecordingInfo:
        rec = recorder(store)
        feed(rec, small_clip, 1.0, start=0.0)
        # The new stream's timestamps restart at 0; it starts with inter frames (dropped).
        for i in range(1, 5):
            frame = small_clip.video[i]
            rec.write(Track.MOBILE_VIDEO, 2, EncodedFrame(Kind.VIDEO, frame.data, i, False, rec._t0 + 3))
        feed(rec, small_clip, 1.0, start=3.0, stream=2, origin=3.0)
        return await rec.finish("hangup")

    info = asyncio.run(run())
    assert info.duration_s == pytest.approx(4.0, abs=0.1)  # 1 s, a 2 s gap, 1 s
    with open_recording(store, info) as container:
        stamps = [float(f.time or 0) for f in container.decode(video=0)]
    assert len(stamps) == 30
    assert stamps == sorted(stamps)
    assert max(b - a for a, b in itertools.pairwise(stamps)) == pytest.approx(2.07, abs=0.05)


def test_a_call_without_media_has_no_recording_file() -> None:
    store = MemoryStore()
    info = asyncio.run(recorder(store).finish("no_media"))
    assert info.key is None and info.size == 0 and info.sha256 is None
    assert RecordingInfo.from_json(json.loads(store.get(LAYOUT.recording_info("C-1")))) == info


def test_recovery_assembles_what_s3_holds_and_marks_it_incomplete(small_clip: EncodedClip) -> None:
    store = MemoryStore()

    async def crash() -> None:
        rec = recorder(store)
        feed(rec, small_clip, 1.0, start=0.0)
        rec._buffer_started -= 2
        rec.flush_due()
        feed(rec, small_clip, 1.0, start=1.0)
        rec._buffer_started -= 2
        rec.flush_due()
        feed(rec, small_clip, 0.5, start=2.0)  # never uploaded: the node "dies" here
        await rec.drain()

    asyncio.run(crash())
    with pytest.raises(RecordingStillActive):
        recover_recording(store, "C-1", min_idle_s=30)
    info = recover_recording(store, "C-1", min_idle_s=0)
    assert info.incomplete and info.end_reason == "media_node_lost" and info.parts == 2
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    with open_recording(store, info) as container:
        assert sum(1 for _ in container.decode(video=1)) == 30
    assert recover_recording(store, "C-1", min_idle_s=30) == info  # idempotent


def test_recovery_skips_a_missing_part_up_to_the_next_key_frame(small_clip: EncodedClip) -> None:
    store = MemoryStore()

    async def record() -> None:
        rec = recorder(store)
        for second in range(3):
            feed(rec, small_clip, 1.0, start=second)
            rec._buffer_started -= 2
            rec.flush_due()
        await rec.drain()

    asyncio.run(record())
    store.delete([LAYOUT.part("C-1", 1)])
    info = recover_recording(store, "C-1", min_idle_s=0)
    with open_recording(store, info) as container:
        frames = list(container.decode(video=0))
    # Second 0 (15 frames) and second 2 from its key frame (the clip has one at frame 15 of 30:
    # second 2 starts at clip frame 0, a key frame), nothing undecodable in between.
    assert len(frames) == 30
    assert info.duration_s == pytest.approx(3.0, abs=0.1)


def test_recovery_of_an_unknown_call_says_so() -> None:
    with pytest.raises(RecordingNotFound):
        recover_recording(MemoryStore(), "nope")
