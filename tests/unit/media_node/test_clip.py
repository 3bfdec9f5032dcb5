from __future__ import annotations

import pytest

from media_node.clip import ClipCursor, ClipFrame, EncodedClip
from media_node.frames import vp8_is_keyframe


def test_clip_has_one_packet_per_frame_and_a_key_frame_every_gop(small_clip: EncodedClip) -> None:
    assert len(small_clip.video) == 30
    assert [i for i, f in enumerate(small_clip.video) if f.keyframe] == [0, 15]
    assert all(vp8_is_keyframe(f.intra) for f in small_clip.video)
    assert len(small_clip.audio) == 100  # 2 s of 20 ms packets, exactly
    assert small_clip.duration_s == pytest.approx(2.0)


def test_a_clip_must_start_on_a_key_frame(small_clip: EncodedClip) -> None:
    inter = small_clip.video[1]
    with pytest.raises(ValueError, match="key frame"):
        EncodedClip(160, 120, 15, (inter,), ())
    with pytest.raises(ValueError):
        EncodedClip(160, 120, 15, (), ())


def test_cursor_timestamps_keep_growing_across_the_loop(small_clip: EncodedClip) -> None:
    cursor = ClipCursor(small_clip)
    stamps = [cursor.next_video()[1] for _ in range(75)]  # two and a half loops
    assert stamps == [i * 6000 for i in range(75)]
    audio = [cursor.next_audio()[1] for _ in range(250)]
    assert audio == [i * 960 for i in range(250)]


def test_cursor_starts_on_a_key_frame_then_follows_the_clip(small_clip: EncodedClip) -> None:
    cursor = ClipCursor(small_clip)
    keys = [cursor.next_video()[2] for _ in range(31)]
    assert keys[0] and keys[15] and keys[30]
    assert not any(keys[1:15])


def test_a_key_frame_request_is_served_at_the_very_next_frame(small_clip: EncodedClip) -> None:
    cursor = ClipCursor(small_clip)
    for _ in range(5):
        cursor.next_video()
    cursor.request_keyframe()
    data, _, key = cursor.next_video()
    assert key and data == small_clip.video[5].intra
    assert not cursor.next_video()[2]


def test_switching_rendition_starts_the_new_one_on_a_key_frame(small_clip: EncodedClip) -> None:
    other = EncodedClip(
        small_clip.width,
        small_clip.height,
        small_clip.fps,
        tuple(ClipFrame(f.data, f.intra, f.keyframe) for f in small_clip.video),
        small_clip.audio,
    )
    cursor = ClipCursor(small_clip)
    for _ in range(3):
        cursor.next_video()
    cursor.switch(other)
    data, _, key = cursor.next_video()
    assert key and data == other.video[3].intra


def test_skipping_ahead_resumes_at_the_present_with_a_key_frame(small_clip: EncodedClip) -> None:
    cursor = ClipCursor(small_clip)
    cursor.next_video()
    cursor.skip_to(10.0)
    assert cursor.video_index == 150
    _data, ts, key = cursor.next_video()
    assert key and ts == 150 * 6000
    assert cursor.audio_index == 500
