"""Encoded media as the node moves it: whole encoded frames, never decoded on the relay path.

An ``EncodedFrame`` is one VP8 frame or one Opus packet as aiortc's jitter buffer re-assembled it
(RTP payload headers removed). VP8's first bytes say whether a frame is a key frame and, for key
frames, the picture size (RFC 6386 §9.1), which is all the relay and the recorder need.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000


class Kind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"

    @property
    def clock_rate(self) -> int:
        return VIDEO_CLOCK if self is Kind.VIDEO else AUDIO_CLOCK


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded frame. ``timestamp`` is in ``kind.clock_rate`` units, starting near 0 for each
    inbound stream (aiortc maps RTP timestamps so); ``arrival`` is ``time.monotonic()`` on receipt."""

    kind: Kind
    data: bytes
    timestamp: int
    keyframe: bool
    arrival: float


def vp8_is_keyframe(data: bytes) -> bool:
    """True if ``data`` is a VP8 key frame (bit 0 of the frame tag is 0 for key frames)."""
    return len(data) >= 10 and (data[0] & 0x01) == 0 and data[3:6] == b"\x9d\x01\x2a"


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 key frame, or None for an inter frame or a truncated one."""
    if not vp8_is_keyframe(data):
        return None
    width, height = struct.unpack_from("<HH", data, 6)
    # The top two bits of each are the upscaling mode, not part of the size.
    return width & 0x3FFF, height & 0x3FFF


def is_keyframe(kind: Kind, data: bytes) -> bool:
    """Audio packets are all independently decodable; video depends on the VP8 frame tag."""
    return True if kind is Kind.AUDIO else vp8_is_keyframe(data)
