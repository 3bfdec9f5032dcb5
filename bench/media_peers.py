"""What the media tests and benchmarks need to drive a call: peers for each party, waiting on a
condition, and telling the frames apart (the node's waiting media, the agent's camera, the caller's face)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import av

from media_node.engine import MediaEngine
from media_node.storage import S3Store
from sdk.media import (
    BlankVideo,
    EncodedAudioTrack,
    EncodedVideoTrack,
    FaceVideo,
    MediaPeer,
    SyntheticVideo,
    Tone,
    VideoSource,
)

T = TypeVar("T")


async def within(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T | None:
    """The first truthy value of ``predicate``, polled without blocking the loop; None after ``timeout``
    s (generous: a loaded machine delays media by seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(interval)


async def until(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """``within``, or AssertionError when ``predicate`` was not met in ``timeout`` s."""
    value = await within(predicate, timeout, interval)
    if value is None:
        raise AssertionError(f"not met within {timeout} s")
    return value


def classify(frame: av.VideoFrame) -> str:
    """``waiting`` (the node's dark-blue clip), ``agent`` (the bright green synthetic camera) or
    ``customer`` (anything else: the face video)."""
    small = frame.reformat(width=64, height=48, format="rgb24").to_ndarray()
    red, green, blue = (float(v) for v in small.reshape(-1, 3).mean(axis=0))
    if blue > green > red and blue < 160:
        return "waiting"
    if green > 150 and green > red + 50 and green > blue + 50:
        return "agent"
    return "customer"


@dataclass
class FrameLog:
    """Every decoded video frame's class, with its arrival time (monotonic)."""

    entries: list[tuple[float, str]] = field(default_factory=list)

    def __call__(self, frame: av.VideoFrame) -> None:
        self.entries.append((time.monotonic(), classify(frame)))

    def classes(self, since: float = 0.0, until: float = float("inf")) -> list[str]:
        return [c for t, c in self.entries if since <= t < until]

    def first(self, kind: str, since: float = 0.0) -> float | None:
        return next((t for t, c in self.entries if c == kind and t >= since), None)


def mobile_peer(video: VideoSource | None = None, log: FrameLog | None = None) -> MediaPeer:
    return MediaPeer(
        video=EncodedVideoTrack(video or FaceVideo()), audio=EncodedAudioTrack(Tone(440)), on_video_frame=log
    )


def agent_peer(log: FrameLog | None = None) -> MediaPeer:
    return MediaPeer(
        video=EncodedVideoTrack(SyntheticVideo()), audio=EncodedAudioTrack(Tone(660)), on_video_frame=log
    )


def blank_mobile_peer() -> MediaPeer:
    return mobile_peer(BlankVideo())


async def connect(engine: MediaEngine, call_id: str, party: str, peer: MediaPeer) -> None:
    """Offer → engine → answer, as the signaling wiring will do; waits until the link is up."""
    answer = await engine.attach(call_id, party, await peer.offer())
    await peer.accept(answer)
    await peer.wait_connected(30)


@contextmanager
def store_on_moto(bucket_prefix: str) -> Iterator[S3Store]:
    """A moto server in this process and a fresh bucket on it, named in the environment
    (``AWS_ENDPOINT_URL``, ``VKYC_BUCKET``) for the node processes a benchmark starts."""
    from local.moto_server import MotoServer, ensure_fake_credentials

    ensure_fake_credentials()
    moto = MotoServer(port=0)
    moto.start()
    try:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        os.environ["VKYC_BUCKET"] = f"{bucket_prefix}-{uuid.uuid4().hex[:6]}"
        store = S3Store.from_env()
        store.ensure_bucket()
        yield store
    finally:
        moto.stop()
