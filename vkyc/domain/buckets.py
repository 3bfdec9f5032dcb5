"""Report buckets: 15-minute buckets in UTC and local days (every time zone offset in use is a
multiple of 15 minutes, so a local hour is a sum of 15-minute buckets), and times as integer
milliseconds, so that every path computing a duration agrees to the millisecond. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo

QUARTER = timedelta(minutes=15)
MS = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(when: datetime) -> int:
    """Milliseconds since the epoch, by integer arithmetic (both paths must agree to the millisecond)."""
    return (when.astimezone(UTC) - EPOCH) // MS


def quarter_of(when: datetime) -> datetime:
    """The start of the 15-minute bucket holding ``when`` (UTC)."""
    utc = when.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def quarter_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_quarter(key: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def day_key(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).date().isoformat()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of a local day, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def quarters(start: datetime, end: datetime) -> Iterator[datetime]:
    """The 15-minute bucket starts from the one holding ``start`` up to before ``end``."""
    at = quarter_of(start)
    while at < end:
        yield at
        at += QUARTER


def pieces(start: datetime, end: datetime, zone: tzinfo) -> Iterator[tuple[str, str, int]]:
    """``[start, end)`` split at 15-minute and local-day boundaries: (quarter key, day key, ms)."""
    at = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while at < end:
        quarter_end = quarter_of(at) + QUARTER
        local = at.astimezone(zone)
        next_day = day_start(local.date() + timedelta(days=1), zone)
        stop = min(end, quarter_end, next_day)
        yield quarter_key(quarter_of(at)), local.date().isoformat(), ms(stop) - ms(at)
        at = stop
