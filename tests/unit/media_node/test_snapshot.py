from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from skimage import data

from media_node.clip import encode_clip
from media_node.errors import SnapshotFailed
from media_node.snapshot import (
    analyse,
    band_height,
    burn_in,
    decode_keyframe,
    encode_jpeg,
    make_snapshot,
    new_snapshot_id,
    read_jpeg_comment,
    stamp_text,
)
from tests.unit.media_node.stamp_check import VIETNAM, assert_stamped_with

TAKEN = datetime(2026, 3, 14, 2, 5, 9, 42_000, tzinfo=UTC)


def face_picture() -> np.ndarray:
    """scikit-image's astronaut (a real face) on a 640x480 canvas, BGR."""
    rgb = cv2.resize(data.astronaut(), (480, 480))
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[:, 80:560] = rgb
    return cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)


def test_the_stamp_reads_local_date_time_offset_and_call() -> None:
    assert stamp_text("C-42", TAKEN, VIETNAM) == "2026-03-14 09:05:09.042 UTC+07:00 | call C-42"
    assert stamp_text("C-42", TAKEN, UTC).startswith("2026-03-14 02:05:09.042 UTC+00:00")


def test_a_frontal_face_is_found_with_its_box() -> None:
    analysis = analyse(face_picture())
    assert analysis.face_found and analysis.face_box is not None
    box = analysis.face_box
    # The astronaut's face is in the upper middle of the canvas.
    assert 150 < box.x + box.width / 2 < 450 and 40 < box.y + box.height / 2 < 250
    assert (analysis.width, analysis.height) == (640, 480)


def test_a_blank_picture_has_no_face_and_no_sharpness() -> None:
    analysis = analyse(np.full((480, 640, 3), 128, np.uint8))
    assert not analysis.face_found and analysis.face_box is None
    assert analysis.sharpness == pytest.approx(0.0)


def test_sharpness_drops_when_the_picture_is_blurred() -> None:
    sharp = analyse(face_picture()).sharpness
    blurred = analyse(cv2.GaussianBlur(face_picture(), (0, 0), 3)).sharpness
    assert sharp > 4 * blurred


def test_the_burned_in_text_is_the_stamp_and_not_another_time() -> None:
    text = stamp_text("C-42", TAKEN, VIETNAM)
    stamped = burn_in(face_picture(), text)
    assert_stamped_with(stamped, text, "C-42", TAKEN)
    # Above the band the picture is untouched.
    band = band_height(480)
    assert np.array_equal(stamped[:-band], face_picture()[:-band])


def test_the_jpeg_carries_the_stamp_in_a_comment() -> None:
    jpeg = encode_jpeg(face_picture(), "vkyc snapshot | hello")
    assert read_jpeg_comment(jpeg) == "vkyc snapshot | hello"
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (480, 640, 3)
    ok, plain = cv2.imencode(".jpg", face_picture())
    assert ok and read_jpeg_comment(plain.tobytes()) is None


def test_a_snapshot_of_a_key_frame_is_analysed_stamped_and_commented() -> None:
    rgb = cv2.cvtColor(face_picture(), cv2.COLOR_BGR2RGB)
    clip = encode_clip([rgb], fps=15, width=640, height=480, bitrate=800_000, gop=15)
    jpeg, analysis, text = make_snapshot(clip.video[0].data, "C-7", TAKEN, VIETNAM)
    assert analysis.face_found
    assert text == stamp_text("C-7", TAKEN, VIETNAM)
    comment = read_jpeg_comment(jpeg)
    assert comment is not None and text in comment and "taken_at=2026-03-14T02:05:09.042000+00:00" in comment
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    assert_stamped_with(picture, text, "C-7", TAKEN)


def test_a_low_resolution_key_frame_is_enlarged_so_its_stamp_stays_legible() -> None:
    small = cv2.resize(face_picture(), (320, 240), interpolation=cv2.INTER_AREA)
    clip = encode_clip(
        [cv2.cvtColor(small, cv2.COLOR_BGR2RGB)], fps=15, width=320, height=240, bitrate=300_000, gop=15
    )
    jpeg, analysis, text = make_snapshot(clip.video[0].data, "C-8", TAKEN, VIETNAM)
    assert (analysis.width, analysis.height) == (320, 240)  # the face box is in the frame's own pixels
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape == (480, 640, 3)
    assert_stamped_with(picture, text, "C-8", TAKEN)


def test_garbage_is_not_a_key_frame() -> None:
    with pytest.raises(SnapshotFailed):
        decode_keyframe(b"\x00" * 50)


def test_snapshot_ids_sort_by_time_and_do_not_collide() -> None:
    first, second = new_snapshot_id(TAKEN), new_snapshot_id(TAKEN)
    assert first != second and first.startswith("snap-20260314T020509042000Z-")
    assert new_snapshot_id(TAKEN + timedelta(seconds=1)) > first
