"""The one module that touches aiortc's private internals, for the media node and the SDK's media helpers.

aiortc decodes every received frame, ignores key-frame requests and bandwidth estimates for
pre-encoded packets, and lets a lost retransmission freeze a video receiver; the node's relay
(``media_node.aiortc_hooks``) and the SDK's client peer (``sdk.media``) work around that through the
functions below, and through nothing else of aiortc's that is private. What they reach (aiortc 1.16.0):

* ``RTCRtpReceiver``'s name-mangled ``__decoder_queue``, ``__started``, ``__jitter_buffer``,
  ``__nack_generator`` (its ``missing`` and ``max_seq``), ``__remote_bitrate_estimator`` and
  ``__rtcp_ssrc``; its methods ``_send_rtcp``, ``_send_rtcp_nack`` and ``_send_rtcp_pli``;
* ``RTCRtpSender``'s ``_ssrc`` and ``_handle_rtcp_packet`` (replaced per instance, never on the class);
* ``RTCIceTransport``'s ``_send`` and ``_recv`` (aioice's datagram I/O under DTLS), replaced per
  instance by the benchmarks' impaired link (``bench.impairment``);
* ``aiortc.jitterbuffer.JitterBuffer`` with the arguments aiortc gives a video receiver's.

Written against one aiortc release, ``WRITTEN_FOR``, which ``pyproject.toml`` pins exactly: importing
this module with any other version installed raises ``UnsupportedAiortc`` (re-read the above in the
new release's source, then move both). Each accessor also checks that the attribute it needs exists
and raises ``RuntimeError`` naming it, so a change the version check missed still fails loudly at the
first call instead of silently decoding again.

The SDK owns this module because the SDK may not import the node, while the node imports the SDK.
"""

# ruff: noqa: E402  (aiortc is imported after its version is checked)
from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any, Protocol

WRITTEN_FOR = "1.16.0"


class UnsupportedAiortc(RuntimeError):
    """The installed aiortc is not the release this module was written for."""


def check_version(installed: str | None = None) -> None:
    """Raise ``UnsupportedAiortc`` unless ``installed`` (default: aiortc's installed version) is
    ``WRITTEN_FOR``."""
    found = installed if installed is not None else version("aiortc")
    if found != WRITTEN_FOR:
        raise UnsupportedAiortc(
            f"sdk/aiortc_internals.py reaches into aiortc {WRITTEN_FOR}'s private internals, but aiortc "
            f"{found} is installed. Install the locked version (make install), or re-read what the module "
            "touches in the new release, then update WRITTEN_FOR and the pin in pyproject.toml (make lock)."
        )


# Checked before aiortc's modules are imported: a release that moved them fails here, naming the versions.
check_version()

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterBuffer

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_STARTED = "_RTCRtpReceiver__started"
_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"

RtcpHandler = Callable[[Any], Awaitable[None]]


class FrameQueue(Protocol):
    """What stands in for a receiver's decoder queue: aiortc ``put``s ``(codec, JitterFrame)`` for each
    whole encoded frame and ``None`` at the end of the stream; its decoder thread ``get``s."""

    def put(self, item: Any) -> None: ...

    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


def _require(obj: object, attribute: str) -> Any:
    if not hasattr(obj, attribute):
        raise RuntimeError(f"aiortc internals changed: {type(obj).__name__} has no {attribute}")
    return getattr(obj, attribute)


def replace_decoder_queue(receiver: RTCRtpReceiver, frames: FrameQueue) -> None:
    """Hand ``receiver``'s encoded frames to ``frames`` instead of its decoder thread. Only before the
    receiver starts (in the peer connection's ``track`` event): ``RuntimeError`` afterwards."""
    _require(receiver, _DECODER_QUEUE)
    if _require(receiver, _STARTED):
        raise RuntimeError("replace_decoder_queue: the receiver already started decoding")
    setattr(receiver, _DECODER_QUEUE, frames)


def bitrate_estimator(receiver: RTCRtpReceiver) -> Any:
    """The receiver's remote bitrate estimator (its ``add`` returns the REMB figure); None for audio."""
    return _require(receiver, _ESTIMATOR)


def replace_bitrate_estimator(receiver: RTCRtpReceiver, estimator: Any) -> None:
    """Use ``estimator`` (same ``add`` contract as aiortc's) for the REMBs ``receiver`` sends."""
    _require(receiver, _ESTIMATOR)
    setattr(receiver, _ESTIMATOR, estimator)


def rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC ``receiver`` signs its RTCP with; None until the transport set it."""
    found: int | None = _require(receiver, _RTCP_SSRC)
    return found


def check_stall_repair(receiver: RTCRtpReceiver) -> None:
    """Raise ``RuntimeError`` unless ``missing_packets`` and ``reset_jitter_buffer`` can work on
    ``receiver`` (a video receiver): call it when a repair loop starts, not at its first stall."""
    _require(receiver, _JITTER_BUFFER)
    _require(receiver, _NACK_GENERATOR)


def missing_packets(receiver: RTCRtpReceiver) -> set[int]:
    """The sequence numbers ``receiver``'s NACK generator still misses (a live set: copy to keep)."""
    missing: set[int] = _require(receiver, _NACK_GENERATOR).missing
    return missing


def reset_jitter_buffer(receiver: RTCRtpReceiver) -> None:
    """Drop everything a video receiver holds back (a fresh jitter buffer, nothing missing): the frames
    waiting behind a hole are lost, the next key frame starts clean."""
    _require(receiver, _JITTER_BUFFER)
    nacks = _require(receiver, _NACK_GENERATOR)
    setattr(receiver, _JITTER_BUFFER, JitterBuffer(capacity=512, is_video=True))
    nacks.missing.clear()
    nacks.max_seq = None


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the sender of ``media_ssrc`` for a key frame (RTCP PLI)."""
    send: Callable[[int], Awaitable[None]] = _require(receiver, "_send_rtcp_pli")
    await send(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    """Ask the sender of ``media_ssrc`` to resend ``lost`` (RTCP generic NACK)."""
    send: Callable[[int, list[int]], Awaitable[None]] = _require(receiver, "_send_rtcp_nack")
    await send(media_ssrc, lost)


async def send_rtcp(receiver: RTCRtpReceiver, packet: Any) -> None:
    """Send any RTCP packet on ``receiver``'s transport."""
    send: Callable[[Any], Awaitable[None]] = _require(receiver, "_send_rtcp")
    await send(packet)


def sender_ssrc(sender: RTCRtpSender) -> int:
    """The SSRC ``sender``'s RTP goes out with (receiver reports about it carry it)."""
    ssrc: int = _require(sender, "_ssrc")
    return ssrc


def sender_rtcp_handler(sender: RTCRtpSender) -> RtcpHandler:
    """aiortc's handler for the RTCP that reaches ``sender`` (NACK → retransmission, reports →
    statistics), to call from a replacement."""
    handler: RtcpHandler = _require(sender, "_handle_rtcp_packet")
    return handler


def replace_sender_rtcp_handler(sender: RTCRtpSender, handler: RtcpHandler) -> None:
    """Route the RTCP that reaches ``sender`` to ``handler``, for this instance only (never the class)."""
    _require(sender, "_handle_rtcp_packet")
    setattr(sender, "_handle_rtcp_packet", handler)  # noqa: B010  (mypy: aiortc types it as a method)


DatagramSend = Callable[[bytes], Awaitable[None]]
DatagramRecv = Callable[[], Awaitable[bytes]]


def ice_datagram_io(transport: Any) -> tuple[DatagramSend, DatagramRecv]:
    """``transport``'s (an ``RTCIceTransport``) datagram send and receive, under its DTLS layer."""
    return _require(transport, "_send"), _require(transport, "_recv")


def replace_ice_datagram_io(transport: Any, send: DatagramSend, recv: DatagramRecv) -> None:
    """Route every datagram ``transport`` sends and receives through ``send``/``recv``, this
    instance only."""
    _require(transport, "_send")
    _require(transport, "_recv")
    setattr(transport, "_send", send)  # noqa: B010  (mypy: aiortc types them as methods)
    setattr(transport, "_recv", recv)  # noqa: B010
