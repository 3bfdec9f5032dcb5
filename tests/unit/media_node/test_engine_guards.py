"""The engine's guards: every refusal with its stable code, before any media flows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.errors import (
    BadCallId,
    BadParty,
    BadSdp,
    CallExists,
    CallNotFound,
    CallStateError,
    CodecUnsupported,
    NoCustomerVideo,
    NodeFull,
)
from media_node.storage import MemoryStore
from media_node.waiting import WaitingMedia

T = TypeVar("T")

H264_ONLY = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\n"
)


def with_engine(body: Callable[[MediaEngine], Awaitable[T]], capacity: int = 2) -> T:
    async def run() -> T:
        engine = MediaEngine(MemoryStore(), NodeConfig(node_id="n-test", capacity=capacity))
        try:
            return await body(engine)
        finally:
            await engine.shutdown()

    return asyncio.run(run())


def test_a_node_refuses_calls_beyond_its_capacity(waiting_media: WaitingMedia) -> None:
    async def body(engine: MediaEngine) -> None:
        await engine.open_call("C-1")
        await engine.open_call("C-2")
        assert (engine.load, engine.capacity) == (2, 2)
        with pytest.raises(NodeFull) as refused:
            await engine.open_call("C-3")
        assert refused.value.code == "MEDIA_NODE_FULL" and "2 of 2" in refused.value.detail
        info = await engine.close_call("C-1", "hangup")
        assert info.key is None  # no media ever arrived
        await engine.open_call("C-3")
        assert sorted(engine.call_ids()) == ["C-2", "C-3"]

    with_engine(body)


def test_call_ids_are_checked_and_unique(waiting_media: WaitingMedia) -> None:
    async def body(engine: MediaEngine) -> None:
        for bad in ("", "a/b", "x" * 129, "../up"):
            with pytest.raises(BadCallId):
                await engine.open_call(bad)
        await engine.open_call("C-1")
        with pytest.raises(CallExists):
            await engine.open_call("C-1")

    with_engine(body)


def test_orders_for_an_unknown_call_say_so(waiting_media: WaitingMedia) -> None:
    async def body(engine: MediaEngine) -> None:
        with pytest.raises(CallNotFound):
            await engine.attach("nope", "mobile", "v=0")
        with pytest.raises(CallNotFound):
            await engine.answered("nope")
        with pytest.raises(CallNotFound):
            await engine.snapshot("nope")
        with pytest.raises(CallNotFound):
            await engine.close_call("nope", "x")
        await engine.open_call("C-1")
        await engine.close_call("C-1", "hangup")
        with pytest.raises(CallNotFound):
            await engine.close_call("C-1", "again")

    with_engine(body)


def test_bad_parties_and_offers_are_refused_with_their_reason(waiting_media: WaitingMedia) -> None:
    async def body(engine: MediaEngine) -> None:
        await engine.open_call("C-1")
        with pytest.raises(BadParty):
            await engine.attach("C-1", "supervisor", "v=0")
        with pytest.raises(BadSdp, match="not SDP"):
            await engine.attach("C-1", "mobile", "hello")
        with pytest.raises(BadSdp, match="neither audio nor video"):
            await engine.attach("C-1", "mobile", "v=0\r\ns=-\r\n")
        with pytest.raises(CodecUnsupported, match="VP8") as refused:
            await engine.attach("C-1", "mobile", H264_ONLY)
        assert refused.value.code == "MEDIA_CODEC_UNSUPPORTED"
        assert engine.stats("C-1").parties == {}  # nothing was attached

    with_engine(body)


def test_answering_twice_and_a_snapshot_without_video_are_refused(
    waiting_media: WaitingMedia,
) -> None:
    async def body(engine: MediaEngine) -> None:
        await engine.open_call("C-1")
        with pytest.raises(NoCustomerVideo):
            await engine.snapshot("C-1")
        await engine.answered("C-1")
        with pytest.raises(CallStateError, match="connected"):
            await engine.answered("C-1")

    with_engine(body)


def test_a_queue_clip_that_cannot_be_played_falls_back_to_the_default(waiting_media: WaitingMedia) -> None:
    async def body(engine: MediaEngine) -> None:
        await engine.open_call("C-1", waiting_media="waiting/missing.webm")
        call = engine._calls["C-1"]
        assert call.waiting is waiting_media

    with_engine(body)
