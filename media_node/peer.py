"""``PartyLink``: one party's peer connection to the node (a reconnect is a new link).

A link answers the party's WebRTC offer with VP8 and Opus only (the codecs it relays untouched),
taps both received tracks (encoded frames go to ``on_frame``; see ``aiortc_hooks``), sends the
party its two ``OutboundTrack``s, and reports what the party's side says about the link: key-frame
requests and downlink bandwidth estimates (REMB).

Every received track also gets a reader task, as aiortc wants: with the tap installed nothing is
queued on the track, and the reader ends with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media_node.aiortc_hooks import (
    BitrateCap,
    ReceiverTap,
    StallGuard,
    install_receiver_tap,
    intercept_sender_rtcp,
    request_keyframe,
)
from media_node.config import NodeConfig
from media_node.congestion import LossBasedRate, RetransmitLimiter
from media_node.errors import BadSdp, CallStateError, CodecUnsupported
from media_node.frames import EncodedFrame, Kind
from media_node.relay import OutboundTrack
from media_node.states import LINK, LinkEvent, LinkState, Party
from vkyc.domain.machine import IllegalTransition

log = logging.getLogger("vkyc.media.peer")

RELAYED_CODECS = {Kind.VIDEO: ("video/vp8", "video/rtx"), Kind.AUDIO: ("audio/opus",)}


def _preferences(kind: Kind) -> list[object]:
    wanted = RELAYED_CODECS[kind]
    return [c for c in RTCRtpSender.getCapabilities(kind.value).codecs if c.mimeType.lower() in wanted]


def check_offer(sdp: str) -> None:
    """Refuse an offer the node cannot relay, with the precise reason (before any WebRTC work)."""
    lower = sdp.lower()
    if not lower.startswith("v=0"):
        raise BadSdp("the offer is not SDP (it must start with v=0)")
    has_video, has_audio = "m=video" in lower, "m=audio" in lower
    if not has_video and not has_audio:
        raise BadSdp("the offer has neither audio nor video")
    if has_video and "vp8/90000" not in lower:
        raise CodecUnsupported("the offer's video has no VP8")
    if has_audio and "opus/48000" not in lower:
        raise CodecUnsupported("the offer's audio has no Opus")


class PartyLink:
    """One peer connection of ``party`` in ``call_id``; ``stream`` numbers the party's links."""

    def __init__(
        self,
        *,
        call_id: str,
        party: Party,
        stream: int,
        config: NodeConfig,
        on_frame: Callable[[PartyLink, EncodedFrame], None],
        on_keyframe_needed: Callable[[PartyLink, str], None],
        on_state: Callable[[PartyLink, LinkState], None],
        on_downlink: Callable[[PartyLink, int | None], None],
    ) -> None:
        self.call_id = call_id
        self.party = party
        self.stream = stream
        self.tag = f"{party.value}#{stream}"
        self.config = config
        self.state = LINK.initial
        self._on_frame = on_frame
        self._on_state = on_state
        self._on_downlink = on_downlink
        self.outbound = {
            kind: OutboundTrack(kind, lambda tag: on_keyframe_needed(self, tag)) for kind in Kind
        }
        # A monitor also watches the agent: a second audio and video pair, used only if its offer has a
        # second audio and video m-line (see ``negotiate``).
        self.second: dict[Kind, OutboundTrack] = (
            {kind: OutboundTrack(kind, lambda tag: on_keyframe_needed(self, tag)) for kind in Kind}
            if party is Party.MONITOR
            else {}
        )
        self.pc: RTCPeerConnection | None = None
        self.receivers: dict[Kind, RTCRtpReceiver] = {}
        self.taps: dict[Kind, ReceiverTap] = {}
        self.bitrate_cap: BitrateCap | None = None
        self.downlink_bps: int | None = None
        self.downlink_cap_bps: int | None = None
        self._remb_cap: int | None = None
        self.loss_rate = LossBasedRate(config.max_video_bitrate_bps, max_bps=config.max_video_bitrate_bps)
        self.created_at = time.monotonic()
        self.connected_at: float | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._guards: list[StallGuard] = []

    # -- state -----------------------------------------------------------------------------------
    def _move(self, event: LinkEvent) -> bool:
        try:
            new = LINK.transition(self.state, event)
        except IllegalTransition:
            return False
        self.state = new
        self._on_state(self, new)
        return True

    def frames_received(self, kind: Kind) -> int:
        tap = self.taps.get(kind)
        return tap.frames if tap else 0

    # -- negotiation -----------------------------------------------------------------------------
    async def negotiate(self, offer_sdp: str) -> str:
        """Apply the party's offer and return the node's answer (ICE candidates included: aiortc
        gathers them all before answering, so no trickle is needed)."""
        if self.state is not LinkState.NEW:
            raise CallStateError(
                f"link {self.tag} of call {self.call_id} is {self.state}", call_id=self.call_id
            )
        check_offer(offer_sdp)
        lower = offer_sdp.lower()
        if self.second and (lower.count("m=audio") < 2 or lower.count("m=video") < 2):
            # No second pair asked for: aiortc cannot answer with transceivers the offer does not name,
            # and a track nobody reads must not fill up (and ask for key frames).
            for track in self.second.values():
                track.stop()
            self.second = {}
        self._move(LinkEvent.NEGOTIATE)
        servers = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in self.config.ice_servers
        ]
        # A second pair (a monitor's) must share the first's transport: under aiortc's default policy a
        # second video transceiver keeps the first video's own transport, which BUNDLE then orphans.
        policy = RTCBundlePolicy.MAX_BUNDLE if self.second else RTCBundlePolicy.BALANCED
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, bundlePolicy=policy))
        self.pc = pc
        for tracks in (self.outbound, self.second):
            for kind in (Kind.AUDIO, Kind.VIDEO) if tracks else ():
                transceiver = pc.addTransceiver(tracks[kind], direction="sendrecv")
                transceiver.setCodecPreferences(_preferences(kind))  # type: ignore[arg-type]
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_connection_state)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as exc:
            await self.close()
            if "Failed to set remote" in str(exc):
                raise CodecUnsupported(
                    f"no common codec with the offer ({exc})", call_id=self.call_id
                ) from exc
            raise BadSdp(f"the offer could not be applied: {exc}", call_id=self.call_id) from exc
        for transceiver in pc.getTransceivers():
            kind = Kind(transceiver.kind)
            sent = transceiver.sender.track
            if not isinstance(sent, OutboundTrack):
                continue  # an extra m-line of the offer, answered receive-only with nothing to send
            video = kind is Kind.VIDEO
            intercept_sender_rtcp(
                transceiver.sender,
                on_keyframe_request=sent.keyframe_requested_by_receiver,
                on_remb=self._downlink_remb if video else lambda bps: None,
                on_loss=self._downlink_loss if video else None,
                limiter=RetransmitLimiter(),
            )
        return pc.localDescription.sdp

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        kind = Kind(track.kind)
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        tap = ReceiverTap(kind, lambda frame: self._on_frame(self, frame))
        install_receiver_tap(receiver, tap)
        self.taps[kind] = tap
        self.receivers[kind] = receiver
        if kind is Kind.VIDEO:
            self.bitrate_cap = BitrateCap(receiver, self.config.max_video_bitrate_bps)
            self._guards.append(StallGuard(receiver, lambda: tap.last_frame_at, lambda: _drop_until_key(tap)))
        self._readers.append(asyncio.get_running_loop().create_task(self._read(track)))

    @staticmethod
    async def _read(track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            pass

    async def _on_connection_state(self) -> None:
        assert self.pc is not None
        state = self.pc.connectionState
        if state == "connected":
            self.connected_at = time.monotonic()
            self._move(LinkEvent.UP)
        elif state in ("failed", "closed"):
            self._move(LinkEvent.LOST)

    def _downlink_remb(self, bps: int) -> None:
        """A bandwidth estimate (REMB) from the party's receiver.

        Only a *drop* is a congestion signal: while the far end's estimator ramps up (it starts from
        whatever it received so far, e.g. the waiting media's rate) its figures say nothing about
        the link, and capping the other party's camera on them would spiral the call down to the
        waiting media's bitrate. So the cap is set on a drop, follows the estimate up from there, and
        is lifted once the estimate reaches the node's maximum.
        """
        previous, self.downlink_bps = self.downlink_bps, bps
        if previous is not None and bps < 0.95 * previous:
            self._remb_cap = bps
        elif self._remb_cap is not None and bps > self._remb_cap:
            self._remb_cap = None if bps >= self.config.max_video_bitrate_bps else bps
        self._update_downlink()

    def _downlink_loss(self, fraction_lost: float) -> None:
        """The loss the party's receiver reports for the node's video (see ``congestion``)."""
        self.loss_rate.on_report(fraction_lost, time.monotonic())
        self._update_downlink()

    def _update_downlink(self) -> None:
        loss_cap = self.loss_rate.bps if self.loss_rate.bps < self.config.max_video_bitrate_bps else None
        caps = [c for c in (self._remb_cap, loss_cap) if c is not None]
        cap = min(caps) if caps else None
        old = self.downlink_cap_bps
        if (cap is None) != (old is None) or (
            cap is not None and old is not None and abs(cap - old) > 0.05 * old
        ):
            self.downlink_cap_bps = cap
            self._on_downlink(self, cap)

    # -- control ---------------------------------------------------------------------------------
    async def request_keyframe(self) -> bool:
        """Ask the party's camera for a key frame (PLI); False if no video arrived yet."""
        receiver = self.receivers.get(Kind.VIDEO)
        if receiver is None or self.state is LinkState.CLOSED:
            return False
        try:
            return await request_keyframe(receiver)
        except ConnectionError:
            return False

    async def cap_uplink(self, bps: int) -> None:
        """Ask the party to send video at most at ``bps`` (lowered at once, raised at next report)."""
        if self.bitrate_cap is not None and self.state is not LinkState.CLOSED:
            with contextlib.suppress(ConnectionError):
                await self.bitrate_cap.lower_now(max(50_000, min(bps, self.config.max_video_bitrate_bps)))

    async def close(self) -> None:
        """Close the peer connection (idempotent). The outbound tracks end with it."""
        self._move(LinkEvent.CLOSE)
        for track in (*self.outbound.values(), *self.second.values()):
            track.stop()
        if self.pc is not None:
            await self.pc.close()
        for reader in self._readers:
            reader.cancel()
        self._readers.clear()
        for guard in self._guards:
            guard.stop()
        self._guards.clear()


def _drop_until_key(tap: ReceiverTap) -> None:
    tap.wait_keyframe = True
