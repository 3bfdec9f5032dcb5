"""Per-process caches of configuration read on every call request: ``cached_settings`` here, and the
``TtlCache`` that ``vkyc.repositories.policy`` uses for the SUB_TYPE table too.

Configuration changes rarely and is read on every call request, so a warm container keeps what it read
for ``CONFIG_TTL_S`` (30 s). The price: a change made by an admin (a number blacklisted, a cap set)
reaches each warm container up to 30 s later (the admin API's own container at once). Entries are
keyed by the bound table prefix too, so a re-bound process (tests, a second stack) never sees another
prefix's configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from vkyc.domain.settings import CallSettings
from vkyc.repositories import tables
from vkyc.repositories.settings import effective_settings

CONFIG_TTL_S = 30.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key, each kept ``ttl_s`` seconds after it was loaded (by ``clock``, seconds).

    ``clock`` is injectable (tests move time by hand); the default ``time.monotonic`` is immune to
    wall-clock jumps. Not locked: two threads missing at once both load, and the last one stored wins,
    which is harmless for configuration. A load that raises stores nothing.
    """

    def __init__(self, ttl_s: float = CONFIG_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The value of ``key``: cached if loaded less than ``ttl_s`` ago, else ``load()`` (stored)."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl_s:
            return entry[1]
        value = load()
        self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        """Forget everything (after a write in this process, or between tests)."""
        self._entries.clear()


SETTINGS_CACHE: TtlCache[tuple[str, str | None], CallSettings] = TtlCache()
"""The process's cache behind ``cached_settings``; its ``clock`` may be replaced (tests)."""


def cached_settings(unit_id: str | None = None) -> CallSettings:
    """``effective_settings(unit_id)`` as read at most ``CONFIG_TTL_S`` ago in this process.

    Costs no request when warm, else those of ``effective_settings`` (two Queries for a unit, one for the
    global scope). Raises what ``effective_settings`` raises (and caches nothing then).
    """
    return SETTINGS_CACHE.get((tables.prefix(), unit_id), lambda: effective_settings(unit_id))
