"""``once``: a value built by its first caller, for the functions' services built at the first event.

Unlike ``functools.cache``, concurrent first callers wait for the one build instead of each building
their own copy: a local stack runs a function's handlers on a thread pool, and a graph built twice
would hold two copies of its in-process state (rate limits, cached settings). Lambda itself runs one
event at a time per container. Stdlib only: imported by every function at cold start.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def once(build: Callable[[], T]) -> Callable[[], T]:
    """``build()``'s value, built at the first call and returned by every call after it. An exception
    leaves nothing built: the next call tries again."""
    lock = threading.Lock()
    built: list[T] = []

    @functools.wraps(build)
    def get() -> T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get
