"""Pre-encoded looping clips: encode once, replay the packets for every call at no encoding cost.

``encode_clip`` turns RGB frames (and optional PCM audio) into VP8 frames and 20 ms Opus packets.
Each video frame is encoded twice: in the normal stream (a key frame every ``gop`` frames) and as a
stand-alone key frame (``intra``), so a viewer who asks for a key frame (a new peer, a lost picture,
a rendition change) gets one at the very next frame instead of waiting for the next scheduled one.

``ClipCursor`` walks a clip forever: frame ``n`` of the loop is ``n % len``, and its timestamp keeps
growing (``n * 90000 / fps``), which is what ``MediaPlayer(loop=True)`` gets wrong (its timestamps
restart at each loop and the sender stalls). The cursor is pure (no clock): whoever paces it
(the waiting-media player, a test peer) decides when the next frame is due.
"""

from __future__ import annotations

import fractions
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
from av.video.frame import PictureType

from media_node.frames import AUDIO_CLOCK, VIDEO_CLOCK, vp8_is_keyframe

AUDIO_FRAME_SAMPLES = 960  # 20 ms at 48 kHz


@dataclass(frozen=True)
class ClipFrame:
    data: bytes
    intra: bytes
    keyframe: bool


@dataclass(frozen=True)
class EncodedClip:
    """A loop of VP8 frames at ``fps`` and 20 ms Opus packets (``audio`` may be empty)."""

    width: int
    height: int
    fps: int
    video: tuple[ClipFrame, ...]
    audio: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.video:
            raise ValueError("a clip needs at least one video frame")
        if not self.video[0].keyframe:
            raise ValueError("a clip must start with a key frame (it loops back to it)")

    @property
    def duration_s(self) -> float:
        return len(self.video) / self.fps

    @property
    def size_bytes(self) -> int:
        return sum(len(f.data) + len(f.intra) for f in self.video) + sum(len(a) for a in self.audio)


def _vp8_encoder(width: int, height: int, fps: int, bitrate: int, gop: int) -> av.VideoCodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = gop
    codec.options = {
        # Offline encoding: quality over speed, no look-ahead (one packet per frame, in order).
        "deadline": "good",
        "cpu-used": "2",
        "lag-in-frames": "0",
        "auto-alt-ref": "0",
        "error-resilient": "1",
        "qmin": "4",
        "qmax": "48",
    }
    return codec


def _encode_video(
    frames: Sequence[np.ndarray], width: int, height: int, fps: int, bitrate: int, gop: int
) -> list[bytes]:
    codec = _vp8_encoder(width, height, fps, bitrate, gop)
    out: list[bytes] = []
    for index, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            width=width, height=height, format="yuv420p"
        )
        frame.pts = index
        if gop == 1:
            frame.pict_type = PictureType.I
        out.extend(bytes(p) for p in codec.encode(frame))
    out.extend(bytes(p) for p in codec.encode(None))
    if len(out) != len(frames):
        raise RuntimeError(f"VP8 encoder returned {len(out)} packets for {len(frames)} frames")
    return out


def encode_opus(pcm: np.ndarray, bitrate: int = 32_000) -> list[bytes]:
    """20 ms Opus packets of ``pcm``: int16, shape (samples, 2), 48 kHz stereo."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate = AUDIO_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    codec.options = {"application": "audio", "frame_duration": "20"}
    packets: list[bytes] = []
    whole = len(pcm) // AUDIO_FRAME_SAMPLES * AUDIO_FRAME_SAMPLES
    for start in range(0, whole, AUDIO_FRAME_SAMPLES):
        chunk = np.ascontiguousarray(pcm[start : start + AUDIO_FRAME_SAMPLES].reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = start
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    # The encoder's look-ahead adds a packet at the end: keep the loop exactly as long as the input.
    return packets[: whole // AUDIO_FRAME_SAMPLES]


def encode_clip(
    frames: Sequence[np.ndarray],
    *,
    fps: int,
    width: int,
    height: int,
    bitrate: int,
    gop: int,
    audio_pcm: np.ndarray | None = None,
    audio_bitrate: int = 32_000,
) -> EncodedClip:
    """Encode ``frames`` (RGB, any size: scaled to widthxheight) into a loopable clip."""
    normal = _encode_video(frames, width, height, fps, bitrate, gop)
    # Stand-alone key frames may be larger: give them the budget of a few frames.
    intra = _encode_video(frames, width, height, fps, bitrate * 3, 1)
    video = tuple(ClipFrame(d, i, vp8_is_keyframe(d)) for d, i in zip(normal, intra, strict=True))
    if not all(vp8_is_keyframe(f.intra) for f in video):
        raise RuntimeError("the intra encoder produced an inter frame")
    audio = tuple(encode_opus(audio_pcm, audio_bitrate)) if audio_pcm is not None else ()
    return EncodedClip(width, height, fps, video, audio)


class ClipCursor:
    """Where one viewer is in a looping clip. ``clip`` may be swapped (another rendition of the same
    length and rate): the next frame is then sent as a key frame of the new one."""

    def __init__(self, clip: EncodedClip) -> None:
        self.clip = clip
        self.video_index = 0  # frames sent so far (grows forever)
        self.audio_index = 0
        self._want_intra = True  # a new viewer starts on a key frame

    def request_keyframe(self) -> None:
        self._want_intra = True

    def switch(self, clip: EncodedClip) -> None:
        if clip is not self.clip:
            self.clip = clip
            self._want_intra = True

    def video_due_s(self) -> float:
        """When the next video frame is due, in seconds from the start of playback."""
        return self.video_index / self.clip.fps

    def audio_due_s(self) -> float | None:
        return self.audio_index * AUDIO_FRAME_SAMPLES / AUDIO_CLOCK if self.clip.audio else None

    def next_video(self) -> tuple[bytes, int, bool]:
        """(VP8 frame, timestamp at 90 kHz, is key frame) of the next frame, and advance."""
        frame = self.clip.video[self.video_index % len(self.clip.video)]
        timestamp = self.video_index * VIDEO_CLOCK // self.clip.fps
        self.video_index += 1
        if self._want_intra and not frame.keyframe:
            self._want_intra = False
            return frame.intra, timestamp, True
        self._want_intra = False
        return frame.data, timestamp, frame.keyframe

    def next_audio(self) -> tuple[bytes, int]:
        """(Opus packet, timestamp at 48 kHz) of the next 20 ms, and advance."""
        packet = self.clip.audio[self.audio_index % len(self.clip.audio)]
        timestamp = self.audio_index * AUDIO_FRAME_SAMPLES
        self.audio_index += 1
        return packet, timestamp

    def skip_to(self, seconds: float) -> None:
        """Jump forward (a player that fell far behind resumes at the present, not in a burst)."""
        video = int(seconds * self.clip.fps)
        if video > self.video_index:
            self.video_index = video
            self._want_intra = True
        audio = int(seconds * AUDIO_CLOCK / AUDIO_FRAME_SAMPLES)
        self.audio_index = max(self.audio_index, audio)
