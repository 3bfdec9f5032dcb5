"""A slow, lossy link in user space: random loss plus a token bucket, around one aiortc peer.

This machine's kernel has ``tbf`` but no ``netem`` (and no packet classifiers), so the loss has to be
injected in user space anyway; doing the rate here too keeps the test free of network namespaces
and root-only setup. ``impair(pc, ...)`` wraps the datagram transport under a peer connection's DTLS
layer (aioice's ``send``/``recv``, reached through ``sdk.aiortc_internals``):
every SRTP/SRTCP datagram in either direction goes through a ``Shaper``, as through a real link.

``Shaper``: each datagram is dropped with probability ``loss``; the rest wait in a FIFO drained at
``rate_bps`` by a token bucket (``burst_bytes`` deep), tail-dropped when more than ``queue_bytes``
wait (like ``tc qdisc add ... tbf rate 300kbit burst 4kb limit 15kb``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection

from bench.media_peers import connect
from media_node.engine import MediaEngine
from sdk.aiortc_internals import ice_datagram_io, replace_ice_datagram_io
from sdk.media import MediaPeer


@dataclass
class ShaperStats:
    offered: int = 0
    lost: int = 0
    overflow: int = 0
    delivered: int = 0
    delivered_bytes: int = 0


class Shaper:
    def __init__(
        self,
        deliver: Callable[[bytes], Awaitable[None]],
        *,
        rate_bps: int,
        loss: float,
        burst_bytes: int = 4000,
        queue_bytes: int = 15000,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._deliver = deliver
        self.rate = rate_bps / 8.0  # bytes per second
        self.loss = loss
        self.burst = burst_bytes
        self.limit = queue_bytes
        self._rng = rng or random.Random()
        self._clock = clock or asyncio.get_running_loop().time
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._tokens = float(burst_bytes)
        self._stamp = self._clock()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pump())
        self.stats = ShaperStats()

    def offer(self, data: bytes) -> None:
        self.stats.offered += 1
        if self._rng.random() < self.loss:
            self.stats.lost += 1
            return
        if self._queued + len(data) > self.limit:
            self.stats.overflow += 1
            return
        self._queue.append(data)
        self._queued += len(data)
        self._wake.set()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def _pump(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._refill()
            size = len(self._queue[0])
            if self._tokens < size:
                await asyncio.sleep((size - self._tokens) / self.rate)
                continue
            data = self._queue.popleft()
            self._queued -= size
            self._tokens -= size
            self.stats.delivered += 1
            self.stats.delivered_bytes += size
            with contextlib.suppress(ConnectionError):
                await self._deliver(data)

    def close(self) -> None:
        self._task.cancel()


@dataclass
class Impairment:
    uplink: Shaper
    downlink: Shaper
    _pull: asyncio.Task[None]

    def close(self) -> None:
        self.uplink.close()
        self.downlink.close()
        self._pull.cancel()


def impair(pc: RTCPeerConnection, *, rate_bps: int, loss: float, seed: int = 5) -> Impairment:
    """Put a ``Shaper`` on each direction of ``pc``'s (bundled) transport. Call once connected."""
    transports = {t.sender.transport.transport for t in pc.getTransceivers()}
    if len(transports) != 1:
        raise RuntimeError(f"expected one bundled ICE transport, found {len(transports)}")
    ice = transports.pop()
    send, recv = ice_datagram_io(ice)
    rng = random.Random(seed)
    inbound: asyncio.Queue[bytes | BaseException] = asyncio.Queue()

    async def to_queue(data: bytes) -> None:
        inbound.put_nowait(data)

    uplink = Shaper(send, rate_bps=rate_bps, loss=loss, rng=rng)
    downlink = Shaper(to_queue, rate_bps=rate_bps, loss=loss, rng=rng)

    async def pull() -> None:
        while True:
            try:
                data = await recv()
            except BaseException as exc:  # handed to the reader, which raises it
                inbound.put_nowait(exc)
                return
            downlink.offer(data)

    async def shaped_send(data: bytes) -> None:
        uplink.offer(data)

    async def shaped_recv() -> bytes:
        item = await inbound.get()
        if isinstance(item, BaseException):
            raise item
        return item

    task = asyncio.get_running_loop().create_task(pull())
    replace_ice_datagram_io(ice, shaped_send, shaped_recv)
    return Impairment(uplink, downlink, task)


RATE_BPS = 300_000
LOSS = 0.10


async def call_on_a_slow_link(
    engine: MediaEngine, call_id: str, mobile: MediaPeer, agent: MediaPeer
) -> Impairment:
    """Open ``call_id`` on ``engine``, link the caller, put it behind a bad mobile link (``RATE_BPS``
    each way, ``LOSS`` at random), answer and link the agent. The caller closes the returned link."""
    await engine.open_call(call_id)
    await connect(engine, call_id, "mobile", mobile)
    link = impair(mobile.pc, rate_bps=RATE_BPS, loss=LOSS)
    await engine.answered(call_id)
    await connect(engine, call_id, "agent", agent)
    return link
