"""RRule schedules (RFC 5545 via dateutil): timezones, DTSTART, COUNT and exceptions."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from pydantic import ValidationError

from orchestrate.schedules import next_times
from tests.schedules.conftest import schedule, stamps, utc

BERLIN = "Europe/Berlin"


def test_weekly_on_two_days_in_the_schedule_timezone() -> None:
    twice_weekly = schedule(rrule="FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0", timezone=BERLIN)
    times = next_times(twice_weekly, utc("2026-03-28 00:00"), 3)  # a Saturday
    assert stamps(times) == ["2026-03-30 07:00", "2026-04-03 07:00", "2026-04-06 07:00"]


def test_dtstart_with_tzid_sets_the_timezone_and_follows_its_dst() -> None:
    rule = "DTSTART;TZID=America/New_York:20260101T090000\nRRULE:FREQ=DAILY"
    daily = schedule(rrule=rule)
    before = next_times(daily, utc("2026-03-06 20:00"), 3, default_tz=BERLIN)
    # US clocks go forward on 2026-03-08: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC
    assert stamps(before) == ["2026-03-07 14:00", "2026-03-08 13:00", "2026-03-09 13:00"]


def test_a_utc_dtstart_is_utc() -> None:
    hourly = schedule(rrule="DTSTART:20260101T001500Z\nRRULE:FREQ=HOURLY")
    assert stamps(next_times(hourly, utc("2026-02-01 10:00"), 1, default_tz=BERLIN)) == [
        "2026-02-01 10:15"
    ]


def test_a_skipped_time_runs_once_at_the_end_of_the_gap() -> None:
    nightly = schedule(rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone=BERLIN)
    times = next_times(nightly, utc("2026-03-28 12:00"), 2)
    assert stamps(times) == ["2026-03-29 01:00", "2026-03-30 00:30"]


def test_a_repeated_time_runs_once() -> None:
    nightly = schedule(rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone=BERLIN)
    times = next_times(nightly, utc("2026-10-24 12:00"), 2)
    assert stamps(times) == ["2026-10-25 00:30", "2026-10-26 01:30"]


def test_a_frequent_rule_from_an_old_dtstart_is_fast_and_keeps_its_phase() -> None:
    rule = "DTSTART:20000101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=7"
    started = time.perf_counter()
    times = next_times(schedule(rrule=rule), utc("2026-02-01 10:00"), 3)
    took = time.perf_counter() - started
    origin = datetime(2000, 1, 1, tzinfo=times[0].tzinfo)
    assert all((t - origin) % timedelta(minutes=7) == timedelta(0) for t in times)
    assert [b - a for a, b in pairwise(times)] == [timedelta(minutes=7)] * 2
    assert times[0] - utc("2026-02-01 10:00") <= timedelta(minutes=7)
    assert took < 0.5, f"took {took:.3f}s"


def test_count_ends_the_rule() -> None:
    three = schedule(rrule="DTSTART:20260101T080000\nRRULE:FREQ=DAILY;COUNT=3")
    assert stamps(next_times(three, utc("2025-12-31 00:00"), 10)) == [
        "2026-01-01 08:00",
        "2026-01-02 08:00",
        "2026-01-03 08:00",
    ]
    assert next_times(three, utc("2026-01-05 00:00"), 10) == []


def test_exdate_leaves_out_a_day() -> None:
    rule = "DTSTART:20260101T090000\nRRULE:FREQ=DAILY\nEXDATE:20260103T090000"
    times = next_times(schedule(rrule=rule), utc("2026-01-01 10:00"), 2)
    assert stamps(times) == ["2026-01-02 09:00", "2026-01-04 09:00"]


def test_a_dtstart_timezone_that_contradicts_timezone_is_refused() -> None:
    rule = "DTSTART;TZID=America/New_York:20260101T090000\nRRULE:FREQ=DAILY"
    with pytest.raises(ValidationError, match="keep one of them"):
        schedule(rrule=rule, timezone=BERLIN)


@pytest.mark.parametrize(
    "rule",
    [
        "DTSTART:20210104T063000\nRRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH",
        "DTSTART:20200101T000500\nRRULE:FREQ=HOURLY;INTERVAL=5;BYMINUTE=5,35",
        "DTSTART;TZID=Europe/Berlin:20220301T023000\nRRULE:FREQ=DAILY;INTERVAL=2",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=6,18",
    ],
)
def test_starting_late_gives_the_slots_dateutil_gives_from_dtstart(rule: str) -> None:
    from dateutil.rrule import rrulestr

    from orchestrate.schedules import DEFAULT_ANCHOR, resolve_wall_time, zone

    tz = zone("Europe/Berlin")
    reference = rrulestr(rule, dtstart=DEFAULT_ANCHOR, tzids=zone)
    after = utc("2026-03-20 00:00")
    start = after.astimezone(tz)
    start = start if "TZID" in rule else start.replace(tzinfo=None)
    expected = []
    for moment in reference.xafter(start, count=40):
        resolved = resolve_wall_time(moment.replace(tzinfo=None), tz)
        if resolved > after and resolved not in expected:
            expected.append(resolved)
    times = next_times(schedule(rrule=rule), after, len(expected), default_tz="Europe/Berlin")
    assert times == expected
