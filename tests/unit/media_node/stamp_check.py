"""Checking a burned-in stamp without OCR (shared by the unit and integration tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from media_node.snapshot import band_height, burn_in, stamp_text

VIETNAM = timezone(timedelta(hours=7))


def text_mismatch(picture: np.ndarray, text: str) -> int:
    """Pixels of the bottom band that contradict ``text`` drawn alone (a cheap, exact stand-in for OCR).

    The band darkens the picture to a quarter, so only burned-in text is bright there. Compared are
    the glyphs' cores (must be bright) and the pixels well away from any glyph (must be dark); the
    anti-aliased fringe, which depends on the background, is left out."""
    band = band_height(picture.shape[0])
    reference = cv2.cvtColor(burn_in(np.zeros_like(picture), text)[-band:], cv2.COLOR_BGR2GRAY)
    bright = cv2.cvtColor(picture[-band:], cv2.COLOR_BGR2GRAY) > 128
    core = reference > 200
    clear = cv2.dilate(reference, np.ones((3, 3), np.uint8)) == 0
    return int(np.count_nonzero(core & ~bright) + np.count_nonzero(clear & bright))


def assert_stamped_with(
    picture: np.ndarray, text: str, call_id: str, taken: datetime, zone: timezone = VIETNAM
) -> None:
    """The band shows ``text``, and not the stamp of a second, minutes, hours or a day later."""
    assert text_mismatch(picture, text) <= 3
    for shift in (timedelta(seconds=1), timedelta(minutes=7), timedelta(hours=2), timedelta(days=1)):
        assert text_mismatch(picture, stamp_text(call_id, taken + shift, zone)) > 15, shift
