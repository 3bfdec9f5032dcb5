"""The stdio control client (``media_node.control.ControlClient``) that tests and benchmarks drive a
node process with: a cancellation is never swallowed, and a reply that does not come times out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from media_node.control import ControlClient
from tests.cancellation import cancel_as_it_completes


class FakeStdin:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.lines.append(data)

    async def drain(self) -> None:
        return None


class FakeProcess:
    def __init__(self) -> None:
        self.stdin = FakeStdin()


def client_with_fake_process() -> ControlClient:
    client = ControlClient(["unused"], env={})
    client.process = FakeProcess()  # type: ignore[assignment]
    return client


def test_a_cancel_that_comes_with_the_reply_is_not_swallowed() -> None:
    # On Python 3.11, asyncio.wait_for returns the result when the task is cancelled in the same turn
    # as the result arrives: a test or benchmark cancelling its run would go on as if not cancelled.
    async def scenario() -> str:
        client = client_with_fake_process()
        return await cancel_as_it_completes(
            client.request("stats"),
            lambda: bool(client._waiting),
            lambda: client._waiting[1].set_result({"ok": True, "result": {}}),
        )

    assert asyncio.run(scenario()) == "cancelled"


def test_a_request_gets_its_result_or_times_out() -> None:
    async def scenario() -> Any:
        client = client_with_fake_process()
        asking = asyncio.create_task(client.request("stats"))
        while not client._waiting:
            await asyncio.sleep(0)
        client._waiting.pop(1).set_result({"ok": True, "result": {"calls": 0}})
        answered = await asking
        with pytest.raises(TimeoutError):
            await client.request("stats", timeout=0.01)
        return answered, [line.decode() for line in client.process.stdin.lines]  # type: ignore[union-attr]

    answered, sent = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert answered == {"calls": 0}
    assert sent[0] == '{"id": 1, "op": "stats", "args": {}}\n'
    assert len(sent) == 2
