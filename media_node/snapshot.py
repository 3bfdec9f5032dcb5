"""The decision snapshot (seed 002 step 15): one full frame of the customer, time-stamped, checked.

The engine hands over the next VP8 key frame of the customer's video (it asks the phone for one), and
``make_snapshot`` (CPU-bound; run it in a thread):

1. decodes that key frame alone with a fresh decoder: a key frame is a complete picture, so nothing
   else of the stream is needed and nothing is decoded on the relay path;
2. looks for a frontal face with OpenCV's Haar cascade (``opencv-python-headless<5``: 5.x dropped
   the cascades) on the untouched picture, and measures sharpness as the variance of the Laplacian
   of the grey picture (higher = sharper; below ~50 on 640x480 is visibly blurred);
3. burns the date, time (with its UTC offset) and call id into a band at the bottom of the picture
   (two lines, as large as the width allows);
4. encodes a JPEG carrying the same text in a comment segment (``read_jpeg_comment``), so a program
   can read what a person reads.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timezone

import av
import cv2
import numpy as np

from media_node.errors import SnapshotFailed

JPEG_QUALITY = 92
BAND_HEIGHT_RATIO = 0.15
# Below this width the stamp's digits would be a few pixels tall: the stamped JPEG is enlarged to it
# (face box, width and height stay those of the frame as received).
MIN_STAMPED_WIDTH = 640
FONT = cv2.FONT_HERSHEY_SIMPLEX

_cascades = threading.local()


@dataclass(frozen=True)
class FaceBox:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Analysis:
    face_found: bool
    face_box: FaceBox | None
    sharpness: float
    width: int
    height: int


@dataclass(frozen=True)
class SnapshotResult:
    """What the agent page needs: warn "no frontal face" when ``face_found`` is false."""

    snapshot_id: str
    key: str
    face_found: bool
    face_box: FaceBox | None
    sharpness: float
    taken_at: datetime
    width: int
    height: int
    size: int

    def to_json(self) -> dict[str, object]:
        box = self.face_box
        return {
            "snapshot_id": self.snapshot_id,
            "key": self.key,
            "face_found": self.face_found,
            "face_box": None if box is None else [box.x, box.y, box.width, box.height],
            "sharpness": round(self.sharpness, 1),
            "taken_at": self.taken_at.isoformat(),
            "width": self.width,
            "height": self.height,
            "size": self.size,
        }


def new_snapshot_id(taken_at: datetime) -> str:
    return f"snap-{taken_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def decode_keyframe(data: bytes) -> np.ndarray:
    """The picture (BGR) of one VP8 key frame; ``SnapshotFailed`` if it does not decode."""
    try:
        decoder = av.CodecContext.create("libvpx", "r")
        frames = decoder.decode(av.Packet(data))
        frames += decoder.decode(None)
    except av.FFmpegError as exc:
        raise SnapshotFailed(f"the key frame does not decode: {exc}") from exc
    if not frames:
        raise SnapshotFailed("the key frame decoded to no picture")
    frame = frames[0]
    assert isinstance(frame, av.VideoFrame)
    return frame.to_ndarray(format="bgr24")


def _cascade() -> cv2.CascadeClassifier:
    # One classifier per thread: detectMultiScale is not documented as thread-safe.
    cascade = getattr(_cascades, "frontal", None)
    if cascade is None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path} (opencv-python-headless<5 ships it)")
        _cascades.frontal = cascade
    return cascade


def analyse(bgr: np.ndarray) -> Analysis:
    """Largest frontal face (if any) and sharpness of a BGR picture."""
    height, width = bgr.shape[:2]
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    smallest = max(24, min(width, height) // 10)  # a face under a tenth of the frame is not usable
    faces = _cascade().detectMultiScale(
        cv2.equalizeHist(grey), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    box = None
    if len(faces):
        x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3]))
        box = FaceBox(int(x), int(y), int(w), int(h))
    return Analysis(box is not None, box, sharp, width, height)


def stamp_text(call_id: str, taken_at: datetime, zone: timezone) -> str:
    """The burned-in line, e.g. ``2026-01-01 07:30:15.120 UTC+07:00 | call C-1``."""
    local = taken_at.astimezone(zone)
    offset = local.strftime("%z")
    millis = local.microsecond // 1000
    return f"{local:%Y-%m-%d %H:%M:%S}.{millis:03d} UTC{offset[:3]}:{offset[3:]} | call {call_id}"


def band_height(picture_height: int) -> int:
    return max(18, int(picture_height * BAND_HEIGHT_RATIO))


def legible_size(bgr: np.ndarray) -> np.ndarray:
    """``bgr`` enlarged to ``MIN_STAMPED_WIDTH`` when narrower, so a low-resolution frame still gets a
    stamp an auditor can read."""
    height, width = bgr.shape[:2]
    if width >= MIN_STAMPED_WIDTH:
        return bgr
    factor = MIN_STAMPED_WIDTH / width
    return cv2.resize(bgr, (MIN_STAMPED_WIDTH, round(height * factor)), interpolation=cv2.INTER_CUBIC)


def burn_in(bgr: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``bgr`` with ``text`` in white on a dark band along the bottom edge; each
    ``" | "``-separated part on its own line (date and time, then the call), as large as fits."""
    out = bgr.copy()
    height, width = out.shape[:2]
    band = band_height(height)
    out[height - band :, :] = (out[height - band :, :] * 0.25).astype(np.uint8)
    lines = text.split(" | ")
    line_height = band / len(lines)
    scale = line_height / 34.0
    widest = max(cv2.getTextSize(line, FONT, scale, 1)[0][0] for line in lines)
    if widest > width - 8:  # long call ids: shrink to fit
        scale *= (width - 8) / widest
    thickness = max(1, round(scale * 2))
    for index, line in enumerate(lines):
        baseline_y = height - band + int(line_height * (index + 0.78))
        cv2.putText(out, line, (4, baseline_y), FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def encode_jpeg(bgr: np.ndarray, comment: str, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes with ``comment`` in a COM segment right after SOI."""
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SnapshotFailed("JPEG encoding failed")
    raw = encoded.tobytes()
    text = comment.encode("utf-8")[:65000]
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return raw[:2] + segment + raw[2:]


def read_jpeg_comment(jpeg: bytes) -> str | None:
    """The first COM segment of a JPEG (as ``encode_jpeg`` writes it), or None."""
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if marker == 0xFE:
            return jpeg[pos + 4 : pos + 2 + length].decode("utf-8", "replace")
        if marker == 0xDA:  # start of scan: no more headers
            return None
        pos += 2 + length
    return None


def make_snapshot(
    keyframe: bytes, call_id: str, taken_at: datetime, zone: timezone
) -> tuple[bytes, Analysis, str]:
    """(JPEG, analysis, burned-in text) of one key frame. Blocking CPU work: run it in a thread."""
    picture = decode_keyframe(keyframe)
    analysis = analyse(picture)
    text = stamp_text(call_id, taken_at, zone)
    comment = f"vkyc snapshot | {text} | taken_at={taken_at.astimezone(UTC).isoformat()}"
    return encode_jpeg(burn_in(legible_size(picture), text), comment), analysis, text
