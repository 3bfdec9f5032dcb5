"""Virtual time for asyncio code: rates and deadlines checked without the wall clock.

``run_virtual(coroutine)`` runs it on an event loop whose clock (``loop.time()``, which ``asyncio.sleep``,
``call_later`` and timeouts use) starts at 0 and moves by one microsecond per turn of the loop (so that
code waiting for a sliver of time, as a token bucket does, sees it pass); when nothing is ready to run,
it jumps to the next timer. A second of shaping or playing takes milliseconds, and a busy machine
cannot make a frame late. Code that reads ``time.monotonic()`` instead of the loop's clock is not
affected; sockets and threads still work, but a wait for their I/O would be skipped over: keep such
code out of it.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0


TURN_S = 1e-6  # what one turn of the loop costs, in virtual time


class _JumpingSelector(selectors.BaseSelector):
    """Never blocks: when nothing is ready, it moves the clock by the time the loop would have waited."""

    def __init__(self, clock: _Clock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if not ready and timeout is None:
            raise RuntimeError(
                "virtual time: nothing scheduled and nothing ready, the loop would wait forever"
            )
        self._clock.now += TURN_S if ready or timeout is None else max(TURN_S, timeout)
        return ready

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._clock = _Clock()
        super().__init__(_JumpingSelector(self._clock))

    def time(self) -> float:
        return self._clock.now


def run_virtual(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, on a ``VirtualTimeLoop``."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
