"""Schedule expressions (rate and AWS cron) and the schedule runner's timing, without AWS.

Calendar facts used: 2024-03-04 is a Monday, 2024-03-08 a Friday, 2023-12-30 a Saturday,
2024 is a leap year and the next one is 2028.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from chalice import Chalice, Cron, Rate

from local.runners.schedule import (
    CronSchedule,
    RateSchedule,
    ScheduleError,
    ScheduleRunner,
    parse_cron,
    parse_rate,
    parse_schedule,
    scheduled_event,
)
from tests.fakes import FakeClock, assert_scheduled_event_shape


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def next_after(expression: str, moment: datetime) -> datetime | None:
    return parse_cron(expression).next_after(moment)


# --- cron parsing --------------------------------------------------------------------------------


def test_cron_fields_expand_lists_ranges_steps_and_names():
    cron = parse_cron("cron(0/15 8-10,20 ? JAN,MAR-APR MON-WED,FRI 2024-2030/2)")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {8, 9, 10, 20}
    assert cron.days_of_month is None
    assert cron.months == {1, 3, 4}
    assert cron.days_of_week == {2, 3, 4, 6}  # AWS: 1 = SUN
    assert cron.years == {2024, 2026, 2028, 2030}


def test_cron_star_step_and_range_step():
    cron = parse_cron("cron(*/20 10-20/5 * * ? *)")
    assert cron.minutes == {0, 20, 40}
    assert cron.hours == {10, 15, 20}
    assert cron.days_of_month == frozenset(range(1, 32))


def test_cron_names_are_case_insensitive():
    lower, numbers = parse_cron("cron(0 0 ? jan mon *)"), parse_cron("cron(0 0 ? 1 2 *)")
    assert (lower.months, lower.days_of_week) == (numbers.months, numbers.days_of_week) == ({1}, {2})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 12 L * ? *)", "'L'"),
        ("cron(15 10 ? * 6L 2022-2023)", "'L'"),
        ("cron(0 0 15W * ? *)", "'W'"),
        ("cron(0 0 LW * ? *)", "'L'"),
        ("cron(0 18 ? * MON#2 *)", "'#'"),
        ("cron(0 18 ? * 2#1 *)", "'#'"),
    ],
)
def test_cron_refuses_last_weekday_and_nth_with_a_clear_error(expression, message):
    with pytest.raises(ScheduleError, match=f"{message}.*not supported by the local scheduler"):
        parse_cron(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 0 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 0 * * ?)", "6 fields"),
        ("cron(60 0 * * ? *)", "minutes 60 outside 0-59"),
        ("cron(0 24 * * ? *)", "hours 24 outside 0-23"),
        ("cron(0 0 0 * ? *)", "day-of-month 0 outside 1-31"),
        ("cron(0 0 ? * 8 *)", "day-of-week 8 outside 1-7"),
        ("cron(0 0 1 * ? 1969)", "year 1969 outside 1970-2199"),
        ("cron(0 0 ? * MON/2 *)", "no '/' in day-of-week"),
        ("cron(? 0 1 * ? *)", "'\\?' is only allowed"),
        ("cron(0 0 ? * FRI-MON *)", "wraps around"),
        ("cron(0 0 1 FOO ? *)", "not a valid month"),
        ("cron(0/0 0 1 * ? *)", "bad step"),
        ("0 0 1 * ? *", "expected rate"),
    ],
)
def test_cron_rejects_malformed_expressions(expression, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(expression)


# --- cron next fire time -------------------------------------------------------------------------


def test_weekdays_skip_the_weekend():
    # Friday 10:00, after the 09:00 fire -> Monday 09:00
    assert next_after("cron(0 9 ? * MON-FRI *)", at(2024, 3, 8, 10, 0)) == at(2024, 3, 11, 9, 0)
    # Monday 08:59:59 -> the same Monday 09:00
    assert next_after("cron(0 9 ? * MON-FRI *)", at(2024, 3, 4, 8, 59, 59)) == at(2024, 3, 4, 9, 0)


def test_next_fire_is_strictly_after_the_given_moment():
    assert next_after("cron(0 9 ? * MON-FRI *)", at(2024, 3, 4, 9, 0)) == at(2024, 3, 5, 9, 0)


def test_day_of_week_numbers_start_on_sunday():
    saturday = at(2023, 12, 30, 12, 0)
    assert next_after("cron(0 0 ? * 1 *)", saturday) == at(2023, 12, 31)  # Sunday, across no boundary
    assert next_after("cron(0 0 ? * SUN *)", saturday) == at(2023, 12, 31)
    assert next_after("cron(0 0 ? * 7 *)", saturday) == at(2024, 1, 6)  # next Saturday, next year
    assert next_after("cron(0 0 ? * 2 *)", saturday) == at(2024, 1, 1)  # Monday


def test_month_and_year_boundaries():
    assert next_after("cron(0 0 1 * ? *)", at(2024, 1, 31, 12, 0)) == at(2024, 2, 1)
    assert next_after("cron(0 0 1 * ? *)", at(2024, 12, 15)) == at(2025, 1, 1)
    assert next_after("cron(30 23 31 * ? *)", at(2024, 4, 1)) == at(2024, 5, 31, 23, 30)  # April has 30 days
    assert next_after("cron(0 0 1 JAN,JUL ? *)", at(2024, 2, 1)) == at(2024, 7, 1)


def test_february_29th_waits_for_the_next_leap_year():
    assert next_after("cron(30 6 29 2 ? *)", at(2024, 3, 1)) == at(2028, 2, 29, 6, 30)


def test_impossible_or_exhausted_schedules_never_fire():
    assert next_after("cron(0 0 30 2 ? *)", at(2024, 1, 1)) is None
    assert next_after("cron(0 0 1 1 ? 2025)", at(2025, 1, 1)) is None
    assert next_after("cron(0 0 1 1 ? 2025)", at(2024, 6, 1)) == at(2025, 1, 1)


def test_minute_steps_and_hour_rollover():
    assert next_after("cron(0/15 * * * ? *)", at(2024, 3, 4, 10, 7)) == at(2024, 3, 4, 10, 15)
    assert next_after("cron(0/15 * * * ? *)", at(2024, 3, 4, 10, 45)) == at(2024, 3, 4, 11, 0)
    assert next_after("cron(*/20 8-10 * * ? *)", at(2024, 3, 4, 10, 41)) == at(2024, 3, 5, 8, 0)
    assert next_after("cron(5,35 14 * * ? *)", at(2024, 3, 4, 14, 5, 30)) == at(2024, 3, 4, 14, 35)


def test_times_are_utc_whatever_the_input_zone():
    jakarta = timezone(timedelta(hours=7))
    # 16:30 in UTC+7 is 09:30 UTC: past the 09:00 UTC fire of that day
    assert next_after("cron(0 9 * * ? *)", datetime(2024, 3, 4, 16, 30, tzinfo=jakarta)) == at(
        2024, 3, 5, 9, 0
    )
    # a naive datetime is taken as UTC
    assert next_after("cron(0 9 * * ? *)", datetime(2024, 3, 4, 8, 0)) == at(2024, 3, 4, 9, 0)


# --- rate ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rate_periods(expression, period):
    assert parse_rate(expression).period == period


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", r"requires rate\(1 minute\)"),
        ("rate(5 minute)", r"requires rate\(5 minutes\)"),
        ("rate(0 minutes)", "positive"),
        ("rate(2 weeks)", "unknown unit"),
        ("rate(minutes)", "expected rate"),
    ],
)
def test_rate_rejects_what_aws_rejects(expression, message):
    with pytest.raises(ScheduleError, match=message):
        parse_rate(expression)


def test_rate_resume_skips_to_the_first_future_fire():
    rate = RateSchedule("rate(5 minutes)", timedelta(minutes=5))
    assert rate.next_after(at(2024, 3, 4, 10, 0)) == at(2024, 3, 4, 10, 5)
    assert rate.resume(at(2024, 3, 4, 10, 0), at(2024, 3, 4, 10, 23)) == at(2024, 3, 4, 10, 25)
    assert rate.resume(at(2024, 3, 4, 10, 0), at(2024, 3, 4, 10, 25)) == at(2024, 3, 4, 10, 30)


def test_chalice_rate_and_cron_objects_are_accepted():
    assert parse_schedule(Rate(1, unit=Rate.HOURS)) == RateSchedule("rate(1 hour)", timedelta(hours=1))
    assert parse_schedule(Rate(10, unit=Rate.MINUTES)).period == timedelta(minutes=10)  # type: ignore[union-attr]
    cron = parse_schedule(Cron(0, 9, "?", "*", "MON-FRI", "*"))
    assert isinstance(cron, CronSchedule)
    assert cron.days_of_week == {2, 3, 4, 5, 6}


# --- event and runner ----------------------------------------------------------------------------


def test_scheduled_event_has_the_eventbridge_shape():
    event = scheduled_event(
        fire_time=at(2024, 3, 4, 9, 0, 0),
        region="ap-southeast-1",
        account_id="123456789012",
        rule="arn:aws:events:ap-southeast-1:123456789012:rule/app-dev-job",
    )
    assert_scheduled_event_shape(event)
    assert event["time"] == "2024-03-04T09:00:00Z"
    assert event["resources"] == ["arn:aws:events:ap-southeast-1:123456789012:rule/app-dev-job"]


def make_app(fired: list, fail: bool = False) -> Chalice:
    app = Chalice(app_name="sched-test", configure_logs=False)

    @app.schedule("rate(5 minutes)")
    def every_five(event):
        fired.append(("every_five", event.time))
        if fail:
            raise RuntimeError("boom")

    @app.schedule("cron(0 9 ? * MON-FRI *)")
    def morning(event):
        fired.append(("morning", event.time))

    return app


def test_runner_fires_due_schedules_once_and_skips_missed_fires():
    fired: list = []
    clock = FakeClock(at(2024, 3, 4, 8, 50))
    runner = ScheduleRunner(make_app(fired), region="ap-southeast-1", clock=clock)
    assert runner.next_fire_time("every_five") == at(2024, 3, 4, 8, 55)
    assert runner.next_fire_time("morning") == at(2024, 3, 4, 9, 0)

    clock.now = at(2024, 3, 4, 8, 54, 59)
    assert runner.tick() == []
    clock.now = at(2024, 3, 4, 8, 55)
    assert [e["time"] for e in runner.tick()] == ["2024-03-04T08:55:00Z"]
    assert runner.tick() == []  # not twice

    clock.now = at(2024, 3, 4, 9, 17)  # both due; every_five missed 09:00, 09:05, 09:10, 09:15
    runner.tick()
    assert fired == [
        ("every_five", "2024-03-04T08:55:00Z"),
        ("every_five", "2024-03-04T09:00:00Z"),
        ("morning", "2024-03-04T09:00:00Z"),
    ]
    assert runner.next_fire_time("every_five") == at(2024, 3, 4, 9, 20)
    assert runner.next_fire_time("morning") == at(2024, 3, 5, 9, 0)


def test_time_scale_speeds_up_virtual_time():
    clock = FakeClock(at(2024, 3, 4, 8, 50))
    runner = ScheduleRunner(make_app([]), region="ap-southeast-1", clock=clock, time_scale=60.0)
    clock.now = at(2024, 3, 4, 8, 50, 5)  # 5 real seconds
    assert runner.now() == at(2024, 3, 4, 8, 55)
    assert len(runner.tick()) == 1


def test_a_failing_handler_does_not_stop_the_schedule_but_fire_now_reports_it():
    fired: list = []
    clock = FakeClock(at(2024, 3, 4, 8, 50))
    runner = ScheduleRunner(make_app(fired, fail=True), region="ap-southeast-1", clock=clock)
    clock.now = at(2024, 3, 4, 9, 0)
    assert len(runner.tick()) == 2  # every_five raised, morning still fired
    assert runner.next_fire_time("every_five") == at(2024, 3, 4, 9, 5)
    with pytest.raises(RuntimeError, match="boom"):
        runner.fire_now("every_five")
    assert runner.fire_now("morning")["time"] == "2024-03-04T09:00:00Z"
    with pytest.raises(KeyError):
        runner.fire_now("nope")


def test_a_bad_expression_fails_at_construction_naming_the_function():
    app = Chalice(app_name="bad", configure_logs=False)

    @app.schedule("cron(0 0 L * ? *)")
    def month_end(event):
        pass

    with pytest.raises(ScheduleError, match="month_end"):
        ScheduleRunner(app, region="ap-southeast-1")
