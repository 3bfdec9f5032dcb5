"""Whether a wait lets a cancellation through when it comes in the same turn of the loop as what the
wait was for. Python 3.11's ``asyncio.wait_for`` does not: it returns the result and the cancel is
lost (ci39: ``python -m sdk mobile`` ignored a Ctrl-C)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def cancel_as_it_completes(
    wait: Awaitable[Any], started: Callable[[], bool], complete: Callable[[], None]
) -> str:
    """Run ``wait`` until ``started()``, then ``complete()`` it and cancel it in one turn of the loop:
    ``"cancelled"`` if the cancel came through, ``"swallowed"`` if the wait returned."""
    waiting = asyncio.ensure_future(wait)
    await asyncio.sleep(0)
    while not started():
        await asyncio.sleep(0)
    complete()
    waiting.cancel()
    try:
        await waiting
    except asyncio.CancelledError:
        return "cancelled"
    return "swallowed"
