"""Outbound tracks: what the node sends to one party, as encoded packets, from a switchable source.

The node never decodes on the relay path. An ``OutboundTrack`` is an aiortc track whose ``recv()``
returns ``av.Packet`` (aiortc's sender then only packetizes it). Frames are ``push``ed into it from
any number of sources (the other party's stream, the waiting media, a reconnected party's new
stream), each named by a tag; only the *active* source's frames are sent. ``prefer(tag)`` starts a
switch: for video it completes at the new source's next key frame (a decoder cannot start on an
inter frame), for audio at its next packet. Meanwhile the old source keeps playing, so the viewer
never sees a hole.

Timestamps are rewritten onto one continuous timeline per track: on a switch the new source is
placed after the last packet sent, by the wall-clock time elapsed, so the receiver's jitter buffer
and decoder see one stream whatever happens upstream (waiting media → agent, agent reconnects).

Back-pressure: at most ``max_queue`` frames wait; beyond that (the sender is stuck, e.g. a dead
link) video is dropped up to the next key frame (and one is asked for) and audio drops its oldest.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media_node.frames import EncodedFrame, Kind

KEYFRAME_REQUEST_INTERVAL_S = 0.3


class OutboundTrack(MediaStreamTrack):
    """An aiortc track of encoded packets from the active source. See the module docstring.

    ``on_keyframe_needed(tag)`` is called (at most every 0.3 s) when the track needs a key frame from
    the source ``tag``: at start, during a switch, and after an overflow.
    """

    def __init__(
        self,
        kind: Kind,
        on_keyframe_needed: Callable[[str], None],
        *,
        max_queue: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.kind = kind.value
        self.media_kind = kind
        self._clock_rate = kind.clock_rate
        self._time_base = fractions.Fraction(1, self._clock_rate)
        self._on_keyframe_needed = on_keyframe_needed
        self._max_queue = max_queue or (30 if kind is Kind.VIDEO else 50)
        self._clock = clock
        self._queue: deque[tuple[bytes, int]] = deque()
        self._ready = asyncio.Event()
        self.active: str | None = None
        self.pending: str | None = None
        self._need_keyframe = kind is Kind.VIDEO
        self._offset: int | None = None
        self._last_ts: int | None = None
        self._last_wall = 0.0
        self._last_request = -1e9
        self.frames_sent = 0
        self.frames_dropped = 0
        self.switches = 0

    # -- sources ---------------------------------------------------------------------------------
    def prefer(self, tag: str) -> None:
        """Switch to the source ``tag`` as soon as it can be decoded from (no-op if already active)."""
        if tag == self.active:
            self.pending = None
            return
        if self.active is None:
            self.active = tag
            self._offset = None
            self._need_keyframe = self.media_kind is Kind.VIDEO
        else:
            self.pending = tag
        self._ask_keyframe(tag, force=True)

    def push(self, tag: str, frame: EncodedFrame) -> None:
        """Offer one frame from source ``tag``; it is queued only if ``tag`` is (or becomes) active."""
        if self.readyState != "live":
            return
        if tag == self.pending:
            if frame.keyframe:
                self.active, self.pending = tag, None
                self._offset = None
                self._need_keyframe = False
                self.switches += 1
            else:
                self._ask_keyframe(tag)
        if tag != self.active:
            return
        if self._need_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                self._ask_keyframe(tag)
                return
            self._need_keyframe = False
        if self._offset is None:
            self._offset = self._start_timestamp(frame) - frame.timestamp
        ts = frame.timestamp + self._offset
        if self._last_ts is not None and ts <= self._last_ts:
            # A source that went back in time (should not happen within one stream): stay monotonic.
            ts = self._last_ts + 1
        if len(self._queue) >= self._max_queue:
            self._overflow(tag)
            if self.media_kind is Kind.VIDEO:
                return
        self._queue.append((frame.data, ts))
        self._last_ts = ts
        self._last_wall = frame.arrival
        self._ready.set()

    def _start_timestamp(self, frame: EncodedFrame) -> int:
        if self._last_ts is None:
            return frame.timestamp
        step = self._clock_rate // 50  # at least 20 ms after the last packet
        elapsed = int(max(0.0, frame.arrival - self._last_wall) * self._clock_rate)
        return self._last_ts + max(step, elapsed)

    def _overflow(self, tag: str) -> None:
        if self.media_kind is Kind.VIDEO:
            self.frames_dropped += len(self._queue) + 1
            self._queue.clear()
            self._need_keyframe = True
            self._ask_keyframe(tag, force=True)
        else:
            self._queue.popleft()
            self.frames_dropped += 1

    def _ask_keyframe(self, tag: str, *, force: bool = False) -> None:
        if self.media_kind is not Kind.VIDEO:
            return
        now = self._clock()
        if force or now - self._last_request >= KEYFRAME_REQUEST_INTERVAL_S:
            self._last_request = now
            self._on_keyframe_needed(tag)

    def keyframe_requested_by_receiver(self) -> None:
        """The party's decoder lost its picture (PLI/FIR): ask the active source for a key frame."""
        if self.active is not None:
            self._ask_keyframe(self.active)

    # -- aiortc side -----------------------------------------------------------------------------
    async def recv(self) -> av.Packet:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        data, ts = self._queue.popleft()
        packet = av.Packet(data)
        packet.pts = ts
        packet.dts = ts
        packet.time_base = self._time_base
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._ready.set()
