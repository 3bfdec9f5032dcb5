"""The node's aiortc seams: what the tap passes on, what the bitrate cap tells the source (the privates
they reach are ``sdk.aiortc_internals``'s, tested in ``tests/unit/test_dependency_seams.py``)."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame

from media_node.aiortc_hooks import BitrateCap, ReceiverTap, install_receiver_tap
from media_node.clip import EncodedClip
from media_node.frames import EncodedFrame, Kind
from sdk import aiortc_internals


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


def test_installing_the_tap_replaces_the_receivers_decoder_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: list[object] = []
    monkeypatch.setattr(aiortc_internals, "replace_decoder_queue", lambda r, q: replaced.extend((r, q)))
    receiver = object()
    tap = ReceiverTap(Kind.VIDEO, lambda frame: None)
    install_receiver_tap(receiver, tap)  # type: ignore[arg-type]
    assert replaced == [receiver, tap]


class _Estimator:
    def __init__(self, answers: list[tuple[int, list[int]] | None]) -> None:
        self.answers = answers

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int) -> object:
        return self.answers.pop(0)


def test_the_bitrate_cap_bounds_what_the_receiver_tells_its_source() -> None:
    async def run() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("video").receiver
        aiortc_internals.replace_bitrate_estimator(
            receiver, _Estimator([None, (2_000_000, [7]), (300_000, [7])])
        )
        cap = BitrateCap(receiver, 800_000)
        assert aiortc_internals.bitrate_estimator(receiver) is cap
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
