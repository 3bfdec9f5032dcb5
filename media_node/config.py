"""The media node's settings: one frozen dataclass, read from the environment once.

| variable | default | what |
|---|---|---|
| ``VKYC_MEDIA_NODE_ID`` | ``media-<host>-<pid>`` | the node's id (``run`` needs it: its key is bound to it) |
| ``VKYC_MEDIA_CAPACITY`` | 8 | calls this process carries before refusing (``MEDIA_NODE_FULL``) |
| ``VKYC_MEDIA_CHUNK_S`` | 2 | seconds of recording per part uploaded during the call |
| ``VKYC_MEDIA_MAX_VIDEO_BPS`` | 1000000 | cap on the video bitrate asked of each sender (REMB) |
| ``VKYC_MEDIA_LOW_RENDITION_BPS`` | 400000 | below this downlink estimate, waiting media is sent at 320x240 |
| ``VKYC_MEDIA_SNAPSHOT_TIMEOUT_S`` | 3 | how long a snapshot waits for the customer's key frame |
| ``VKYC_MEDIA_UTC_OFFSET`` | ``+07:00`` | the time zone burned into snapshots (Vietnam) |
| ``VKYC_MEDIA_ICE_SERVERS`` | none | STUN/TURN: JSON list of ``{"urls", "username", "credential"}`` |
| ``VKYC_MEDIA_KEY_PREFIX`` | ``calls/`` | S3 prefix of per-call media (signaling accepts only ``calls/``) |
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta, timezone


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def _offset(text: str) -> timezone:
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text.strip())
    if not match:
        raise ValueError(f"UTC offset must look like +07:00, got {text!r}")
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


@dataclass(frozen=True)
class NodeConfig:
    node_id: str = field(default_factory=lambda: f"media-{socket.gethostname()}-{os.getpid()}")
    capacity: int = 8
    chunk_seconds: float = 2.0
    max_video_bitrate_bps: int = 1_000_000
    low_rendition_below_bps: int = 400_000
    snapshot_timeout_s: float = 3.0
    snapshot_zone: timezone = field(default_factory=lambda: _offset("+07:00"))
    ice_servers: tuple[IceServer, ...] = ()
    key_prefix: str = "calls/"

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if not 0.2 <= self.chunk_seconds <= 60:
            raise ValueError("chunk_seconds must be within 0.2..60")
        if not self.key_prefix.endswith("/"):
            raise ValueError("key_prefix must end with /")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NodeConfig:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "VKYC_MEDIA_NODE_ID" in env:
            values["node_id"] = env["VKYC_MEDIA_NODE_ID"]
        if "VKYC_MEDIA_CAPACITY" in env:
            values["capacity"] = int(env["VKYC_MEDIA_CAPACITY"])
        if "VKYC_MEDIA_CHUNK_S" in env:
            values["chunk_seconds"] = float(env["VKYC_MEDIA_CHUNK_S"])
        if "VKYC_MEDIA_MAX_VIDEO_BPS" in env:
            values["max_video_bitrate_bps"] = int(env["VKYC_MEDIA_MAX_VIDEO_BPS"])
        if "VKYC_MEDIA_LOW_RENDITION_BPS" in env:
            values["low_rendition_below_bps"] = int(env["VKYC_MEDIA_LOW_RENDITION_BPS"])
        if "VKYC_MEDIA_SNAPSHOT_TIMEOUT_S" in env:
            values["snapshot_timeout_s"] = float(env["VKYC_MEDIA_SNAPSHOT_TIMEOUT_S"])
        if "VKYC_MEDIA_UTC_OFFSET" in env:
            values["snapshot_zone"] = _offset(env["VKYC_MEDIA_UTC_OFFSET"])
        if env.get("VKYC_MEDIA_ICE_SERVERS"):
            values["ice_servers"] = tuple(
                IceServer(
                    urls=tuple([s["urls"]] if isinstance(s["urls"], str) else s["urls"]),
                    username=s.get("username"),
                    credential=s.get("credential"),
                )
                for s in json.loads(env["VKYC_MEDIA_ICE_SERVERS"])
            )
        if "VKYC_MEDIA_KEY_PREFIX" in env:
            values["key_prefix"] = env["VKYC_MEDIA_KEY_PREFIX"]
        return cls(**values)  # type: ignore[arg-type]


CALL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class KeyLayout:
    """Where each file of a call lives in the bucket (one prefix per call)."""

    prefix: str = "calls/"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}{call_id}/"

    def parts_prefix(self, call_id: str) -> str:
        return f"{self.call(call_id)}recording/parts/"

    def part(self, call_id: str, seq: int) -> str:
        return f"{self.parts_prefix(call_id)}{seq:08d}.vkr"

    def recording(self, call_id: str) -> str:
        return f"{self.call(call_id)}recording.webm"

    def recording_info(self, call_id: str) -> str:
        return f"{self.call(call_id)}recording.json"

    def snapshot(self, call_id: str, snapshot_id: str) -> str:
        return f"{self.call(call_id)}snapshots/{snapshot_id}.jpg"
