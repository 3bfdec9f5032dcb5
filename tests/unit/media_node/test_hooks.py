"""The aiortc seams: what the tap passes on, and that each seam finds the attribute it relies on."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame

from media_node.aiortc_hooks import BitrateCap, ReceiverTap, install_receiver_tap
from media_node.clip import EncodedClip
from media_node.frames import EncodedFrame, Kind


def test_the_tap_hands_over_encoded_frames_and_only_the_end_marker_to_the_decoder(
    small_clip: EncodedClip,
) -> None:
    got: list[EncodedFrame] = []
    tap = ReceiverTap(Kind.VIDEO, got.append)
    tap.put((None, JitterFrame(small_clip.video[0].data, 0)))
    tap.put((None, JitterFrame(small_clip.video[1].data, 6000)))
    tap.put((None, JitterFrame(b"", 12000)))  # nothing to pass on
    assert [(f.timestamp, f.keyframe) for f in got] == [(0, True), (6000, False)]
    assert tap.frames == 2
    tap.put(None)
    assert tap.get(timeout=1) is None  # what aiortc's decoder thread reads to end the track


def test_after_a_reset_the_tap_drops_inter_frames_until_a_key_frame(small_clip: EncodedClip) -> None:
    got: list[EncodedFrame] = []
    tap = ReceiverTap(Kind.VIDEO, got.append)
    tap.wait_keyframe = True
    for index in (5, 6, 15, 16):
        tap.put((None, JitterFrame(small_clip.video[index].data, index)))
    assert [f.timestamp for f in got] == [15, 16]


def test_a_failing_handler_does_not_break_the_receiver(small_clip: EncodedClip) -> None:
    def boom(frame: EncodedFrame) -> None:
        raise RuntimeError("handler bug")

    tap = ReceiverTap(Kind.AUDIO, boom)
    tap.put((None, JitterFrame(b"\x01", 0)))  # logged, not raised
    assert tap.frames == 1


def test_the_tap_replaces_the_decoder_queue_of_a_receiver_not_yet_started() -> None:
    async def run() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("video").receiver
        tap = ReceiverTap(Kind.VIDEO, lambda frame: None)
        install_receiver_tap(receiver, tap)
        assert receiver._RTCRtpReceiver__decoder_queue is tap  # type: ignore[attr-defined]
        receiver._RTCRtpReceiver__started = True  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="already started"):
            install_receiver_tap(receiver, ReceiverTap(Kind.VIDEO, lambda frame: None))
        receiver._RTCRtpReceiver__started = False  # type: ignore[attr-defined]  # it never really started
        await pc.close()

    asyncio.run(run())


class _Estimator:
    def __init__(self, answers: list[tuple[int, list[int]] | None]) -> None:
        self.answers = answers

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int) -> object:
        return self.answers.pop(0)


def test_the_bitrate_cap_bounds_what_the_receiver_tells_its_source() -> None:
    async def run() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("video").receiver
        receiver._RTCRtpReceiver__remote_bitrate_estimator = _Estimator(  # type: ignore[attr-defined]
            [None, (2_000_000, [7]), (300_000, [7])]
        )
        cap = BitrateCap(receiver, 800_000)
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        assert estimator is cap
        assert cap.add(arrival_time_ms=0, abs_send_time=0, payload_size=1000, ssrc=7) is None
        assert cap.add(arrival_time_ms=1, abs_send_time=1, payload_size=1000, ssrc=7) == (800_000, [7])
        assert cap.add(arrival_time_ms=2, abs_send_time=2, payload_size=1000, ssrc=7) == (300_000, [7])
        assert cap.estimate_bps == 300_000
        await pc.close()

    asyncio.run(run())


def test_an_audio_receiver_has_no_estimator_to_cap() -> None:
    async def run() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("audio").receiver
        with pytest.raises(ValueError, match="audio"):
            BitrateCap(receiver, 100_000)
        await pc.close()

    asyncio.run(run())
