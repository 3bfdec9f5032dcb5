"""The few seams into aiortc (1.16) that let the node forward encoded frames untouched.

aiortc decodes every received frame and encodes every sent one; a relay needs neither. Reading
aiortc's source, the narrowest seams are:

* **Receiving.** ``RTCRtpReceiver`` re-assembles RTP packets into whole encoded frames in its jitter
  buffer, then ``put``s ``(codec, JitterFrame)`` on a ``queue.Queue`` that a decoder thread reads.
  ``ReceiverTap`` takes that queue's place before the receiver starts: encoded frames go to the node's
  callback on the event loop (no decoder is ever created), and the end-of-stream marker (``None``)
  still reaches the decoder thread, which then ends the track as usual. NACKs, PLIs on jitter-buffer
  loss, receiver reports and REMB keep working: they happen before the queue.
* **Sending.** ``RTCRtpSender`` accepts a track whose ``recv()`` returns ``av.Packet`` (already
  encoded) and only packetizes it (``Encoder.pack``); that is aiortc's public pre-encoded path
  (``MediaPlayer(decode=False)`` uses it), so outbound tracks return packets.
* **Feedback.** A sender gets RTCP through ``_handle_rtcp_packet``; ``intercept_sender_rtcp`` wraps it
  per instance so key-frame requests (PLI/FIR) and bandwidth estimates (REMB) from the far end reach
  the node, which forwards them to whoever really encodes the video.
* **Stalls.** aiortc's video jitter buffer waits for a missing packet until 512 packets later, and
  its NACK generator asks for missing packets only when a *new* gap appears: once the loss stops, a
  hole that a lost retransmission left is never asked for again and the stream freezes for tens of
  seconds. ``StallGuard`` repeats the NACK while output is stuck and, after a second, drops the
  hole (fresh jitter buffer) and asks for a key frame, as libwebrtc does.
* **Upstream bitrate.** A video receiver's ``RemoteBitrateEstimator`` produces the REMB it sends to
  its source; ``BitrateCap`` wraps it so the node can lower that figure (per-peer cap, or the
  downstream peer's capacity). ``request_keyframe`` sends a PLI through the receiver.

Every private of aiortc these seams rely on is reached through ``sdk.aiortc_internals``, which refuses
an aiortc release it was not written for and names any attribute that moved, so an upgrade fails loudly
instead of silently decoding again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.clock import current_datetime
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media_node.congestion import RetransmitLimiter
from media_node.frames import EncodedFrame, Kind, is_keyframe
from sdk import aiortc_internals as internals

log = logging.getLogger("vkyc.media.hooks")


class ReceiverTap:
    """Stands in for a receiver's decoder queue: whole encoded frames go to ``on_frame``.

    ``on_frame`` runs on the event loop, inside aiortc's packet handling: it must be quick and must
    not raise (an exception there would end the peer connection's receive loop, so it is caught and
    logged here). ``frames`` counts what went through.
    """

    def __init__(self, kind: Kind, on_frame: Callable[[EncodedFrame], None]) -> None:
        self.kind = kind
        self.on_frame = on_frame
        self.frames = 0
        self.last_frame_at = time.monotonic()
        self.wait_keyframe = False  # set after a reset: inter frames before the next key frame are junk
        self._decoder_side: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any) -> None:
        if item is None:  # end of stream: let the (idle) decoder thread end the track
            self._decoder_side.put(None)
            return
        _codec, jitter_frame = item
        data: bytes = jitter_frame.data
        if not data:
            return
        key = is_keyframe(self.kind, data)
        if self.wait_keyframe:
            if not key:
                return
            self.wait_keyframe = False
        self.frames += 1
        self.last_frame_at = time.monotonic()
        frame = EncodedFrame(self.kind, data, int(jitter_frame.timestamp), key, self.last_frame_at)
        try:
            self.on_frame(frame)
        except Exception:  # see the class docstring
            log.exception("frame handler failed (%s); frame dropped", self.kind)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """What aiortc's decoder thread reads: only ever the end-of-stream marker."""
        return self._decoder_side.get(block, timeout)


def install_receiver_tap(receiver: RTCRtpReceiver, tap: ReceiverTap) -> None:
    """Route ``receiver``'s encoded frames to ``tap``; call before the receiver starts (in the
    peer connection's ``track`` event, which aiortc emits before it connects)."""
    internals.replace_decoder_queue(receiver, tap)


def _latest_ssrc(receiver: RTCRtpReceiver) -> int | None:
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    return max(sources, key=lambda s: s.timestamp).source


async def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI to the sender of ``receiver``'s stream; False if nothing was received yet."""
    ssrc = _latest_ssrc(receiver)
    if ssrc is None:
        return False
    await internals.send_pli(receiver, ssrc)
    return True


class BitrateCap:
    """Wraps a video receiver's bandwidth estimator: the REMB sent upstream is at most ``cap_bps``.

    ``estimate_bps`` is the receiver's own latest estimate of the upstream link (before the cap).
    """

    def __init__(self, receiver: RTCRtpReceiver, cap_bps: int) -> None:
        self._receiver = receiver
        self._inner = internals.bitrate_estimator(receiver)
        if self._inner is None:
            raise ValueError("BitrateCap: an audio receiver has no bandwidth estimator")
        self.cap_bps = cap_bps
        self.estimate_bps: int | None = None
        internals.replace_bitrate_estimator(receiver, self)

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        result = self._inner.add(
            arrival_time_ms=arrival_time_ms, abs_send_time=abs_send_time, payload_size=payload_size, ssrc=ssrc
        )
        if result is None:
            return None
        bitrate, ssrcs = result
        self.estimate_bps = bitrate
        return min(bitrate, self.cap_bps), ssrcs

    async def lower_now(self, cap_bps: int) -> None:
        """Set a new cap and, if it is below the last figure sent, tell the source at once (a REMB)
        instead of waiting for the estimator's next report."""
        previous = min(self.estimate_bps or self.cap_bps, self.cap_bps)
        self.cap_bps = cap_bps
        ssrc = _latest_ssrc(self._receiver)
        rtcp_ssrc = internals.rtcp_ssrc(self._receiver)
        if cap_bps < previous and ssrc is not None and rtcp_ssrc is not None:
            packet = RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(cap_bps, [ssrc])
            )
            await internals.send_rtcp(self._receiver, packet)


def intercept_sender_rtcp(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_remb: Callable[[int], None],
    on_loss: Callable[[float], None] | None = None,
    limiter: RetransmitLimiter | None = None,
) -> None:
    """Tell the node about the far end's key-frame requests, bandwidth estimates (REMB) and loss
    (receiver reports, as a 0..1 fraction) for ``sender``; thin out NACKs through ``limiter``.

    aiortc's own handling still runs afterwards (NACK → retransmission from the sender's history,
    receiver reports → statistics); for pre-encoded packets its key-frame flag and encoder bitrate are
    no-ops, which is why the node must act on them itself.
    """
    original = internals.sender_rtcp_handler(sender)
    own_ssrc = internals.sender_ssrc(sender)

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK and limiter is not None:
            packet.lost = limiter.allow(packet.lost, time.monotonic())
            if not packet.lost:
                return
        elif isinstance(packet, RtcpRrPacket | RtcpSrPacket) and on_loss is not None:
            for report in packet.reports:
                if report.ssrc == own_ssrc:
                    on_loss(report.fraction_lost / 256)
        if isinstance(packet, RtcpPsfbPacket):
            if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                on_keyframe_request()
            elif packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, _ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    on_remb(bitrate)
        await original(packet)

    internals.replace_sender_rtcp_handler(sender, handle)


class StallGuard:
    """Keeps a video receiver's output moving (see the module docstring). ``last_output()`` is when
    the receiver last produced a frame (monotonic); ``on_reset()`` runs after the hole is dropped.

    Every ``interval_s``: if packets arrive but no frame came out for ``nack_after_s``, the missing
    packets are asked for again; after ``reset_after_s``, the jitter buffer is replaced and a key
    frame requested. ``resets`` and ``renacks`` count what it did.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        last_output: Callable[[], float],
        on_reset: Callable[[], None] = lambda: None,
        *,
        interval_s: float = 0.1,
        nack_after_s: float = 0.2,
        reset_after_s: float = 1.0,
    ) -> None:
        self._receiver = receiver
        self._last_output = last_output
        self._on_reset = on_reset
        self.interval_s, self.nack_after_s, self.reset_after_s = interval_s, nack_after_s, reset_after_s
        internals.check_stall_repair(receiver)
        self.resets = 0
        self.renacks = 0
        self._stalled_since: float | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="stall-guard")

    def stop(self) -> None:
        self._task.cancel()

    def _receiving(self) -> bool:
        sources = self._receiver.getSynchronizationSources()
        if not sources:
            return False
        newest = max(s.timestamp for s in sources)
        return (current_datetime() - newest).total_seconds() < 0.5

    async def _run(self) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                await asyncio.sleep(self.interval_s)
                await self.check()

    async def check(self) -> None:
        now = time.monotonic()
        idle = now - self._last_output()
        if idle < self.nack_after_s or not self._receiving():
            self._stalled_since = None
            return
        if self._stalled_since is None:
            self._stalled_since = now
        ssrc = _latest_ssrc(self._receiver)
        if ssrc is None:
            return
        if now - self._stalled_since >= self.reset_after_s:
            internals.reset_jitter_buffer(self._receiver)
            self._stalled_since = None
            self.resets += 1
            self._on_reset()
            await request_keyframe(self._receiver)
        elif missing := internals.missing_packets(self._receiver):
            self.renacks += 1
            await internals.send_nack(self._receiver, ssrc, sorted(missing))
