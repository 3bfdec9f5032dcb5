"""The small interfaces services need from the outside world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from vkyc.domain.media_facts import StoredObject


class Notifier(Protocol):
    """Pushes to a WebSocket connection (API Gateway ``@connections``)."""

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Send one JSON message; False when the connection is gone (410)."""
        ...

    def close(self, connection_id: str) -> None:
        """Close the connection; a gone connection is not an error."""
        ...


class Timers(Protocol):
    """Delayed work (SQS ``DelaySeconds``), delivered to the timer handler after ``delay_s``."""

    def schedule(self, kind: str, payload: dict[str, Any], delay_s: int) -> None: ...

    def schedule_many(self, timers: list[Timer]) -> None:
        """Several timers in one request (SQS ``SendMessageBatch``, at most 10)."""
        ...


class ObjectFacts(Protocol):
    """What the media bucket reports of an object, without reading it (S3 HeadObject)."""

    def stat(self, key: str) -> StoredObject | None:
        """Size and full-object SHA-256 of ``key`` as S3 reports them; None when there is no such object."""
        ...


@dataclass(frozen=True)
class Timer:
    kind: str
    payload: dict[str, Any]
    delay_s: int


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC); None is now."""
    if moment is None:
        return utc_now()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
