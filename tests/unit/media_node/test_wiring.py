"""The node's signaling wiring (``media_node.wiring``) on the cases the integration tests do not reach:
a ``media.close`` for a call the node does not carry, a late ``media.attach`` of a closed call, and
the error codes of the catalogue (every ``MediaError`` code is one of signaling's)."""

from __future__ import annotations

import asyncio
from typing import Any

from media_node.config import NodeConfig
from media_node.engine import MediaEngine
from media_node.errors import CODES
from media_node.recorder import encode_part_header
from media_node.storage import MemoryStore
from media_node.wiring import NodeWiring, WiringConfig
from tests.cancellation import cancel_as_it_completes
from vkyc.protocol.errors import CATALOGUE
from vkyc.protocol.messages import MediaAttach, ReplyTo


class FakeClient:
    ended = None

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def request(self, action: str, **fields: Any) -> None:
        self.sent.append((action, fields))


def wired() -> tuple[NodeWiring, FakeClient, MemoryStore]:
    store = MemoryStore()
    config = NodeConfig(node_id="node-t")
    wiring = NodeWiring(MediaEngine(store, config), config, WiringConfig(node_key="k"))
    client = FakeClient()
    wiring.client = client  # type: ignore[assignment]
    return wiring, client, store


def test_closing_a_call_never_opened_here_reports_no_recording() -> None:
    wiring, client, _ = wired()
    asyncio.run(wiring._close("C-never", "completed"))
    [(action, fields)] = client.sent
    assert action == "media.recording" and fields["call_id"] == "C-never"
    assert fields["key"] is None and fields["size"] == 0 and fields["end_reason"] == "completed"


def test_closing_a_call_whose_parts_another_process_left_assembles_them() -> None:
    wiring, client, store = wired()
    header = {"call_id": "C-left", "seq": 0, "node_id": "node-t", "recording_started_at": 0, "written_at": 0}
    store.put("calls/C-left/recording/parts/00000000.vkr", encode_part_header(header))
    asyncio.run(wiring._close("C-left", "completed"))
    [(action, fields)] = client.sent
    assert action == "media.recording" and fields["key"] is None  # nothing playable in that part
    assert store.list_prefix("calls/C-left/recording/parts/") == []  # but it was taken care of


def test_a_close_for_a_call_that_is_not_ours_is_dropped_and_a_late_attach_refused() -> None:
    wiring, client, _ = wired()
    asyncio.run(wiring._close("C-other", "not_assigned"))
    assert client.sent == []
    reply_to = ReplyTo(connection_id="conn-1", request_id="m-1")
    attach = MediaAttach(call_id="C-other", party="mobile", sdp="v=0", answered=False, reply_to=reply_to)
    asyncio.run(wiring._attach(attach))
    [(action, fields)] = client.sent
    assert action == "media.error" and fields["code"] == "MEDIA_CALL_STATE" and fields["op"] == "attach"
    assert (
        fields["reply_to"] == {"connection_id": "conn-1", "request_id": "m-1"} and fields["party"] == "mobile"
    )


def test_every_media_node_code_is_a_catalogue_code_with_the_same_message() -> None:
    for code, info in CODES.items():
        assert code in CATALOGUE, code
        assert CATALOGUE[code].message == info.message, code


def test_a_stop_that_comes_with_the_cancel_of_a_reconnection_wait_does_not_swallow_the_cancel() -> None:
    # The node waits between reconnection attempts until its stop event or a delay. On Python 3.11,
    # asyncio.wait_for returned (instead of raising) when the task was cancelled in the same turn as
    # the event was set, and the node's shutdown then went on as if never cancelled (ci39, in the SDK).
    from media_node.wiring import _wait

    async def scenario() -> str:
        stop = asyncio.Event()
        return await cancel_as_it_completes(_wait(stop, 10), lambda: True, stop.set)

    assert asyncio.run(scenario()) == "cancelled"


def test_the_reconnection_wait_ends_on_stop_or_after_its_delay() -> None:
    from media_node.wiring import _wait

    async def scenario() -> tuple[bool, bool]:
        stop = asyncio.Event()
        await _wait(stop, 0.01)  # the delay passes: no error
        after_delay = stop.is_set()
        stop.set()
        await _wait(stop, 3600)  # already stopped: returns at once
        return after_delay, stop.is_set()

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == (False, True)
