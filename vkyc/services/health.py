"""``GET /health``: whether vkyc's dependencies answer, and which one does not.

Checks DynamoDB (every table of the bound prefix exists: one BatchGetItem) and the media bucket
(HeadBucket). A failed check answers ``SERVICE_UNAVAILABLE`` (503) whose message names each failed
dependency and why (``dynamodb: EndpointConnectionError``; ``dynamodb: missing vkyc-calls``). The
result is kept ``CACHE_S`` seconds per container, so that polling ``/health`` (it needs no token)
cannot turn into a flood of AWS requests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from vkyc.protocol.errors import ProtocolError
from vkyc.services.failures import unavailable_reason

log = logging.getLogger("vkyc.health")

CACHE_S = 5.0
Check = Callable[[], str | None]  # None: fine; else what is wrong. May raise (then: why, from botocore).


class HealthService:
    def __init__(self, checks: dict[str, Check], clock: Callable[[], float] = time.monotonic) -> None:
        self.checks = checks
        self.clock = clock
        self._last: tuple[float, dict[str, str]] | None = None
        self._lock = threading.Lock()

    def status(self) -> dict[str, str]:
        """Each dependency's ``ok``; raises ``SERVICE_UNAVAILABLE`` naming the failed ones."""
        with self._lock:
            now = self.clock()
            if self._last is None or now - self._last[0] >= CACHE_S:
                self._last = (now, {name: _run(name, check) for name, check in self.checks.items()})
            results = self._last[1]
        failed = [f"{name}: {result}" for name, result in results.items() if result != "ok"]
        if failed:
            raise ProtocolError("SERVICE_UNAVAILABLE", "; ".join(failed))
        return dict(results)


def _run(name: str, check: Check) -> str:
    try:
        problem = check()
    except Exception as exc:
        log.warning("health check %s failed", name, exc_info=True)
        return unavailable_reason(exc) or type(exc).__name__
    return problem or "ok"
