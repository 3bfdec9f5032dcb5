"""The media node's default waiting media, encoded once and handed to the node processes a test starts.

Encoding the default clip (``media_node.waiting.default_waiting_media``: VP8 at quality settings, two
renditions) costs about 16 s of CPU, and every node process pays it at start: on a loaded machine that
took minutes, past the tests' start timeouts. ``save(path)`` encodes it in this process (where it stays
cached for in-process engines) and writes it; a node started by ``python -m local.media_node_process``
with ``VKYC_LOCAL_WAITING_MEDIA=path`` loads it instead of encoding it. JSON with base64: loading a
file never runs code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

ENV = "VKYC_LOCAL_WAITING_MEDIA"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def save(path: Path) -> Path:
    """Encode the default waiting media (once per process) and write it to ``path``."""
    from media_node.waiting import default_waiting_media

    media = default_waiting_media()

    def clip(c: Any) -> dict[str, Any]:
        return {
            "width": c.width,
            "height": c.height,
            "fps": c.fps,
            "video": [[_b64(f.data), _b64(f.intra), f.keyframe] for f in c.video],
            "audio": [_b64(a) for a in c.audio],
        }

    path.write_text(json.dumps({"name": media.name, "high": clip(media.high), "low": clip(media.low)}))
    return path


def install(path: Path) -> None:
    """Make this process's ``default_waiting_media()`` return what ``save`` wrote to ``path``."""
    from media_node import waiting
    from media_node.clip import ClipFrame, EncodedClip

    data = json.loads(path.read_text())

    def clip(c: dict[str, Any]) -> EncodedClip:
        video = tuple(ClipFrame(base64.b64decode(d), base64.b64decode(i), bool(k)) for d, i, k in c["video"])
        audio = tuple(base64.b64decode(a) for a in c["audio"])
        return EncodedClip(int(c["width"]), int(c["height"]), int(c["fps"]), video, audio)

    media = waiting.WaitingMedia(str(data["name"]), clip(data["high"]), clip(data["low"]))
    # The library looks the function up in its module at each use (media_node.waiting).
    waiting.default_waiting_media = lambda: media  # type: ignore[assignment]
