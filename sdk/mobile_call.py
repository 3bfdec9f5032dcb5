"""The mobile side by hand (``python -m sdk mobile --call``): a whole call with a camera, so anyone can
try the agent page without writing code.

``place_call`` asks for a call (``call.request``), connects its media to the node at once (the caller
sees the waiting media, then the agent's camera), and waits until the call ends (``call.ended``), then
for the decision (``call.result``) a while. ``answer_callbacks`` answers every call-back
that rings at the device (registered with ``device.register``) (``callback.accept``, then media) until
its time is up. Every server message is printed by the client's ``on_message`` (``sdk.cli``); what
happens on this side is printed as one JSON line with an ``sdk`` key: ``media_connected``,
``video_received`` (the first frames of the other side), ``media_closed`` (frames and audio received),
``callback_answered``, ``no_result``.

Cameras (``camera``): ``face`` (a real face, built in: ``sdk.media.FaceVideo``), ``blank`` (a grey wall:
the agent's snapshot finds no face) or the path of a video file (anything PyAV opens; looped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sdk.client import VkycClient
from sdk.media import (
    BlankVideo,
    EncodedAudioTrack,
    EncodedVideoTrack,
    FaceVideo,
    MediaPeer,
    Tone,
    VideoSource,
    connect_media,
)

Emit = Callable[[dict[str, Any]], None]
MAX_FILE_FRAMES = 450  # 30 s at 15 fps: a longer file is cut (it loops anyway)


class FileVideo:
    """The frames of a video file, decoded once (up to ``MAX_FILE_FRAMES``) and looped, scaled to the
    size the encoder asks for."""

    def __init__(self, path: Path, max_frames: int = MAX_FILE_FRAMES) -> None:
        import av

        self._frames: list[np.ndarray] = []
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                self._frames.append(frame.to_ndarray(format="rgb24"))
                if len(self._frames) >= max_frames:
                    break
        if not self._frames:
            raise ValueError(f"{path}: no video frame")

    def frame(self, index: int, width: int, height: int) -> np.ndarray:
        import cv2

        picture = self._frames[index % len(self._frames)]
        if picture.shape[:2] == (height, width):
            return picture
        resized: np.ndarray = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
        return resized


def camera(spec: str) -> VideoSource:
    """``face``, ``blank`` or a video file's path (``ValueError`` when it does not exist or decode)."""
    if spec == "face":
        return FaceVideo()
    if spec == "blank":
        return BlankVideo()
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"--camera: {spec!r} is not face, blank or a video file")
    return FileVideo(path)


async def _with_media(client: VkycClient, call_id: str, video: VideoSource, emit: Emit) -> MediaPeer:
    peer = MediaPeer(video=EncodedVideoTrack(video), audio=EncodedAudioTrack(Tone(440)))
    await connect_media(client, call_id, peer)
    emit({"sdk": "media_connected", "call_id": call_id})

    async def first_frames() -> None:
        with contextlib.suppress(TimeoutError):
            await peer.wait_frames("video", 1, timeout=3600)
            emit({"sdk": "video_received", "call_id": call_id})

    peer.guards.append(asyncio.get_running_loop().create_task(first_frames()))
    return peer


async def _until_ended(client: VkycClient, call_id: str, peer: MediaPeer, emit: Emit) -> Any:
    while True:
        ended = await client.next_push("call.ended", timeout=3600)
        if getattr(ended, "call_id", None) == call_id:
            break
    received = {kind: peer.received[kind].frames for kind in ("video", "audio")}
    await peer.close()
    emit({"sdk": "media_closed", "call_id": call_id, "frames_received": received})
    return ended


async def place_call(client: VkycClient, video: VideoSource, emit: Emit, *, result_wait_s: float) -> str:
    """One whole call of the session's dossier; its id once it ended and its result came (or did not
    within ``result_wait_s``). Raises ``ServerError`` when the call is refused (e.g. not eligible)."""
    reply = await client.request("call.request")
    call_id = str(getattr(reply, "call_id", ""))
    peer = await _with_media(client, call_id, video, emit)
    await _until_ended(client, call_id, peer, emit)
    try:
        await client.next_push("call.result", timeout=result_wait_s)
    except TimeoutError:
        emit({"sdk": "no_result", "call_id": call_id, "waited_s": result_wait_s})
    return call_id


async def answer_callbacks(
    client: VkycClient, video: VideoSource, emit: Emit, *, seconds: float | None
) -> int:
    """Answer every call-back to this (registered: ``device.register``) device until ``seconds`` (None:
    until cancelled); how many were answered."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    answered = 0
    while deadline is None or loop.time() < deadline:
        remaining = 3600.0 if deadline is None else deadline - loop.time()
        try:
            incoming = await client.next_push("callback.incoming", timeout=max(0.1, remaining))
        except TimeoutError:
            continue
        call_id = str(getattr(incoming, "call_id", ""))
        await client.request("callback.accept", call_id=call_id)
        emit({"sdk": "callback_answered", "call_id": call_id})
        peer = await _with_media(client, call_id, video, emit)
        await _until_ended(client, call_id, peer, emit)
        answered += 1
    return answered
