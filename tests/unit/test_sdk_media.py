"""The SDK's media calls (``VkycClient.media_offer`` / ``media_snapshot``, ``request_then``) against the
in-process fake server: the ``ack`` comes at once, the answer later with the same ``request_id``, in
either order; an error after the ack raises; no answer times out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from sdk import RequestTimeout, ServerError, SessionLost, VkycClient
from tests.unit.test_sdk_fake import FakeServer, fake_server
from vkyc.protocol.messages import MediaAnswer, MediaSnapshotTaken, Role

CALL = "c-1"
SDP = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def open_client(server: FakeServer, role: Role = Role.MOBILE) -> VkycClient:
    return await VkycClient.open(server.url, token=server.issue_token(role, "A-1"), heartbeat=False)


async def asked(server: FakeServer, client: VkycClient, action: str) -> str:
    """The request id of ``action`` once the server has accepted it."""
    for _ in range(500):
        found = server.accepted_of(client.session_id, action)
        if found:
            return str(found[-1]["request_id"])
        await asyncio.sleep(0.01)
    raise AssertionError(f"{action} never arrived")


async def acknowledged(client: VkycClient, request_id: str) -> None:
    """Once the client has read the ``ack`` of ``request_id`` (it no longer waits for a reply to it)."""
    for _ in range(1000):
        if request_id not in client._pending:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no ack of {request_id} read within 10 s")


def answer(request_id: str) -> dict[str, Any]:
    return {"action": "media.answer", "request_id": request_id, "call_id": CALL, "sdp": "v=0 answer"}


def test_the_answer_comes_after_the_ack_with_the_same_request_id() -> None:
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            task = asyncio.create_task(client.media_offer(CALL, SDP))
            request_id = await asked(server, client, "media.offer")
            await acknowledged(client, request_id)
            await server.push(
                server.only_session(), {"action": "call.queued", "call_id": CALL, "position": 1}
            )
            await server.push(server.only_session(), answer(request_id))
            got = await task
            assert isinstance(got, MediaAnswer) and got.sdp == "v=0 answer" and got.request_id == request_id
            assert [m.action for m in client.drain_pushes()] == ["call.queued"]  # other pushes untouched
            sent = server.accepted_of(client.session_id, "media.offer")[-1]
            assert sent["call_id"] == CALL and sent["sdp"] == SDP
            await client.close()

    run(scenario)


def test_an_answer_before_the_ack_is_not_lost() -> None:
    async def scenario() -> None:
        async with fake_server() as server:
            server.slow_actions["media.snapshot"] = 0.3  # the ack is late
            client = await open_client(server, Role.AGENT)
            task = asyncio.create_task(client.media_snapshot(CALL))
            request_id = await asked(server, client, "media.snapshot")
            taken = {
                "action": "media.snapshot_taken",
                "request_id": request_id,
                "call_id": CALL,
                "snapshot_id": "snap-1",
                "face_found": False,
                "face_box": None,
                "sharpness": 3.5,
                "taken_at": "2026-01-01T00:00:00Z",
                "width": 320,
                "height": 240,
            }
            await server.push(server.only_session(), taken)
            got = await task
            assert (
                isinstance(got, MediaSnapshotTaken)
                and got.face_found is False
                and got.snapshot_id == "snap-1"
            )
            await client.close()

    run(scenario)


def test_an_error_after_the_ack_raises_with_its_code() -> None:
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            task = asyncio.create_task(client.media_offer(CALL, SDP))
            request_id = await asked(server, client, "media.offer")
            await acknowledged(client, request_id)
            error = {
                "action": "error",
                "code": "MEDIA_CODEC_UNSUPPORTED",
                "message": "The offer has no codec the media node relays (VP8 video, Opus audio).",
                "request_id": request_id,
                "call_id": CALL,
            }
            await server.push(server.only_session(), error)
            with pytest.raises(ServerError) as caught:
                await task
            assert caught.value.code == "MEDIA_CODEC_UNSUPPORTED" and caught.value.call_id == CALL
            await client.close()

    run(scenario)


def test_no_answer_times_out_and_a_lost_session_ends_the_wait() -> None:
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            with pytest.raises(RequestTimeout):
                await client.media_offer(CALL, SDP, timeout_s=0.3)
            task = asyncio.create_task(client.media_offer(CALL, SDP))
            while len(server.accepted_of(client.session_id, "media.offer")) < 2:
                await asyncio.sleep(0.01)
            # Acknowledged: the client waits for the answer only.
            await acknowledged(client, await asked(server, client, "media.offer"))
            await server.end(server.only_session(), "grace_expired")
            with pytest.raises(SessionLost):
                await task

    run(scenario)
