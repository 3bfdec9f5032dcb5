"""``@app.schedule`` locally: EventBridge schedule expressions and a runner that fires them.

Expressions (all times UTC, as EventBridge rules are):

* ``rate(N unit)`` with unit ``minute|minutes|hour|hours|day|days``. As in AWS the unit is singular
  exactly when N is 1 (``rate(1 hours)`` and ``rate(5 hour)`` are refused). A rate has no anchor:
  the first fire is one period after the runner started.
* ``cron(minutes hours day-of-month month day-of-week year)``, six fields, with ``*``, ``?``,
  lists ``a,b``, ranges ``a-b``, steps ``*/n``, ``a/n``, ``a-b/n``, month names ``JAN``..``DEC``
  and day names ``SUN``..``SAT`` (day-of-week 1 is Sunday, as in AWS). Which wildcard each field
  accepts follows the AWS table (no step in day-of-week). Exactly one of day-of-month and
  day-of-week must be ``?``, as AWS requires.

Refused with :class:`ScheduleError` (rather than fired at a wrong time): ``L`` (last day),
``W`` (nearest weekday) and ``#`` (n-th weekday of the month), and ranges that wrap around
(``FRI-MON``); write a list instead (``FRI,SAT,SUN,MON``).

The runner keeps *virtual* time: ``origin + (clock() - origin) * time_scale``, where ``origin`` is
the clock's reading when the runner was built. ``time_scale=60`` makes a minute pass in a second.
Fires missed because the process was busy or the clock jumped are not replayed: like EventBridge,
the next fire is the first one still in the future (the skip is logged).
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalice import Chalice
from chalice.app import ScheduledEventConfig, ScheduleExpression

from local.runners.base import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_STAGE,
    LOG,
    Handler,
    Runner,
    deployed_function_name,
    invoke,
)

Clock = Callable[[], datetime]


class ScheduleError(ValueError):
    """A schedule expression is malformed, or uses a feature the local scheduler does not run."""


class Schedule(Protocol):
    """A parsed schedule expression."""

    @property
    def expression(self) -> str:
        """The expression as written (``rate(...)`` or ``cron(...)``)."""
        ...

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire strictly after ``moment`` (for a rate: one period after it), or None."""
        ...

    def resume(self, previous: datetime, now: datetime) -> datetime | None:
        """The first fire strictly after ``now`` in the sequence that fired at ``previous``."""
        ...


def _utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- rate ----------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class RateSchedule:
    """``rate(N unit)``: every ``period``, counted from whenever the sequence started."""

    expression: str
    period: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return _utc(moment) + self.period

    def resume(self, previous: datetime, now: datetime) -> datetime:
        previous, now = _utc(previous), _utc(now)
        if now < previous:
            return previous + self.period
        periods = (now - previous) // self.period + 1
        return previous + self.period * periods


def parse_rate(expression: str) -> RateSchedule:
    match = _RATE.match(expression.strip())
    if match is None:
        raise ScheduleError(f"{expression!r}: expected rate(N minute|minutes|hour|hours|day|days)")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        raise ScheduleError(f"{expression!r}: unknown unit {unit!r} (minute(s), hour(s) or day(s))")
    if value < 1:
        raise ScheduleError(f"{expression!r}: the value must be a positive integer")
    if (value == 1) != (unit == singular):
        # AWS rejects rate(1 minutes) and rate(5 minute); so do we, so it fails here, not at deploy.
        wanted = singular if value == 1 else singular + "s"
        raise ScheduleError(f"{expression!r}: AWS requires rate({value} {wanted})")
    return RateSchedule(expression=expression.strip(), period=_RATE_UNITS[singular] * value)


# --- cron ----------------------------------------------------------------------------------------

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAY_NAMES = {
    name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)
}
_UNSUPPORTED = {
    "L": "'L' (last day of month / last weekday)",
    "W": "'W' (nearest weekday)",
    "#": "'#' (n-th weekday of the month)",
}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]
    step: bool
    question: bool


_FIELDS = (
    _Field("minutes", 0, 59, {}, step=True, question=False),
    _Field("hours", 0, 23, {}, step=True, question=False),
    _Field("day-of-month", 1, 31, {}, step=True, question=True),
    _Field("month", 1, 12, _MONTH_NAMES, step=True, question=False),
    _Field("day-of-week", 1, 7, _DAY_NAMES, step=False, question=True),
    _Field("year", 1970, 2199, {}, step=True, question=False),
)


def _value(token: str, field: _Field, expression: str) -> int:
    upper = token.upper()
    if upper in field.names:
        return field.names[upper]
    if not token.isdigit():
        for char, what in _UNSUPPORTED.items():
            if char in upper:
                raise ScheduleError(
                    f"{expression!r}: {what} in {field.name} is not supported by the local scheduler"
                )
        raise ScheduleError(f"{expression!r}: {token!r} is not a valid {field.name} value")
    number = int(token)
    if not field.low <= number <= field.high:
        raise ScheduleError(f"{expression!r}: {field.name} {number} outside {field.low}-{field.high}")
    return number


def _parse_field(text: str, field: _Field, expression: str) -> frozenset[int] | None:
    """The set of values ``text`` selects; None for ``?`` (no constraint from this field)."""
    if text == "?":
        if not field.question:
            raise ScheduleError(f"{expression!r}: '?' is only allowed in day-of-month and day-of-week")
        return None
    if "#" in text:
        raise ScheduleError(f"{expression!r}: {_UNSUPPORTED['#']} is not supported by the local scheduler")
    values: set[int] = set()
    for element in text.split(","):
        base, slash, step_text = element.partition("/")
        step = 1
        if slash:
            if not field.step:
                raise ScheduleError(f"{expression!r}: AWS allows no '/' in {field.name}")
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"{expression!r}: bad step {step_text!r} in {field.name}")
            step = int(step_text)
        if base == "*":
            start, end = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field, expression), _value(last, field, expression)
            if start > end:
                raise ScheduleError(
                    f"{expression!r}: range {base!r} in {field.name} wraps around; "
                    "the local scheduler needs start <= end (write a list instead)"
                )
        else:
            start = _value(base, field, expression)
            # AWS reads "a/n" as "from a to the end, every n".
            end = field.high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _aws_weekday(day: datetime) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday (Python: Monday = 0 ... Sunday = 6)."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class CronSchedule:
    """A parsed ``cron(...)``: the allowed values of each field (None = ``?``), all UTC."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def _day_matches(self, moment: datetime) -> bool:
        if self.days_of_month is not None:
            return moment.day in self.days_of_month
        assert self.days_of_week is not None
        return _aws_weekday(moment) in self.days_of_week

    def next_after(self, moment: datetime) -> datetime | None:
        """The first whole minute strictly after ``moment`` that matches every field; None when
        no such minute exists (years exhausted, or e.g. ``cron(0 0 31 2 ? *)``)."""
        current = _utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        last_year = max(self.years)
        # Each step either returns or moves to the start of the next year/month/day/hour/minute,
        # so the loop ends: at worst ~(years x (12 + 31)) coarse steps plus 24 + 60 fine ones.
        while current.year <= last_year:
            if current.year not in self.years:
                current = datetime(current.year + 1, 1, 1, tzinfo=UTC)
            elif current.month not in self.months:
                year, month = divmod(current.year * 12 + current.month, 12)  # month is 0-based here
                current = datetime(year, month + 1, 1, tzinfo=UTC)
            elif not self._day_matches(current):
                current = current.replace(hour=0, minute=0) + timedelta(days=1)
            elif current.hour not in self.hours:
                current = current.replace(minute=0) + timedelta(hours=1)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current
        return None

    def resume(self, previous: datetime, now: datetime) -> datetime | None:
        # Cron times are absolute: the sequence does not depend on when it last fired.
        return self.next_after(max(_utc(previous), _utc(now)))


def parse_cron(expression: str) -> CronSchedule:
    text = expression.strip()
    if not (text.startswith("cron(") and text.endswith(")")):
        raise ScheduleError(
            f"{expression!r}: expected cron(minutes hours day-of-month month day-of-week year)"
        )
    parts = text[len("cron(") : -1].split()
    if len(parts) != len(_FIELDS):
        raise ScheduleError(f"{expression!r}: AWS cron takes 6 fields, got {len(parts)}")
    parsed = [_parse_field(part, field, expression) for part, field in zip(parts, _FIELDS, strict=True)]
    minutes, hours, days_of_month, months, days_of_week, years = parsed
    if (days_of_month is None) == (days_of_week is None):
        raise ScheduleError(
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?' (an AWS rule)"
        )
    assert minutes is not None and hours is not None and months is not None and years is not None
    return CronSchedule(text, minutes, hours, days_of_month, months, days_of_week, years)


def parse_schedule(expression: str | ScheduleExpression) -> RateSchedule | CronSchedule:
    """Parse what ``@app.schedule`` was given: a string, a ``chalice.Rate`` or a ``chalice.Cron``."""
    text = expression if isinstance(expression, str) else expression.to_string()
    text = text.strip()
    if text.startswith("rate("):
        return parse_rate(text)
    if text.startswith("cron("):
        return parse_cron(text)
    raise ScheduleError(f"{text!r}: expected rate(...) or cron(...)")


# --- event ---------------------------------------------------------------------------------------


def rule_arn(region: str, account_id: str, rule_name: str) -> str:
    return f"arn:aws:events:{region}:{account_id}:rule/{rule_name}"


def scheduled_event(*, fire_time: datetime, region: str, account_id: str, rule: str) -> dict[str, Any]:
    """The event EventBridge sends a Lambda for a scheduled rule (``rule`` is the rule's ARN)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": _utc(fire_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule],
        "detail": {},
    }


# --- runner --------------------------------------------------------------------------------------


@dataclass
class _Entry:
    name: str
    function_name: str
    handler: Handler
    schedule: Schedule
    rule: str
    next_at: datetime | None


def _real_utc_now() -> datetime:
    return datetime.now(UTC)


class ScheduleRunner(Runner):
    """Fires every ``@app.schedule`` handler of ``app`` at its virtual times, in one thread.

    Bad expressions raise :class:`ScheduleError` here, at construction, naming the function.
    ``clock`` returns the current (aware) time and defaults to the real UTC clock; see the module
    docstring for ``time_scale``. The rule of each handler is named as ``chalice deploy`` names it,
    ``{app}-{stage}-{name}``, which also names the function. ``include`` limits it to those
    handler names.
    """

    #: longest real sleep between checks, so an injected clock that jumps is noticed quickly
    max_sleep_s = 1.0

    def __init__(
        self,
        app: Chalice,
        *,
        region: str,
        account_id: str = DEFAULT_ACCOUNT_ID,
        stage: str = DEFAULT_STAGE,
        clock: Clock | None = None,
        time_scale: float = 1.0,
        include: Collection[str] | None = None,
    ) -> None:
        super().__init__(f"{app.app_name}:schedules")
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self._clock = clock or _real_utc_now
        self._origin = _utc(self._clock())
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        start = self.now()
        for config in app.event_sources:
            if not isinstance(config, ScheduledEventConfig):
                continue
            if include is not None and config.name not in include:
                continue
            try:
                schedule = parse_schedule(config.schedule_expression)
            except ScheduleError as exc:
                raise ScheduleError(f"@app.schedule of {config.name}: {exc}") from None
            function_name = deployed_function_name(app.app_name, stage, config.name)
            self._entries[config.name] = _Entry(
                name=config.name,
                function_name=function_name,
                handler=app.handler_map[config.name],
                schedule=schedule,
                rule=rule_arn(region, account_id, function_name),
                next_at=schedule.next_after(start),
            )

    @property
    def origin(self) -> datetime:
        """The clock's reading at construction: virtual time starts here (and rates count from it)."""
        return self._origin

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def now(self) -> datetime:
        """Virtual now: real time elapsed since construction, multiplied by ``time_scale``."""
        return self._origin + (_utc(self._clock()) - self._origin) * self.time_scale

    def next_fire_time(self, name: str) -> datetime | None:
        """When ``name`` fires next (virtual UTC time); None when it never will. KeyError if unknown."""
        with self._lock:
            return self._entries[name].next_at

    def fire_now(self, name: str) -> dict[str, Any]:
        """Invoke ``name`` at once, in the caller's thread, with an event stamped with virtual now.

        Returns the event it sent. Unlike the background loop, re-raises the handler's exception,
        so whoever asked for the fire learns it failed. The regular schedule is not shifted.
        """
        entry = self._entries[name]
        event = scheduled_event(
            fire_time=self.now(), region=self.region, account_id=self.account_id, rule=entry.rule
        )
        invoke(entry.handler, function_name=entry.function_name, source="schedule", event=event, count=1)
        return event

    def tick(self) -> list[dict[str, Any]]:
        """Fire every schedule due at virtual now (once each) and return the events sent.

        The background thread calls this; tests with an injected clock may call it directly.
        A handler exception is logged and does not stop the others (EventBridge's async
        invocation would retry it; the local runner does not).
        """
        now = self.now()
        due: list[tuple[_Entry, datetime]] = []
        with self._lock:
            for entry in self._entries.values():
                if entry.next_at is None or entry.next_at > now:
                    continue
                fire_at = entry.next_at
                following = entry.schedule.next_after(fire_at)
                if following is not None and following <= now:
                    following = entry.schedule.resume(fire_at, now)
                    LOG.warning(
                        "schedule %s: fell behind at %s; skipped to %s", entry.name, fire_at, following
                    )
                entry.next_at = following
                due.append((entry, fire_at))
        events = []
        for entry, fire_at in due:
            event = scheduled_event(
                fire_time=fire_at, region=self.region, account_id=self.account_id, rule=entry.rule
            )
            # A failure is already logged by invoke(); the schedule goes on.
            with contextlib.suppress(Exception):
                invoke(
                    entry.handler, function_name=entry.function_name, source="schedule", event=event, count=1
                )
            events.append(event)
        return events

    def _seconds_until_next(self) -> float:
        """Real seconds until the earliest pending fire, capped at ``max_sleep_s``."""
        with self._lock:
            pending = [entry.next_at for entry in self._entries.values() if entry.next_at is not None]
        if not pending:
            return self.max_sleep_s
        virtual = (min(pending) - self.now()).total_seconds()
        return min(self.max_sleep_s, max(0.0, virtual / self.time_scale))

    def _loop(self) -> None:
        self._ready.set()
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self._seconds_until_next())
