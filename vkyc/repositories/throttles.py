"""Failure counters of the credential endpoints (``throttles``): the only code that knows the table's key.

A counter lives across Lambda containers: it is counted with an atomic ``ADD`` and read strongly
consistent, so a lock set by one container refuses the next attempt in any other. Times are Unix
seconds (``int``); the caller gives ``now`` (tests move it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from vkyc.repositories.tables import Throttle


@dataclass(frozen=True)
class Counter:
    """One counter as read: ``failures`` in the current window (0 when the window is over)."""

    key: str
    failures: int
    locked_until: int  # 0: not locked

    def locked_for(self, now: int) -> int:
        """Seconds the lock still lasts (0: not locked)."""
        return max(0, self.locked_until - now)


def counter_key(scope: str, kind: str, value: str) -> str:
    """``login:account:tdv1.kv1``. ``kind`` is ``account`` or ``source``."""
    return f"{scope}:{kind}:{value}"


def read(keys: list[str], *, now: int, window_s: dict[str, int]) -> dict[str, Counter]:
    """The counters of ``keys`` (absent ones are zero). One BatchGetItem, strongly consistent."""
    found: dict[str, Counter] = {key: Counter(key, 0, 0) for key in keys}
    for item in Throttle.batch_get(keys, consistent_read=True):
        last = item.last_failure_at or 0
        fresh = now - last <= window_s[item.throttle_key]
        found[item.throttle_key] = Counter(
            item.throttle_key, item.failures if fresh else 0, item.locked_until or 0
        )
    return found


def add_failure(key: str, *, now: int, window_s: int) -> int:
    """Count one failure; return the count in the current window. One UpdateItem (two when the window
    is over: the count starts again at 1)."""
    item = Throttle(throttle_key=key)
    expires = datetime.fromtimestamp(now + window_s, UTC)
    try:
        item.update(
            actions=[
                Throttle.failures.add(1),
                Throttle.last_failure_at.set(now),
                Throttle.expires_at.set(expires),
            ],
            condition=Throttle.last_failure_at >= now - window_s,
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise
        # Absent, or its window is over. Two containers restarting the same window at once count 1
        # instead of 2: an undercount of one, once per window.
        item.update(
            actions=[
                Throttle.failures.set(1),
                Throttle.last_failure_at.set(now),
                Throttle.expires_at.set(expires),
            ]
        )
    return int(item.failures)


def lock(key: str, *, until: int) -> None:
    """Refuse every attempt of the counter until ``until`` (a later lock already set is kept).
    One UpdateItem."""
    try:
        Throttle(throttle_key=key).update(
            actions=[Throttle.locked_until.set(until)],
            condition=Throttle.locked_until.does_not_exist() | (Throttle.locked_until < until),
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise


def clear(key: str) -> None:
    """Forget the counter (an account's after a successful login). One DeleteItem."""
    Throttle(throttle_key=key).delete()


def _condition_failed(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"
