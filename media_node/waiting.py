"""Waiting media: what the caller sees and hears while the call is queued or ringing.

* ``default_waiting_media()`` draws the project's own clip (4 s, seamless loop: a spinner, "Please
  wait" text, a soft two-note chime) and encodes it once, in two renditions: 640x480 and 320x240
  for slow links. Nothing is downloaded; encoding costs seconds of CPU (measured 2 to 17 s on the
  shared 2-core machine), so with ``VKYC_MEDIA_CACHE_DIR`` set the encoded clip is kept there and a
  node that starts again (the local supervisor's restart, a new container from an image built with
  it) loads it in milliseconds. The cache file is named after everything that shapes the clip (this
  module's and the encoder's source, PyAV's and OpenCV's versions): a change makes a new one.
* ``load_waiting_media(store, key)`` makes the same from any video file in S3 (a queue's own clip):
  decoded once with PyAV, resampled to 15 fps / 48 kHz, scaled and letterboxed, re-encoded.
* ``WaitingMediaLibrary`` caches both (one encoding per key per process, shared by every call).
* ``WaitingPlayer`` plays one clip to one caller at a steady rate (absolute schedule, so no drift and
  no stall at the loop point: timestamps keep growing), picking the rendition from the caller's
  downlink estimate at each key frame opportunity.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import os
import pickle
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from media_node import clip as clip_module
from media_node.clip import AUDIO_FRAME_SAMPLES, ClipCursor, EncodedClip, encode_clip
from media_node.errors import WaitingMediaInvalid
from media_node.frames import AUDIO_CLOCK, EncodedFrame, Kind
from media_node.storage import ObjectStore

log = logging.getLogger("vkyc.media.waiting")

FPS = 15
HIGH = (640, 480, 600_000)
LOW = (320, 240, 180_000)
MAX_SECONDS = 20.0


@dataclass(frozen=True)
class WaitingMedia:
    """One clip in two renditions of the same length and rate."""

    name: str
    high: EncodedClip
    low: EncodedClip

    def rendition(self, low: bool) -> EncodedClip:
        return self.low if low else self.high


def _encode_renditions(name: str, frames: list[np.ndarray], pcm: np.ndarray) -> WaitingMedia:
    clips = [
        encode_clip(frames, fps=FPS, width=w, height=h, bitrate=b, gop=FPS, audio_pcm=pcm)
        for (w, h, b) in (HIGH, LOW)
    ]
    return WaitingMedia(name, clips[0], clips[1])


def draw_default_frames(seconds: int = 4, width: int = 640, height: int = 480) -> list[np.ndarray]:
    """The default clip's frames (RGB): dark blue background, a 12-dot spinner that turns once per
    clip (so the loop is seamless), and the waiting message."""
    count = seconds * FPS
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    base = np.empty((height, width, 3), np.uint8)
    base[..., 0] = (10 + 20 * ys).astype(np.uint8)  # R
    base[..., 1] = (25 + 40 * ys).astype(np.uint8)  # G
    base[..., 2] = (70 + 60 * ys).astype(np.uint8)  # B
    cv2.putText(
        base, "Please wait", (190, 360), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (235, 235, 245), 2, cv2.LINE_AA
    )
    cv2.putText(
        base,
        "Connecting you to an agent...",
        (140, 405),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8,
        (190, 200, 225),
        1,
        cv2.LINE_AA,
    )
    frames = []
    cx, cy, radius = width // 2, 190, 70
    for index in range(count):
        frame = base.copy()
        head = index / count * 12  # the bright dot goes round once per loop
        for dot in range(12):
            angle = 2 * math.pi * dot / 12 - math.pi / 2
            lag = (head - dot) % 12
            level = max(0.15, 1.0 - lag / 6)
            colour = tuple(int(c * level) for c in (120, 200, 255))
            center = (int(cx + radius * math.cos(angle)), int(cy + radius * math.sin(angle)))
            cv2.circle(frame, center, 11, colour, -1, cv2.LINE_AA)
        frames.append(frame)
    return frames


def default_chime(seconds: int = 4) -> np.ndarray:
    """Two soft notes per loop (C5 then E5, decaying), int16 stereo at 48 kHz."""
    t = np.arange(seconds * AUDIO_CLOCK) / AUDIO_CLOCK
    wave = np.zeros_like(t)
    for start, freq in ((0.0, 523.25), (seconds / 2, 659.25)):
        local = t - start
        on = local >= 0
        wave[on] += np.sin(2 * np.pi * freq * local[on]) * np.exp(-3.0 * local[on])
    mono = (wave * 0.18 * 32767).astype(np.int16)
    return np.stack([mono, mono], axis=1)


CACHE_VARIABLE = "VKYC_MEDIA_CACHE_DIR"


@functools.lru_cache(maxsize=1)
def default_waiting_media() -> WaitingMedia:
    """The project's own waiting clip (CPU-bound: run it off the event loop). Made once per process,
    and loaded from ``VKYC_MEDIA_CACHE_DIR`` when a previous process left it there; every engine and
    call shares the same immutable packets."""
    cache = os.environ.get(CACHE_VARIABLE)
    return cached_default_waiting_media(Path(cache)) if cache else make_default_waiting_media()


def make_default_waiting_media() -> WaitingMedia:
    return _encode_renditions("default", draw_default_frames(), default_chime())


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{av.__version__}|{cv2.__version__}".encode())
    for module in (__file__, clip_module.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def cached_default_waiting_media(directory: Path) -> WaitingMedia:
    """The default clip from ``directory`` if it was made there by this very code, else made and left
    there (written whole, then renamed: a reader never sees half of it)."""
    path = directory / f"default-waiting-{_fingerprint()}.pickle"
    with contextlib.suppress(OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
        media = pickle.loads(path.read_bytes())  # written by this function, below
        if isinstance(media, WaitingMedia):
            return media
    media = make_default_waiting_media()
    with contextlib.suppress(OSError):  # a read-only cache still gives the clip
        directory.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_bytes(pickle.dumps(media, protocol=pickle.HIGHEST_PROTOCOL))
        scratch.replace(path)
    return media


def _letterbox(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(2, int(w * scale)), max(2, int(h * scale))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


def decode_waiting_file(data: bytes, name: str) -> WaitingMedia:
    """Re-encode any video file PyAV can read (first 20 s) as waiting media; raises
    ``WaitingMediaInvalid`` if it has no decodable video."""
    import io

    frames: list[np.ndarray] = []
    pcm_parts: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise WaitingMediaInvalid(f"{name} has no video stream")
            next_due = 0.0
            for frame in container.decode(video=0):
                if frame.time is None or frame.time > MAX_SECONDS:
                    break
                while frame.time >= next_due and len(frames) < MAX_SECONDS * FPS:
                    frames.append(_letterbox(frame.to_ndarray(format="rgb24"), *HIGH[:2]))
                    next_due = len(frames) / FPS
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.streams.audio:
                resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_CLOCK)
                for aframe in container.decode(audio=0):
                    if aframe.time is not None and aframe.time > MAX_SECONDS:
                        break
                    for out in resampler.resample(aframe):
                        pcm_parts.append(out.to_ndarray().reshape(-1, 2))
    except WaitingMediaInvalid:
        raise
    except (av.FFmpegError, ValueError) as exc:
        raise WaitingMediaInvalid(f"{name} cannot be decoded: {exc}") from exc
    if len(frames) < FPS:  # under a second is not a loop anyone should hear
        raise WaitingMediaInvalid(f"{name} has less than one second of video")
    samples = len(frames) * AUDIO_CLOCK // FPS
    pcm = np.concatenate(pcm_parts) if pcm_parts else np.zeros((0, 2), np.int16)
    if len(pcm) < samples:
        pcm = np.concatenate([pcm, np.zeros((samples - len(pcm), 2), np.int16)])
    return _encode_renditions(name, frames, pcm[:samples])


class WaitingMediaLibrary:
    """Encoded waiting media by S3 key (``None`` = the default clip), encoded once per process."""

    def __init__(self, store: ObjectStore, executor: Executor | None = None, max_entries: int = 8) -> None:
        self._store = store
        self._executor = executor
        self._max = max_entries
        self._default: WaitingMedia | None = None
        self._cache: OrderedDict[str, WaitingMedia] = OrderedDict()
        self._lock = asyncio.Lock()

    async def get(self, key: str | None) -> WaitingMedia:
        """The media for ``key``; raises ``WaitingMediaInvalid`` if the object is missing or bad."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            if key is None:
                if self._default is None:
                    self._default = await loop.run_in_executor(self._executor, default_waiting_media)
                return self._default
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            try:
                data = await loop.run_in_executor(self._executor, self._store.get, key)
            except KeyError:
                raise WaitingMediaInvalid(f"s3://{self._store.bucket}/{key} does not exist") from None
            media = await loop.run_in_executor(self._executor, decode_waiting_file, data, key)
            self._cache[key] = media
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
            return media


class WaitingPlayer:
    """Plays waiting media to one caller: ``sink(frame)`` gets each encoded frame when it is due.

    Steady rate: frame ``n`` is due at ``start + n / fps`` on the loop's clock, whatever the previous
    frames cost, so the rate never drifts. A player more than a second late (a stalled loop) skips to
    the present with a key frame instead of sending a burst. ``use_low()`` is asked at each second of
    the clip whether the low rendition suits the caller's link.
    """

    def __init__(
        self,
        media: WaitingMedia,
        sink: Callable[[EncodedFrame], None],
        use_low: Callable[[], bool] = lambda: False,
    ) -> None:
        self.media = media
        self._sink = sink
        self._use_low = use_low
        self._cursor = ClipCursor(media.rendition(use_low()))
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0
        self.late_skips = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="waiting-player")

    def request_keyframe(self) -> None:
        self._cursor.request_keyframe()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        cursor = self._cursor
        while True:
            now = loop.time() - start
            if now - cursor.video_due_s() > 1.0:
                self.late_skips += 1
                cursor.skip_to(now)
            while cursor.video_due_s() <= now:
                if cursor.video_index % cursor.clip.fps == 0:
                    cursor.switch(self.media.rendition(self._use_low()))
                data, ts, key = cursor.next_video()
                self._emit(EncodedFrame(Kind.VIDEO, data, ts, key, time.monotonic()))
            audio_due = cursor.audio_due_s()
            while audio_due is not None and audio_due <= now:
                data, ts = cursor.next_audio()
                self._emit(EncodedFrame(Kind.AUDIO, data, ts, True, time.monotonic()))
                audio_due = cursor.audio_due_s()
            wake = cursor.video_due_s() if audio_due is None else min(cursor.video_due_s(), audio_due)
            await asyncio.sleep(max(0.0, wake - (loop.time() - start)))

    def _emit(self, frame: EncodedFrame) -> None:
        self.frames_sent += 1
        try:
            self._sink(frame)
        except Exception:  # a failing sink must not stop the waiting media
            log.exception("waiting media sink failed")


assert AUDIO_FRAME_SAMPLES * 50 == AUDIO_CLOCK  # 20 ms packets
