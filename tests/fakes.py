"""Small test doubles shared by the test modules."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class FakeClock(Generic[T]):
    """A clock that stands still until a test moves ``now`` (seconds, or a datetime)."""

    def __init__(self, now: T) -> None:
        self.now = now

    def __call__(self) -> T:
        return self.now


def assert_scheduled_event_shape(event: dict[str, Any]) -> None:
    """The fixed parts of an EventBridge "Scheduled Event", as Lambda receives it."""
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
