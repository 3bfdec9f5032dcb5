from __future__ import annotations

import asyncio
import fractions
import io
import itertools

import av
import numpy as np
import pytest

from media_node.errors import WaitingMediaInvalid
from media_node.frames import EncodedFrame, Kind
from media_node.snapshot import decode_keyframe
from media_node.storage import MemoryStore
from media_node.waiting import (
    WaitingMedia,
    WaitingMediaLibrary,
    WaitingPlayer,
    decode_waiting_file,
    default_waiting_media,
)
from tests.unit.media_node.conftest import moving_frames
from tests.virtual_time import run_virtual


def test_default_media_has_two_renditions_of_the_same_loop(waiting_media: WaitingMedia) -> None:
    assert (waiting_media.high.width, waiting_media.high.height) == (640, 480)
    assert (waiting_media.low.width, waiting_media.low.height) == (320, 240)
    assert len(waiting_media.high.video) == len(waiting_media.low.video) == 60
    assert waiting_media.high.duration_s == pytest.approx(4.0)
    assert len(waiting_media.high.audio) == 200
    assert default_waiting_media() is waiting_media  # made once per process


def test_default_media_looks_like_waiting_media(waiting_media: WaitingMedia) -> None:
    picture = decode_keyframe(waiting_media.high.video[0].data)  # BGR
    blue, green, red = picture.reshape(-1, 3).mean(axis=0)
    assert blue > green > red  # dark blue: tests tell it apart from an agent's camera by this


def run_player(
    media: WaitingMedia, seconds: float, use_low: bool = False
) -> list[tuple[float, EncodedFrame]]:
    """What the player sends in ``seconds`` of virtual time, with when (the loop's clock) it sent it."""
    sent: list[tuple[float, EncodedFrame]] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        player = WaitingPlayer(media, lambda frame: sent.append((loop.time(), frame)), lambda: use_low)
        player.start()
        await asyncio.sleep(seconds)
        await player.stop()
        assert not player.running

    run_virtual(run())
    return sent


def test_the_player_sends_a_steady_15_fps_and_50_audio_packets_per_second(
    waiting_media: WaitingMedia,
) -> None:
    sent = run_player(waiting_media, 1.5)
    video = [f for _, f in sent if f.kind is Kind.VIDEO]
    audio = [f for _, f in sent if f.kind is Kind.AUDIO]
    assert 20 <= len(video) <= 25
    assert 72 <= len(audio) <= 78
    gaps = np.diff([at for at, f in sent if f.kind is Kind.VIDEO])
    assert gaps.max() < 0.15  # no stall
    assert video[0].keyframe
    assert [f.timestamp for f in video] == [i * 6000 for i in range(len(video))]


def test_the_player_keeps_a_steady_rate_across_the_loop_point() -> None:
    short = decode_waiting_file(_webm(moving_frames(20, 320, 240), fps=20), "short")  # 1 s loop
    sent = run_player(short, 2.6)
    video = [f for _, f in sent if f.kind is Kind.VIDEO]
    assert len(video) >= 36  # 15 fps over 2.6 s, i.e. more than two loops
    stamps = [f.timestamp for f in video]
    assert all(b - a == 6000 for a, b in itertools.pairwise(stamps))
    assert np.diff([at for at, f in sent if f.kind is Kind.VIDEO]).max() < 0.15


def test_the_low_rendition_is_used_when_the_link_is_slow(waiting_media: WaitingMedia) -> None:
    sent = run_player(waiting_media, 0.3, use_low=True)
    first = next(f for _, f in sent if f.kind is Kind.VIDEO)
    assert decode_keyframe(first.data).shape == (240, 320, 3)


def _webm(frames: list[np.ndarray], fps: int, with_audio: bool = True) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        vstream = container.add_stream("libvpx", rate=fps)
        vstream.width, vstream.height = frames[0].shape[1], frames[0].shape[0]
        vstream.pix_fmt = "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = fractions.Fraction(1, fps)
            container.mux(vstream.encode(frame))
        container.mux(vstream.encode(None))
    return buffer.getvalue()


def test_any_video_file_becomes_waiting_media_at_15_fps() -> None:
    media = decode_waiting_file(_webm(moving_frames(30, 320, 240), fps=25), "queue.webm")  # 1.2 s
    assert len(media.high.video) == 18
    assert (media.high.width, media.high.height) == (640, 480)  # letterboxed
    assert len(media.high.audio) == 60  # no audio in the file: silence of the same length


def test_a_file_without_video_or_too_short_is_refused() -> None:
    with pytest.raises(WaitingMediaInvalid, match=r"cannot be decoded|no video"):
        decode_waiting_file(b"not a video at all", "bad.bin")
    with pytest.raises(WaitingMediaInvalid, match="less than one second"):
        decode_waiting_file(_webm(moving_frames(5, 64, 48), fps=25), "tiny.webm")


class CountingStore(MemoryStore):
    """Counts the reads: each one of a clip is followed by a decode and an encode."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        return super().get(key)


def test_the_library_encodes_a_queue_clip_once_and_reports_a_missing_key() -> None:
    store = CountingStore()
    store.put("waiting/q1.webm", _webm(moving_frames(20, 160, 120), fps=15))

    async def run() -> None:
        library = WaitingMediaLibrary(store)
        first = await library.get("waiting/q1.webm")
        again = await library.get("waiting/q1.webm")
        assert again is first
        assert store.reads == ["waiting/q1.webm"], "read, decoded and encoded once"
        with pytest.raises(WaitingMediaInvalid, match="does not exist"):
            await library.get("waiting/missing.webm")
        assert await library.get(None) is default_waiting_media()

    asyncio.run(run())
