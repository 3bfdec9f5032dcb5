"""``MediaEngine``: the media node's calls, independent of how offers and orders reach it.

The signaling wiring (or a test, or ``media_node.control``) drives it::

    engine = MediaEngine(S3Store.from_env(), NodeConfig.from_env())
    await engine.start()
    await engine.open_call("C-1", waiting_media=None)          # queued/ringing: waiting media ready
    answer = await engine.attach("C-1", "mobile", offer_sdp)   # → SDP answer for the phone
    answer = await engine.attach("C-1", "agent", offer_sdp)    # → SDP answer for the agent page
    await engine.answered("C-1")                                # agent media replaces waiting media
    shot = await engine.snapshot("C-1")                         # SnapshotResult
    info = await engine.close_call("C-1", "hangup")             # RecordingInfo

Per call (``CallMedia``): the caller's and the agent's ``PartyLink``; frames from each go to the
recorder and to the other party's ``OutboundTrack`` (the agent's only once answered); the caller's
outbound tracks start on the ``WaitingPlayer``. A second ``attach`` of a party is a reconnect: a new
link (new stream number) replaces the old one; the other party's link is untouched; the recording
goes on in the same parts (the new stream is re-anchored, so there is a gap, never an overlap).

A supervisor's ``monitor`` link (issue #16: silent monitoring) is sent the caller's media, and the
agent's on a second audio and video pair when its offer asks for one, like an extra viewer: its own
key-frame requests reach the caller's camera as the agent's do (rate-limited),
but its bandwidth reports never cap the caller, whatever it sends is dropped unread, it is never
recorded, and its link events are not reported (signaling counts the parties' links only).
``detach(call_id, "monitor")`` closes it; a second ``attach`` replaces it.

Errors are ``MediaError`` subclasses with stable codes (``media_node.errors``). Capacity: at most
``config.capacity`` open calls; ``open_call`` beyond it raises ``NodeFull`` (``MEDIA_NODE_FULL``).
``on_event`` (optional) is told about links going up and being lost, for the wiring to report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from media_node.config import CALL_ID, KeyLayout, NodeConfig
from media_node.errors import (
    BadCallId,
    BadParty,
    CallExists,
    CallNotFound,
    CallStateError,
    NoCustomerVideo,
    NodeFull,
    SnapshotTimeout,
)
from media_node.frames import EncodedFrame, Kind
from media_node.peer import PartyLink
from media_node.recorder import Recorder, RecordingInfo, Track
from media_node.snapshot import SnapshotResult, make_snapshot, new_snapshot_id
from media_node.states import CALL_MEDIA, CallMediaEvent, CallMediaState, LinkState, Party
from media_node.storage import ObjectStore
from media_node.waiting import WaitingMedia, WaitingMediaLibrary, WaitingPlayer
from vkyc.domain.machine import IllegalTransition

log = logging.getLogger("vkyc.media.engine")

WAITING_TAG = "waiting"
SNAPSHOT_PLI_INTERVAL_S = 0.5


@dataclass(frozen=True)
class MediaEvent:
    """Something the wiring may tell signaling: ``kind`` is ``link.up`` or ``link.lost``."""

    kind: str
    call_id: str
    party: Party
    stream: int


@dataclass
class PartyStats:
    stream: int
    state: LinkState
    video_frames_in: int
    audio_frames_in: int
    video_frames_out: int
    audio_frames_out: int
    video_source: str | None
    downlink_cap_bps: int | None
    uplink_estimate_bps: int | None


@dataclass
class CallStats:
    call_id: str
    state: CallMediaState
    parties: dict[str, PartyStats] = field(default_factory=dict)
    waiting_frames_sent: int = 0
    recorded_frames: int = 0
    recorded_parts: int = 0


def parse_party(value: str | Party) -> Party:
    try:
        return Party(value)
    except ValueError:
        raise BadParty(f"{value!r} is not a party (mobile, agent or monitor)") from None


class CallMedia:
    """The media of one call on this node. Not thread-safe: event loop only."""

    def __init__(
        self,
        call_id: str,
        *,
        engine: MediaEngine,
        waiting: WaitingMedia,
        recorder: Recorder,
    ) -> None:
        self.call_id = call_id
        self.engine = engine
        self.config = engine.config
        self.state = CALL_MEDIA.initial
        self.recorder = recorder
        self.links: dict[Party, PartyLink] = {}
        self._streams = dict.fromkeys(Party, 0)
        self.waiting = waiting
        self.player: WaitingPlayer | None = None
        self._snapshot_waiters: list[asyncio.Future[EncodedFrame]] = []
        self._tasks: set[asyncio.Task[object]] = set()
        self.opened_at = time.monotonic()

    # -- state -----------------------------------------------------------------------------------
    def move(self, event: CallMediaEvent, operation: str) -> None:
        try:
            self.state = CALL_MEDIA.transition(self.state, event)
        except IllegalTransition:
            raise CallStateError(
                f"{operation} is not allowed: call {self.call_id} is {self.state.value}", call_id=self.call_id
            ) from None

    def require_open(self, operation: str) -> None:
        if self.state in (CallMediaState.CLOSING, CallMediaState.CLOSED):
            raise CallStateError(
                f"{operation} is not allowed: call {self.call_id} is {self.state.value}", call_id=self.call_id
            )

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Run ``coro`` in the background, tied to the call (cancelled at close)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- links -----------------------------------------------------------------------------------
    async def attach(self, party: Party, offer_sdp: str) -> str:
        self.require_open(f"attach {party.value}")
        self._streams[party] += 1
        link = PartyLink(
            call_id=self.call_id,
            party=party,
            stream=self._streams[party],
            config=self.config,
            on_frame=self._on_frame,
            on_keyframe_needed=self._on_keyframe_needed,
            on_state=self._on_link_state,
            on_downlink=self._on_downlink,
        )
        answer = await link.negotiate(offer_sdp)
        if self.state in (CallMediaState.CLOSING, CallMediaState.CLOSED):  # closed while negotiating
            await link.close()
            self.require_open(f"attach {party.value}")
        old = self.links.get(party)
        self.links[party] = link
        if old is not None:
            self._spawn(old.close())
        watcher = self.links.get(party.other) if party.is_party else None
        if watcher is not None and watcher.downlink_cap_bps is not None:
            self._on_downlink(watcher, watcher.downlink_cap_bps)  # the new camera starts within the cap
        self._route()
        return answer

    async def detach(self, party: Party) -> bool:
        """Close ``party``'s link (a monitor that stops listening); False if none was attached."""
        link = self.links.pop(party, None)
        if link is None:
            return False
        await link.close()
        return True

    def _route(self) -> None:
        """Point every outbound track at the source it should show now (idempotent)."""
        mobile, agent = self.links.get(Party.MOBILE), self.links.get(Party.AGENT)
        monitor = self.links.get(Party.MONITOR)
        if monitor is not None and mobile is not None:
            for track in monitor.outbound.values():
                track.prefer(mobile.tag)
        if monitor is not None and agent is not None:
            for track in monitor.second.values():
                track.prefer(agent.tag)
        if agent is not None and mobile is not None:
            for track in agent.outbound.values():
                track.prefer(mobile.tag)
        if mobile is not None:
            if self.state is CallMediaState.CONNECTED and agent is not None:
                source = agent.tag
            elif self.state is CallMediaState.WAITING or all(
                t.active is None for t in mobile.outbound.values()
            ):
                source = WAITING_TAG  # ringing, or a caller's new link while the agent's is down
            else:
                source = None  # answered, agent not (yet, or no longer) attached: keep what plays
            if source is not None:
                for track in mobile.outbound.values():
                    track.prefer(source)
            self._ensure_player()

    def _ensure_player(self) -> None:
        mobile = self.links.get(Party.MOBILE)
        wanted = mobile is not None and any(
            WAITING_TAG in (t.active, t.pending) for t in mobile.outbound.values()
        )
        if wanted and (self.player is None or not self.player.running):
            self.player = WaitingPlayer(self.waiting, self._on_waiting_frame, self._use_low_rendition)
            self.player.start()
        elif not wanted and self.player is not None:
            player, self.player = self.player, None
            self._spawn(player.stop())

    def _use_low_rendition(self) -> bool:
        mobile = self.links.get(Party.MOBILE)
        cap = mobile.downlink_cap_bps if mobile else None
        return cap is not None and cap < self.config.low_rendition_below_bps

    def _on_waiting_frame(self, frame: EncodedFrame) -> None:
        mobile = self.links.get(Party.MOBILE)
        if mobile is None:
            return
        mobile.outbound[frame.kind].push(WAITING_TAG, frame)
        if self.state is CallMediaState.CONNECTED and frame.kind is Kind.VIDEO:
            self._ensure_player()  # stops once both tracks switched to the agent

    def _on_frame(self, link: PartyLink, frame: EncodedFrame) -> None:
        if self.links.get(link.party) is not link or not link.party.is_party:
            return  # a replaced link's last frames; whatever a monitor sends is never used
        self.recorder.write(Track.of(link.party.value, frame.kind), link.stream, frame)
        if link.party is Party.MOBILE and frame.kind is Kind.VIDEO and frame.keyframe:
            waiters, self._snapshot_waiters = self._snapshot_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(frame)
        monitor = self.links.get(Party.MONITOR)
        if monitor is not None:
            watching = monitor.outbound if link.party is Party.MOBILE else monitor.second
            if frame.kind in watching:
                watching[frame.kind].push(link.tag, frame)
        if link.party is Party.AGENT and self.state is not CallMediaState.CONNECTED:
            return  # the caller sees the agent only once answered
        other = self.links.get(link.party.other)
        if other is not None:
            other.outbound[frame.kind].push(link.tag, frame)

    def _on_keyframe_needed(self, link: PartyLink, tag: str) -> None:
        if tag == WAITING_TAG:
            if self.player is not None:
                self.player.request_keyframe()
            return
        for source in self.links.values():
            if source.tag == tag:
                self._spawn(source.request_keyframe())

    def _on_downlink(self, link: PartyLink, cap: int | None) -> None:
        # The party's link is congested at ``cap`` (None: not any more): ask whoever it watches to
        # send no more than that, leaving room for audio and retransmissions. A monitor's poor link
        # never slows the customer's camera down: the supervisor gets what the link carries.
        if not link.party.is_party:
            return
        other = self.links.get(link.party.other)
        if other is not None:
            bps = self.config.max_video_bitrate_bps if cap is None else int(cap * 0.85)
            self._spawn(other.cap_uplink(bps))

    def _on_link_state(self, link: PartyLink, state: LinkState) -> None:
        if not link.party.is_party:
            log.info("monitor link %s of %s is %s", link.tag, self.call_id, state.value)
            if state is LinkState.LOST and self.links.get(link.party) is link:
                # A supervisor gone without a stop (page closed): a dead link's full queue would ask the
                # caller's camera for key frames again and again.
                self.links.pop(link.party, None)
                self._spawn(link.close())
            return  # signaling, hence the parties, hear nothing of a monitor
        if state is LinkState.CONNECTED:
            self.engine.emit(MediaEvent("link.up", self.call_id, link.party, link.stream))
        elif state is LinkState.LOST and self.links.get(link.party) is link:
            self.engine.emit(MediaEvent("link.lost", self.call_id, link.party, link.stream))

    # -- orders ----------------------------------------------------------------------------------
    def answered(self) -> None:
        self.move(CallMediaEvent.ANSWER, "answered")
        self._route()

    async def snapshot(self, timeout_s: float) -> SnapshotResult:
        self.require_open("snapshot")
        mobile = self.links.get(Party.MOBILE)
        if mobile is None or mobile.frames_received(Kind.VIDEO) == 0 or mobile.state is LinkState.LOST:
            raise NoCustomerVideo(
                f"call {self.call_id} has no video from the mobile yet", call_id=self.call_id
            )
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[EncodedFrame] = loop.create_future()
        self._snapshot_waiters.append(waiter)
        deadline = loop.time() + timeout_s
        try:
            while not waiter.done():
                link = self.links.get(Party.MOBILE)
                if link is not None:
                    await link.request_keyframe()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise SnapshotTimeout(
                        f"no key frame from the mobile within {timeout_s} s", call_id=self.call_id
                    )
                await asyncio.wait({waiter}, timeout=min(SNAPSHOT_PLI_INTERVAL_S, remaining))
        finally:
            if not waiter.done():
                waiter.cancel()
        frame = waiter.result()
        taken_at = datetime.now(UTC) - _age(frame)
        jpeg, analysis, _text = await loop.run_in_executor(
            self.engine.cpu_executor,
            make_snapshot,
            frame.data,
            self.call_id,
            taken_at,
            self.config.snapshot_zone,
        )
        snapshot_id = new_snapshot_id(taken_at)
        key = self.engine.layout.snapshot(self.call_id, snapshot_id)
        await loop.run_in_executor(self.engine.io_executor, self.engine.store.put, key, jpeg, "image/jpeg")
        return SnapshotResult(
            snapshot_id,
            key,
            analysis.face_found,
            analysis.face_box,
            analysis.sharpness,
            taken_at,
            analysis.width,
            analysis.height,
            len(jpeg),
        )

    async def close(self, reason: str) -> RecordingInfo:
        self.move(CallMediaEvent.CLOSE, "close")
        for waiter in self._snapshot_waiters:
            waiter.cancel()
        if self.player is not None:
            await self.player.stop()
            self.player = None
        await asyncio.gather(*(link.close() for link in self.links.values()), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        try:
            info = await self.recorder.finish(reason)
        finally:
            self.move(CallMediaEvent.CLOSED, "close")
        return info

    def tick(self) -> None:
        """Once a second: upload a recording part when due."""
        self.recorder.flush_due()

    def stats(self) -> CallStats:
        stats = CallStats(
            self.call_id,
            self.state,
            waiting_frames_sent=self.player.frames_sent if self.player else 0,
            recorded_frames=self.recorder.frames_written,
            recorded_parts=self.recorder.parts_uploaded,
        )
        for party, link in self.links.items():
            stats.parties[party.value] = PartyStats(
                link.stream,
                link.state,
                link.frames_received(Kind.VIDEO),
                link.frames_received(Kind.AUDIO),
                link.outbound[Kind.VIDEO].frames_sent,
                link.outbound[Kind.AUDIO].frames_sent,
                link.outbound[Kind.VIDEO].active,
                link.downlink_cap_bps,
                link.bitrate_cap.estimate_bps if link.bitrate_cap else None,
            )
        return stats


def _age(frame: EncodedFrame) -> timedelta:
    """How long ago the frame arrived: the snapshot's time is when the picture was taken."""
    return timedelta(seconds=max(0.0, time.monotonic() - frame.arrival))


class MediaEngine:
    """The calls of one media node process. See the module docstring. Event loop only."""

    def __init__(
        self,
        store: ObjectStore,
        config: NodeConfig | None = None,
        *,
        on_event: Callable[[MediaEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config or NodeConfig()
        self.layout = KeyLayout(self.config.key_prefix)
        self._on_event = on_event
        self.io_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="media-io")
        self.cpu_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="media-cpu")
        self.library = WaitingMediaLibrary(store, self.cpu_executor)
        self._calls: dict[str, CallMedia] = {}
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Prepare the default waiting media (about a second of CPU, off the loop) and the timer."""
        await self.library.get(None)
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="media-engine-tick")

    async def shutdown(self, reason: str = "node_shutdown") -> list[RecordingInfo]:
        """Close every call (recordings finalized) and stop the timer."""
        infos = []
        for call_id in list(self._calls):
            try:
                infos.append(await self.close_call(call_id, reason))
            except Exception:  # one bad call must not keep the others open
                log.exception("closing %s at shutdown failed", call_id)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.io_executor.shutdown(wait=True)
        self.cpu_executor.shutdown(wait=True)
        return infos

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for call in list(self._calls.values()):
                try:
                    call.tick()
                except Exception:  # the timer must survive one call's failure
                    log.exception("tick of %s failed", call.call_id)

    def emit(self, event: MediaEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # the wiring's bug must not break the media
                log.exception("event handler failed for %s", event)

    # -- capacity --------------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.config.capacity

    @property
    def load(self) -> int:
        """Calls open on this node (closing ones included: they still hold resources)."""
        return len(self._calls)

    def call_ids(self) -> list[str]:
        return list(self._calls)

    def _call(self, call_id: str) -> CallMedia:
        call = self._calls.get(call_id)
        if call is None:
            raise CallNotFound(f"call {call_id} is not open on node {self.config.node_id}", call_id=call_id)
        return call

    # -- orders ----------------------------------------------------------------------------------
    async def open_call(self, call_id: str, waiting_media: str | None = None) -> None:
        """Start carrying ``call_id``: recording armed, waiting media ready (the default clip, or the
        S3 key of the queue's own; a key that cannot be played falls back to the default, logged)."""
        if not CALL_ID.fullmatch(call_id or ""):
            raise BadCallId(f"{call_id!r} is not a usable call id", call_id=call_id)
        if call_id in self._calls:
            raise CallExists(f"call {call_id} is already open on node {self.config.node_id}", call_id=call_id)
        if self.load >= self.capacity:
            raise NodeFull(
                f"node {self.config.node_id} carries {self.load} of {self.capacity} calls", call_id=call_id
            )
        media = await self._waiting_media(waiting_media)
        if call_id in self._calls or self.load >= self.capacity:  # raced while loading the clip
            return await self.open_call(call_id, waiting_media)
        recorder = Recorder(
            self.store,
            call_id,
            layout=self.layout,
            node_id=self.config.node_id,
            chunk_seconds=self.config.chunk_seconds,
            executor=self.io_executor,
        )
        self._calls[call_id] = CallMedia(call_id, engine=self, waiting=media, recorder=recorder)

    async def _waiting_media(self, key: str | None) -> WaitingMedia:
        if key is None:
            return await self.library.get(None)
        try:
            return await self.library.get(key)
        except Exception as exc:  # a queue's bad clip must not fail the call
            log.warning("waiting media %s unusable (%s); playing the default", key, exc)
            return await self.library.get(None)

    async def attach(self, call_id: str, party: str | Party, offer_sdp: str) -> str:
        """Answer ``party``'s WebRTC offer (SDP text); returns the answer SDP. Attaching a party that
        is already attached is a reconnect (see the module docstring)."""
        return await self._call(call_id).attach(parse_party(party), offer_sdp)

    async def detach(self, call_id: str, party: str | Party) -> bool:
        """Close a monitor's link (``party`` must be ``monitor``: the parties' links end with the call).
        False if it was not attached."""
        parsed = parse_party(party)
        if parsed.is_party:
            raise BadParty(f"only a monitor is detached, not the {parsed.value}")
        return await self._call(call_id).detach(parsed)

    async def answered(self, call_id: str) -> None:
        """The agent accepted: the caller's waiting media gives way to the agent's media."""
        self._call(call_id).answered()

    async def snapshot(self, call_id: str, timeout_s: float | None = None) -> SnapshotResult:
        """Take the decision snapshot from the caller's next key frame (see ``media_node.snapshot``)."""
        return await self._call(call_id).snapshot(timeout_s or self.config.snapshot_timeout_s)

    async def close_call(self, call_id: str, reason: str) -> RecordingInfo:
        """Hang up the call's media and finalize its recording; the node's load drops by one."""
        call = self._call(call_id)
        try:
            return await call.close(reason)
        finally:
            self._calls.pop(call_id, None)

    def stats(self, call_id: str) -> CallStats:
        return self._call(call_id).stats()

    async def preload_waiting_media(self, key: str) -> WaitingMedia:
        """Encode a queue's waiting media now; raises ``WaitingMediaInvalid`` with the reason (for the
        admin who configures it)."""
        return await self.library.get(key)
