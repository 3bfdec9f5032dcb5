"""Shared helpers for the media node's unit tests: real VP8/Opus packets, made once per session."""

from __future__ import annotations

import numpy as np
import pytest

from media_node.clip import EncodedClip, encode_clip
from media_node.waiting import WaitingMedia, default_waiting_media


def moving_frames(count: int, width: int = 160, height: int = 120) -> list[np.ndarray]:
    """Frames with a bright square moving across a gradient (so inter frames are not empty)."""
    frames = []
    for index in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = np.linspace(0, 200, width, dtype=np.uint8)[None, :]
        x = (index * 7) % (width - 20)
        frame[40:60, x : x + 20] = 255
        frames.append(frame)
    return frames


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 48_000)) / 48_000
    mono = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    return np.stack([mono, mono], axis=1)


@pytest.fixture(scope="session")
def small_clip() -> EncodedClip:
    """2 s at 15 fps, 160x120, a key frame every second, with audio."""
    return encode_clip(
        moving_frames(30), fps=15, width=160, height=120, bitrate=200_000, gop=15, audio_pcm=tone(2.0)
    )


@pytest.fixture(scope="session")
def waiting_media() -> WaitingMedia:
    return default_waiting_media()
