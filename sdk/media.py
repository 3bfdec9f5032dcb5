"""Media for the reference SDK: an aiortc peer that a mobile or agent client connects to a media node.

The node answers one WebRTC offer per party and relays VP8 video and Opus audio. ``MediaPeer`` is
the client side: it sends a video and an audio track, receives the other party's, and counts what
arrives (frames, frame rate, picture size) so tests and benchmarks can tell media flows::

    peer = MediaPeer(video=EncodedVideoTrack(FaceVideo()), audio=EncodedAudioTrack(Tone(440)))
    answer = await node_answer(await peer.offer())        # over signaling, in production
    await peer.accept(answer)
    await peer.wait_frames("video", 30)
    print(peer.received["video"].fps(), peer.received["video"].size)

Sources: ``FaceVideo`` (a real face, scikit-image's ``astronaut``, moving slightly, as a phone held in
a hand), ``SyntheticVideo`` (a bright green pattern, for an agent), ``BlankVideo`` (grey, no face),
``Tone`` (a sine). ``EncodedVideoTrack`` / ``EncodedAudioTrack`` encode them here, off the event
loop, and adapt to the link: a key frame when the node asks (PLI), the bitrate the node allows
(REMB), and 320x240 instead of 640x480 when that bitrate is low. (aiortc's own encoder would do
neither below 250 kbit/s, too much for a 300 kbit/s link once audio is counted.)

``decode=False`` counts received frames without decoding them (benchmarks: decoding costs a core
fraction per stream); sizes then come from the VP8 key frame headers.

On a bad link an aiortc client needs more than aiortc gives it; this module adds, on the client
side, what the media node does on its side (``media_node.aiortc_hooks`` and ``congestion``, which the
SDK may not import: it depends on nothing of vkyc but the protocol), reaching aiortc's privates only
through ``sdk.aiortc_internals``:

- loss-tolerant rate control from receiver reports (a mobile link's ~10 % random loss alone holds
  the rate; more than 12 % lowers it by half the loss; under 4 % it grows 8 % per report);
- each lost packet resent at most every 0.2 s (aiortc repeats every missing packet in each NACK);
- a stalled jitter buffer unstuck (aiortc NACKs only on new gaps and waits 512 packets for a lost
  one): NACK again after 0.2 s without output, drop the hole and ask for a key frame after 1 s.

Dependencies: the ``sdk-media`` extra (aiortc, PyAV, numpy, OpenCV for drawing); ``FaceVideo`` also
needs scikit-image, which only the ``dev`` extra installs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import queue
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import av
import numpy as np
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.clock import current_datetime
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)
from av.video.frame import PictureType

from sdk import aiortc_internals as internals

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms


# -- sources -------------------------------------------------------------------------------------
class VideoSource(Protocol):
    def frame(self, index: int, width: int, height: int) -> np.ndarray:
        """Picture number ``index`` as RGB, shape (height, width, 3)."""
        ...


class FaceVideo:
    """scikit-image's ``astronaut`` portrait (a real face), framed like a selfie, swaying gently."""

    def __init__(self, fps: int = 15) -> None:
        from skimage import data

        self._image = np.ascontiguousarray(data.astronaut())  # 512x512 RGB, face in the upper left
        self._fps = fps

    def frame(self, index: int, width: int, height: int) -> np.ndarray:
        import cv2

        t = index / self._fps
        dx = 6 * math.sin(2 * math.pi * t / 3.0)
        dy = 4 * math.sin(2 * math.pi * t / 4.0)
        scale = (height / 300.0) * (1 + 0.02 * math.sin(2 * math.pi * t / 5.0))
        # Centre the face (around (190, 120) in the source) in the output picture.
        matrix = np.array(
            [[scale, 0, width / 2 - 190 * scale + dx], [0, scale, height / 2.4 - 120 * scale + dy]],
            dtype=np.float32,
        )
        warped: np.ndarray = cv2.warpAffine(
            self._image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return warped


class SyntheticVideo:
    """A bright green gradient with a moving magenta square and a frame counter (an agent's camera)."""

    def frame(self, index: int, width: int, height: int) -> np.ndarray:
        import cv2

        xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
        picture = np.zeros((height, width, 3), np.uint8)
        picture[..., 0] = (40 + 40 * xs).astype(np.uint8)
        picture[..., 1] = 200
        picture[..., 2] = (60 + 30 * xs).astype(np.uint8)
        side = height // 5
        x = int((width - side) * (0.5 + 0.5 * math.sin(index / 10)))
        y = int((height - side) * (0.5 + 0.5 * math.cos(index / 13)))
        picture[y : y + side, x : x + side] = (220, 40, 200)
        cv2.putText(picture, f"AGENT {index}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
        return picture


class BlankVideo:
    """A uniform grey picture: a camera pointed at a wall (no face)."""

    def frame(self, index: int, width: int, height: int) -> np.ndarray:
        return np.full((height, width, 3), 128, np.uint8)


class Tone:
    """A sine at ``frequency`` Hz, int16 stereo at 48 kHz."""

    def __init__(self, frequency: float = 440.0, level: float = 0.2) -> None:
        self.frequency = frequency
        self.level = level

    def pcm(self, start: int, count: int) -> np.ndarray:
        t = (np.arange(start, start + count) / AUDIO_RATE).astype(np.float64)
        mono = (np.sin(2 * math.pi * self.frequency * t) * self.level * 32767).astype(np.int16)
        return np.stack([mono, mono], axis=1)


@runtime_checkable
class AdaptiveVideo(Protocol):
    """A video track that acts on the node's feedback (``EncodedVideoTrack``, a benchmark's replay)."""

    def request_keyframe(self) -> None: ...

    def set_target_bitrate(self, bps: int) -> None: ...

    def report_loss(self, fraction_lost: float) -> None: ...


# -- encoding tracks -----------------------------------------------------------------------------
class _Paced:
    """Frame ``n`` is due at ``start + n * period``; a track more than a second late skips ahead."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.start: float | None = None
        self.index = 0

    async def next(self) -> int:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.index * self.period
        if now - due > 1.0:
            self.index = int((now - self.start) / self.period)
            due = self.start + self.index * self.period
        if due > now:
            await asyncio.sleep(due - now)
        index = self.index
        self.index += 1
        return index


class EncodedVideoTrack(MediaStreamTrack):
    """Encodes a ``VideoSource`` to VP8 here and hands aiortc packets. Adapts to the node's feedback:
    ``request_keyframe()`` (PLI) and ``set_target_bitrate()`` (REMB), going to ``low_size`` when the
    bitrate is under ``low_below_bps`` (and back above 1.5x that)."""

    kind = "video"

    def __init__(
        self,
        source: VideoSource,
        *,
        fps: int = 15,
        size: tuple[int, int] = (640, 480),
        low_size: tuple[int, int] = (320, 240),
        bitrate: int = 400_000,
        min_bitrate: int = 60_000,
        max_bitrate: int = 1_200_000,
        low_below_bps: int = 350_000,
    ) -> None:
        super().__init__()
        self.source = source
        self.fps = fps
        self.size = size
        self.low_size = low_size
        self.min_bitrate, self.max_bitrate = min_bitrate, max_bitrate
        self.low_below_bps = low_below_bps
        self.target_bitrate = bitrate
        self._remb_bps = max_bitrate
        self._loss_bps = bitrate
        self._loss_changed = -1e9
        self._paced = _Paced(1 / fps)
        self._codec: Any = None
        self._codec_key: tuple[int, int, int] | None = None
        self._codec_since = 0.0
        self._force_key = True
        self._low = False
        self.frames_encoded = 0
        self.keyframes_sent = 0

    @property
    def current_size(self) -> tuple[int, int]:
        return self.low_size if self._low else self.size

    def request_keyframe(self) -> None:
        self._force_key = True

    def set_target_bitrate(self, bps: int) -> None:
        """The receiver's bandwidth estimate (REMB): an upper bound."""
        self._remb_bps = bps
        self._retarget()

    def report_loss(self, fraction_lost: float) -> None:
        """A receiver report's loss fraction (0..1): see the module docstring."""
        now = time.monotonic()
        if now - self._loss_changed < 0.3:
            return
        if fraction_lost > 0.12:
            self._loss_bps = int(self._loss_bps * (1 - 0.5 * fraction_lost))
        elif fraction_lost < 0.04:
            self._loss_bps = int(self._loss_bps * 1.08)
        else:
            return
        self._loss_bps = max(self.min_bitrate, min(self.max_bitrate, self._loss_bps))
        self._loss_changed = now
        self._retarget()

    def _retarget(self) -> None:
        self.target_bitrate = max(self.min_bitrate, min(self.max_bitrate, self._remb_bps, self._loss_bps))
        if self.target_bitrate < self.low_below_bps:
            self._low = True
        elif self.target_bitrate > 1.5 * self.low_below_bps:
            self._low = False

    def _encoder(self) -> Any:
        width, height = self.current_size
        bitrate = self.target_bitrate
        now = time.monotonic()
        key = self._codec_key
        rebuild = key is None or (width, height) != key[:2]
        # libvpx cannot change its rate after opening: rebuild on a large change, at most every 2 s
        # (a rebuild costs a key frame, which is what a slow link can least afford).
        if (
            not rebuild
            and key is not None
            and abs(bitrate - key[2]) > 0.25 * key[2]
            and now - self._codec_since > 2
        ):
            rebuild = True
        if rebuild:
            codec = av.CodecContext.create("libvpx", "w")
            codec.width, codec.height = width, height
            codec.pix_fmt = "yuv420p"
            codec.time_base = VIDEO_TIME_BASE
            codec.bit_rate = bitrate
            codec.gop_size = 3000
            codec.options = {
                "deadline": "realtime",
                "cpu-used": "8",
                "lag-in-frames": "0",
                "error-resilient": "1",
                "minrate": str(bitrate // 2),
                "maxrate": str(bitrate),
                "bufsize": str(bitrate),
                "undershoot-pct": "95",
                "static-thresh": "1",
                "qmin": "4",
                "qmax": "56",
            }
            codec.thread_count = 1
            self._codec, self._codec_key, self._codec_since = codec, (width, height, bitrate), now
            self._force_key = True
        return self._codec

    def _encode(self, index: int) -> bytes:
        codec = self._encoder()
        width, height = self.current_size
        rgb = self.source.frame(index, width, height)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = index * 90_000 // self.fps
        if self._force_key:
            frame.pict_type = PictureType.I
            self._force_key = False
        data = b"".join(bytes(p) for p in codec.encode(frame))
        self.frames_encoded += 1
        if data and data[0] & 1 == 0:
            self.keyframes_sent += 1
        return data

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            index = await self._paced.next()
            data = await asyncio.get_running_loop().run_in_executor(None, self._encode, index)
            if data:
                packet = av.Packet(data)
                packet.pts = packet.dts = index * 90_000 // self.fps
                packet.time_base = VIDEO_TIME_BASE
                return packet


class EncodedAudioTrack(MediaStreamTrack):
    """Encodes a ``Tone`` (or anything with ``pcm(start, count)``) to 20 ms Opus packets."""

    kind = "audio"

    def __init__(self, source: Tone, bitrate: int = 24_000) -> None:
        super().__init__()
        self.source = source
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = AUDIO_RATE
        codec.layout = "stereo"
        codec.format = "s16"
        codec.bit_rate = bitrate
        codec.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._codec: Any = codec
        self._paced = _Paced(AUDIO_SAMPLES / AUDIO_RATE)
        self._pending: deque[bytes] = deque()

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            index = await self._paced.next()
            pcm = self.source.pcm(index * AUDIO_SAMPLES, AUDIO_SAMPLES)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = index * AUDIO_SAMPLES
            self._pending.extend(bytes(p) for p in self._codec.encode(frame))
            if self._pending:
                packet = av.Packet(self._pending.popleft())
                packet.pts = packet.dts = index * AUDIO_SAMPLES
                packet.time_base = fractions.Fraction(1, AUDIO_RATE)
                return packet


# -- receiving -----------------------------------------------------------------------------------
@dataclass
class Received:
    """What arrived of one kind. ``times`` keeps the last arrivals (monotonic) for the rate."""

    frames: int = 0
    size: tuple[int, int] | None = None
    times: deque[float] = field(default_factory=lambda: deque(maxlen=600))
    last_frame: Any = None  # the last decoded av.VideoFrame (decode=True only)
    sizes_seen: set[tuple[int, int]] = field(default_factory=set)

    def add(self, size: tuple[int, int] | None = None) -> None:
        self.frames += 1
        self.times.append(time.monotonic())
        if size is not None:
            self.size = size
            self.sizes_seen.add(size)

    def add_encoded(self, data: bytes, video: bool) -> None:
        """An encoded frame counted without decoding; VP8 key frames tell the picture size."""
        if not video:
            self.add()
            return
        size = self.size
        if len(data) >= 10 and data[0] & 1 == 0 and data[3:6] == b"\x9d\x01\x2a":  # RFC 6386 9.1
            width, height = struct.unpack_from("<HH", data, 6)
            size = (width & 0x3FFF, height & 0x3FFF)
        self.add(size)

    @property
    def last_at(self) -> float:
        return self.times[-1] if self.times else 0.0

    def fps(self, window_s: float = 2.0) -> float:
        """Frames per second over the last ``window_s`` seconds."""
        now = time.monotonic()
        return sum(1 for t in self.times if now - t <= window_s) / window_s

    def last_rgb(self) -> np.ndarray | None:
        frame = self.last_frame
        return None if frame is None else frame.to_ndarray(format="rgb24")


class _CountingTap:
    """Stands in for a receiver's decoder queue (aiortc 1.16): counts whole encoded frames instead of
    decoding them; the end-of-stream marker still reaches the decoder thread, which ends the track."""

    def __init__(self, received: Received, video: bool) -> None:
        self._received = received
        self._video = video
        self._decoder_side: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any) -> None:
        if item is None:
            self._decoder_side.put(None)
        elif item[1].data:
            self._received.add_encoded(item[1].data, self._video)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self._decoder_side.get(block, timeout)


async def _unstick(receiver: RTCRtpReceiver, received: Received) -> None:
    """Keeps a video receiver's output moving: see the module docstring (runs until cancelled)."""
    internals.check_stall_repair(receiver)
    stalled_since: float | None = None
    with contextlib.suppress(ConnectionError):
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            sources = receiver.getSynchronizationSources()
            arriving = (
                bool(sources)
                and (current_datetime() - max(s.timestamp for s in sources)).total_seconds() < 0.5
            )
            if now - received.last_at < 0.2 or not arriving:
                stalled_since = None
                continue
            stalled_since = stalled_since or now
            ssrc = max(sources, key=lambda s: s.timestamp).source
            if now - stalled_since >= 1.0:
                internals.reset_jitter_buffer(receiver)
                stalled_since = None
                await internals.send_pli(receiver, ssrc)
            elif missing := internals.missing_packets(receiver):
                await internals.send_nack(receiver, ssrc, sorted(missing))


class MediaPeer:
    """One client's peer connection to a media node (see the module docstring)."""

    def __init__(
        self,
        *,
        video: MediaStreamTrack | None,
        audio: MediaStreamTrack | None,
        decode: bool = True,
        ice_servers: list[RTCIceServer] | None = None,
        on_video_frame: Callable[[av.VideoFrame], None] | None = None,
        max_bundle: bool = False,
    ) -> None:
        # ``max_bundle``: every transceiver on one transport. Needed for a second transceiver of a kind
        # (a supervisor's monitor receives the customer's pair and the agent's): aiortc's default policy
        # leaves it on a transport that BUNDLE then abandons.
        policy = RTCBundlePolicy.MAX_BUNDLE if max_bundle else RTCBundlePolicy.BALANCED
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or [], bundlePolicy=policy))
        self.video, self.audio = video, audio
        self.decode = decode
        self.on_video_frame = on_video_frame
        self.received = {"video": Received(), "audio": Received()}
        self.keyframe_requests = 0
        self.remb_bps: int | None = None
        self.guards: list[asyncio.Task[None]] = []
        self._readers: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)
        for kind, track in (("audio", audio), ("video", video)):
            self.pc.addTransceiver(track if track is not None else kind, direction="sendrecv")

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    async def offer(self) -> str:
        """The offer SDP to send to the node (ICE candidates included)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        for transceiver in self.pc.getTransceivers():
            self._hook_sender(transceiver.sender)
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):  # not wait_for: it may swallow a cancel (sdk.client.wait_event)
            await self._connected.wait()

    async def wait_frames(self, kind: str, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` frames of ``kind`` arrived in total; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while self.received[kind].frames < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.received[kind].frames} of {count} {kind} frames in {timeout} s")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        for guard in self.guards:
            guard.cancel()
        await self.pc.close()

    # -- internals -------------------------------------------------------------------------------
    def _hook_sender(self, sender: RTCRtpSender) -> None:
        """Pass the node's PLI, REMB and loss reports to our own encoder (aiortc's would ignore them
        for packets), and resend each lost packet at most every 0.2 s. Wraps aiortc's
        ``RTCRtpSender._handle_rtcp_packet`` for this sender; aiortc's handling still runs after."""
        original = internals.sender_rtcp_handler(sender)
        own_ssrc = internals.sender_ssrc(sender)
        track = sender.track
        adaptive = track if isinstance(track, AdaptiveVideo) else None
        resent: dict[int, float] = {}

        async def handle(packet: Any) -> None:
            now = time.monotonic()
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                packet.lost = [seq for seq in packet.lost if now - resent.get(seq, -1.0) >= 0.2]
                resent.update((seq, now) for seq in packet.lost)
                if len(resent) > 1024:  # forget the oldest half
                    for seq in sorted(resent, key=resent.__getitem__)[:512]:
                        del resent[seq]
                if not packet.lost:
                    return
            elif isinstance(packet, RtcpRrPacket | RtcpSrPacket) and adaptive is not None:
                for report in packet.reports:
                    if report.ssrc == own_ssrc:
                        adaptive.report_loss(report.fraction_lost / 256)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                self.keyframe_requests += 1
                if adaptive is not None:
                    adaptive.request_keyframe()
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, _ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    self.remb_bps = bitrate
                    if adaptive is not None:
                        adaptive.set_target_bitrate(bitrate)
            await original(packet)

        internals.replace_sender_rtcp_handler(sender, handle)

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = self.received[track.kind]
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if not self.decode:
            internals.replace_decoder_queue(receiver, _CountingTap(received, track.kind == "video"))
        if track.kind == "video":
            self.guards.append(asyncio.get_running_loop().create_task(_unstick(receiver, received)))
        self._readers.append(asyncio.get_running_loop().create_task(self._read(track, received)))

    async def _read(self, track: MediaStreamTrack, received: Received) -> None:
        # Always read every received track: an unread aiortc track queues frames without bound.
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    received.last_frame = frame
                    received.add((frame.width, frame.height))
                    if self.on_video_frame is not None:
                        self.on_video_frame(frame)
                else:
                    received.add()
        except MediaStreamError:
            pass

    async def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self._connected.set()


class MediaSignaling(Protocol):
    """What ``connect_media`` needs of a signaling client: ``sdk.client.VkycClient.media_offer``."""

    async def media_offer(self, call_id: str, sdp: str, *, timeout_s: float = ...) -> Any: ...


async def connect_media(
    client: MediaSignaling,
    call_id: str,
    peer: MediaPeer,
    *,
    wait_connected: bool = True,
    timeout_s: float = 20.0,
) -> MediaPeer:
    """Connect ``peer`` to the media node of ``call_id`` over signaling: ``media.offer`` with the peer's
    offer, apply the node's ``media.answer``, then (by default) wait until the peer connection is up.

    When to call it: the mobile as soon as its call is queued or ringing (it gets the waiting media,
    then the agent's), the agent after ``call.connected``, both parties of a call-back after
    ``call.connected``, and again with a **new** ``MediaPeer`` after a reconnect (close the old one):
    the node replaces that party's connection, the other party keeps its media, the recording goes on.
    Raises ``sdk.errors.ServerError`` (e.g. ``MEDIA_NODE_UNAVAILABLE``), ``RequestTimeout`` or
    ``TimeoutError`` (the connection did not come up within ``timeout_s``)."""
    answer = await client.media_offer(call_id, await peer.offer(), timeout_s=timeout_s)
    await peer.accept(answer.sdp)
    if wait_connected:
        await peer.wait_connected(timeout_s)
    return peer
