from __future__ import annotations

from media_node.clip import EncodedClip
from media_node.frames import Kind, is_keyframe, vp8_dimensions, vp8_is_keyframe


def test_a_vp8_key_frame_is_recognised_with_its_size(small_clip: EncodedClip) -> None:
    first = small_clip.video[0].data
    assert vp8_is_keyframe(first)
    assert vp8_dimensions(first) == (160, 120)


def test_inter_frames_are_not_key_frames_and_have_no_size(small_clip: EncodedClip) -> None:
    inter = small_clip.video[1].data
    assert not vp8_is_keyframe(inter)
    assert vp8_dimensions(inter) is None


def test_truncated_or_empty_data_is_not_a_key_frame() -> None:
    assert not vp8_is_keyframe(b"")
    assert not vp8_is_keyframe(b"\x00\x00\x00\x9d\x01")
    assert vp8_dimensions(b"\x10\x02\x00\x9d\x01\x2a") is None


def test_audio_packets_are_always_decodable_on_their_own(small_clip: EncodedClip) -> None:
    assert is_keyframe(Kind.AUDIO, small_clip.audio[3])
    assert not is_keyframe(Kind.VIDEO, small_clip.video[3].data)


def test_clock_rates() -> None:
    assert Kind.VIDEO.clock_rate == 90_000
    assert Kind.AUDIO.clock_rate == 48_000
