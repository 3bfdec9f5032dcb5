from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from media_node.clip import EncodedClip
from media_node.frames import EncodedFrame, Kind
from media_node.relay import OutboundTrack


def video(clip: EncodedClip, index: int, ts: int, at: float = 0.0) -> EncodedFrame:
    frame = clip.video[index]
    return EncodedFrame(Kind.VIDEO, frame.data, ts, frame.keyframe, at)


def audio(ts: int, at: float = 0.0) -> EncodedFrame:
    return EncodedFrame(Kind.AUDIO, b"\x01\x02", ts, True, at)


def drain(track: OutboundTrack) -> list[tuple[bytes, int]]:
    async def run() -> list[tuple[bytes, int]]:
        out = []
        while track._queue:
            packet = await track.recv()
            out.append((bytes(packet), int(packet.pts or 0)))
        return out

    return asyncio.run(run())


def make(kind: Kind = Kind.VIDEO) -> tuple[OutboundTrack, list[str]]:
    asked: list[str] = []
    return OutboundTrack(kind, asked.append, clock=lambda: 0.0), asked


def test_video_waits_for_a_key_frame_and_asks_its_source_for_one(small_clip: EncodedClip) -> None:
    track, asked = make()
    track.prefer("agent#1")
    assert asked == ["agent#1"]
    track.push("agent#1", video(small_clip, 1, 6000))
    track.push("agent#1", video(small_clip, 15, 90_000))
    track.push("agent#1", video(small_clip, 16, 96_000))
    sent = drain(track)
    assert [d for d, _ in sent] == [small_clip.video[15].data, small_clip.video[16].data]
    assert track.frames_dropped == 1


def test_frames_from_sources_that_are_not_active_are_ignored(small_clip: EncodedClip) -> None:
    track, _ = make()
    track.prefer("waiting")
    track.push("agent#1", video(small_clip, 0, 0))
    assert drain(track) == []


def test_a_switch_completes_at_the_new_sources_key_frame_without_a_hole(small_clip: EncodedClip) -> None:
    track, asked = make()
    track.prefer("waiting")
    track.push("waiting", video(small_clip, 0, 0, at=10.0))
    track.push("waiting", video(small_clip, 1, 6000, at=10.066))
    track.prefer("agent#1")
    assert asked[-1] == "agent#1"
    track.push("agent#1", video(small_clip, 2, 500, at=10.1))  # inter frame: not yet
    track.push("waiting", video(small_clip, 2, 12_000, at=10.133))  # the old source still plays
    track.push("agent#1", video(small_clip, 15, 900, at=10.2))  # key frame: switch
    track.push("waiting", video(small_clip, 3, 18_000, at=10.2))  # the old source is now ignored
    track.push("agent#1", video(small_clip, 16, 6900, at=10.266))
    sent = drain(track)
    assert [d for d, _ in sent] == [
        small_clip.video[0].data,
        small_clip.video[1].data,
        small_clip.video[2].data,
        small_clip.video[15].data,
        small_clip.video[16].data,
    ]
    stamps = [ts for _, ts in sent]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # After the switch the new source keeps its own spacing (6000 = one frame at 15 fps) ...
    assert stamps[4] - stamps[3] == 6000
    # ... and follows the last packet by the wall-clock time elapsed (67 ms = 6030 ticks).
    assert stamps[3] - stamps[2] == pytest.approx(0.067 * 90_000, abs=10)
    assert track.active == "agent#1" and track.pending is None and track.switches == 1


def test_audio_switches_at_the_next_packet() -> None:
    track, asked = make(Kind.AUDIO)
    track.prefer("waiting")
    track.push("waiting", audio(0, at=1.0))
    track.prefer("agent#1")
    track.push("agent#1", audio(123_456, at=1.02))
    sent = drain(track)
    assert [ts for _, ts in sent] == [0, 960]
    assert asked == []  # audio never asks for key frames


def test_overflow_drops_video_up_to_the_next_key_frame(small_clip: EncodedClip) -> None:
    track, asked = make()
    track._max_queue = 3
    track.prefer("mobile#1")
    for i in range(5):
        track.push("mobile#1", video(small_clip, i, i * 6000))
    # Frames 0-2 were queued; 3 overflowed (queue cleared, 3 dropped); 4 is an inter frame.
    assert asked == ["mobile#1", "mobile#1"]  # at start and at the overflow
    track.push("mobile#1", video(small_clip, 5, 30_000))  # still no key frame: dropped
    track.push("mobile#1", video(small_clip, 15, 36_000))
    assert [d for d, _ in drain(track)] == [small_clip.video[15].data]
    assert track.frames_dropped == 6


def test_overflow_drops_the_oldest_audio() -> None:
    track, _ = make(Kind.AUDIO)
    track._max_queue = 2
    track.prefer("x")
    for i in range(4):
        track.push("x", audio(i * 960, at=i * 0.02))
    assert [ts for _, ts in drain(track)] == [1920, 2880]


def test_a_stopped_track_ends_the_sender() -> None:
    track, _ = make(Kind.AUDIO)

    async def run() -> None:
        waiter = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0)
        track.stop()
        with pytest.raises(MediaStreamError):
            await waiter

    asyncio.run(run())
    track.push("x", audio(0))
    assert not track._queue


def test_packets_carry_the_clock_rate_as_time_base(small_clip: EncodedClip) -> None:
    track, _ = make()
    track.prefer("s")
    track.push("s", video(small_clip, 0, 1234))

    async def run() -> None:
        packet = await track.recv()
        assert packet.time_base is not None and packet.time_base.denominator == 90_000
        assert packet.pts == 1234

    asyncio.run(run())
