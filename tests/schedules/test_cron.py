"""Cron schedules: times in their timezone, and the DST nights in Europe/Berlin (2026).

Spring: 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC).
Autumn: 2026-10-25 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:00-02:59 happens twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from orchestrate.schedules import next_times
from tests.schedules.conftest import schedule, stamps, utc

BERLIN = "Europe/Berlin"


def test_daily_cron_runs_at_the_wall_clock_time_of_its_timezone() -> None:
    nightly = schedule(cron="0 2 * * *", timezone=BERLIN)
    times = next_times(nightly, utc("2026-01-10 12:00"), 2)
    assert stamps(times) == ["2026-01-11 01:00", "2026-01-12 01:00"]  # 02:00 CET
    summer = next_times(nightly, utc("2026-07-10 12:00"), 1)
    assert stamps(summer) == ["2026-07-11 00:00"]  # 02:00 CEST


def test_the_deployment_timezone_applies_when_the_schedule_names_none() -> None:
    nightly = schedule(cron="0 2 * * *")
    assert stamps(next_times(nightly, utc("2026-01-10 12:00"), 1, default_tz=BERLIN)) == [
        "2026-01-11 01:00"
    ]
    assert stamps(next_times(nightly, utc("2026-01-10 12:00"), 1)) == ["2026-01-11 02:00"]


def test_results_are_aware_utc_and_strictly_after() -> None:
    every_minute = schedule(cron="* * * * *")
    at = utc("2026-01-01 00:05")
    times = next_times(every_minute, at, 3)
    assert stamps(times) == ["2026-01-01 00:06", "2026-01-01 00:07", "2026-01-01 00:08"]
    assert all(t.tzinfo is UTC for t in times)
    berlin_after = at.astimezone(ZoneInfo(BERLIN))
    assert next_times(every_minute, berlin_after, 1) == times[:1]


def test_a_skipped_wall_clock_time_runs_once_at_the_end_of_the_gap() -> None:
    half_past_two = schedule(cron="30 2 * * *", timezone=BERLIN)
    times = next_times(half_past_two, utc("2026-03-28 12:00"), 3)
    assert stamps(times) == [
        "2026-03-29 01:00",  # 02:30 does not exist: 03:00 CEST, the first valid instant
        "2026-03-30 00:30",  # 02:30 CEST
        "2026-03-31 00:30",
    ]


def test_an_hourly_cron_keeps_hourly_spacing_across_the_spring_gap() -> None:
    hourly = schedule(cron="0 * * * *", timezone=BERLIN)
    times = next_times(hourly, utc("2026-03-28 23:30"), 3)
    # 01:00 CET, 03:00 CEST (02:00 was skipped and joins it), 04:00 CEST
    assert stamps(times) == ["2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00"]


def test_slots_inside_the_gap_collapse_into_one_run() -> None:
    quarterly = schedule(cron="*/15 * * * *", timezone=BERLIN)
    times = next_times(quarterly, utc("2026-03-29 00:40"), 3)
    assert stamps(times) == ["2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15"]


def test_a_repeated_hour_does_not_run_twice() -> None:
    hourly = schedule(cron="0 * * * *", timezone=BERLIN)
    times = next_times(hourly, utc("2026-10-24 22:30"), 4)
    # 01:00 CEST, 02:00 CEST, (02:00 CET skipped), 03:00 CET, 04:00 CET
    assert stamps(times) == [
        "2026-10-24 23:00",
        "2026-10-25 00:00",
        "2026-10-25 02:00",
        "2026-10-25 03:00",
    ]


def test_a_daily_time_in_the_repeated_hour_runs_once_at_its_first_occurrence() -> None:
    half_past_two = schedule(cron="30 2 * * *", timezone=BERLIN)
    times = next_times(half_past_two, utc("2026-10-24 12:00"), 2)
    assert stamps(times) == ["2026-10-25 00:30", "2026-10-26 01:30"]


def test_asking_during_the_second_pass_of_the_repeated_hour_skips_it() -> None:
    quarterly = schedule(cron="*/15 * * * *", timezone=BERLIN)
    second_pass = utc("2026-10-25 01:10")  # 02:10 CET
    assert stamps(next_times(quarterly, second_pass, 2)) == ["2026-10-25 02:00", "2026-10-25 02:15"]


def test_a_year_of_hourly_slots_has_no_repeats_and_no_holes_longer_than_two_hours() -> None:
    hourly = schedule(cron="0 * * * *", timezone=BERLIN)
    times = next_times(hourly, utc("2026-01-01 00:00"), 9000)
    assert len(times) == len(set(times)) == 9000
    gaps = {b - a for a, b in pairwise(times)}
    assert gaps == {timedelta(hours=1), timedelta(hours=2)}


def test_until_is_inclusive_and_n_is_a_maximum() -> None:
    every_minute = schedule(cron="* * * * *")
    times = next_times(every_minute, utc("2026-01-01 00:00"), 100, until=utc("2026-01-01 00:03"))
    assert stamps(times) == ["2026-01-01 00:01", "2026-01-01 00:02", "2026-01-01 00:03"]
    assert len(next_times(every_minute, utc("2026-01-01 00:00"), 2)) == 2


def test_day_or_chooses_between_either_day_and_both_days() -> None:
    either = schedule(cron="0 0 13 * fri")
    both = schedule(cron="0 0 13 * fri", day_or=False)
    after = utc("2026-01-01 00:00")
    assert stamps(next_times(either, after, 2)) == ["2026-01-02 00:00", "2026-01-09 00:00"]
    assert stamps(next_times(both, after, 1)) == ["2026-02-13 00:00"]  # a Friday the 13th


@pytest.mark.parametrize(
    ("cron", "first"),
    [
        ("@hourly", "2026-01-01 01:00"),
        ("@daily", "2026-01-02 00:00"),
        ("0 9 * * mon-fri", "2026-01-01 09:00"),
        ("0 0 1 jan *", "2027-01-01 00:00"),
        ("0 0 L * *", "2026-01-31 00:00"),
    ],
)
def test_macros_names_and_extensions(cron: str, first: str) -> None:
    assert stamps(next_times(schedule(cron=cron), utc("2026-01-01 00:30"), 1)) == [first]


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 5-5 * * *", ["2026-01-01 05:00", "2026-01-02 05:00"]),
        ("0 0 15-15 * *", ["2026-01-15 00:00", "2026-02-15 00:00"]),
        ("0 0 * * fri-fri/2", ["2026-01-02 00:00", "2026-01-09 00:00"]),
        ("0 5-5,7 * * *", ["2026-01-01 05:00", "2026-01-01 07:00"]),
    ],
)
def test_a_range_of_one_value_means_that_value_not_every_value(
    cron: str, expected: list[str]
) -> None:
    """croniter alone reads `5-5` as `*`: a daily job would run every hour."""
    assert stamps(next_times(schedule(cron=cron), utc("2026-01-01 00:30"), 2)) == expected


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_times(schedule(cron="* * * * *"), datetime(2026, 1, 1), 1)


@pytest.mark.parametrize(
    ("cron", "day_or"),
    [
        ("*/7 * * * *", True),
        ("5 2 * * *", True),
        ("0 9-17/2 * * mon-fri", True),
        ("0 0 13 * fri", True),
        ("0 0 13 * fri", False),
        ("0 0 1,15 * 1-5", True),
        ("0 0 L * *", True),
        ("0 12 * * fri#2", True),
        ("0 12 * * L5", True),
        ("30 4 29 2 *", True),
        ("0 0 * jan,jul sun", True),
        ("0 0 1-31/2 * 5-1", True),
        ("@weekly", True),
        ("0 0 15W * *", True),
        ("0 6 1W * *", True),
        ("0 6 31w * *", True),
        ("0 0 W30 * *", True),
    ],
)
def test_the_fast_walk_names_the_same_wall_times_as_croniter(cron: str, day_or: bool) -> None:
    from croniter import croniter

    from orchestrate.schedules.cron import cron_fields, cron_plan

    start = datetime(2025, 12, 30, 23, 59)
    reference = croniter(" ".join(cron_fields(cron)), start, day_or=day_or)
    expected = [reference.get_next(datetime) for _ in range(300)]
    walls = cron_plan(cron, day_or).walls_after(start)
    assert [next(walls) for _ in range(300)] == expected


def test_a_hundred_slots_of_a_hundred_crons_take_milliseconds() -> None:
    import time

    schedules = [schedule(cron=f"{n % 60} {n % 24} * * *", timezone=BERLIN) for n in range(100)]
    started = time.perf_counter()
    for each in schedules:
        next_times(each, utc("2026-03-01 00:00"), 100)
    assert time.perf_counter() - started < 1.0
