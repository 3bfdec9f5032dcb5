"""One gate that every handler invocation of the local stack passes, so that it can be held shut.

The models' table binding (``vkyc.repositories.tables.bind``) belongs to the process: every thread
sees the same one. A caller that binds the models to other tables while a stack runs in the same
process (the functional tests do, with tables of their own, when they run after the integration
tests) would otherwise have the stack's timers, stream consumers and media node heartbeats read and
write *its* tables, and its request counts include theirs.

``invocation()`` wraps each handler call (the WebSocket emulator, the event runners, the REST server).
``paused()`` waits for the invocations in flight to end, holds every new one back until it is left
(they wait: nothing is dropped, a timer fires late), and nests. ``make up`` never pauses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InvocationGate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._pauses = 0

    @property
    def paused_now(self) -> bool:
        with self._changed:
            return self._pauses > 0

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """Around one handler call: waits while the gate is paused."""
        with self._changed:
            self._changed.wait_for(lambda: self._pauses == 0)
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    @contextmanager
    def paused(self, timeout: float = 60.0) -> Iterator[None]:
        """No handler runs inside (those in flight are waited for, up to ``timeout`` s: then
        ``TimeoutError``, the gate left open). Must not be entered from inside a handler."""
        with self._changed:
            self._pauses += 1
            if not self._changed.wait_for(lambda: self._running == 0, timeout):
                self._pauses -= 1
                self._changed.notify_all()
                raise TimeoutError(f"{self._running} handler invocation(s) still running after {timeout} s")
        try:
            yield
        finally:
            with self._changed:
                self._pauses -= 1
                self._changed.notify_all()


GATE = InvocationGate()
"""The gate of this process's stack (one stack per process: ``make up``, or the tests' session)."""
