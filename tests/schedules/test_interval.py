"""Interval schedules: absolute spacing below a day, the anchor's wall clock for whole days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from orchestrate.schedules import next_times
from tests.schedules.conftest import schedule, stamps, utc

BERLIN = "Europe/Berlin"


def test_slots_lie_on_a_grid_through_the_anchor() -> None:
    every_15 = schedule(interval="15m", anchor="2026-01-01T00:05:00", timezone="UTC")
    times = next_times(every_15, utc("2026-02-01 10:00"), 3)
    assert stamps(times) == ["2026-02-01 10:05", "2026-02-01 10:20", "2026-02-01 10:35"]


def test_an_anchor_in_the_future_is_a_phase_not_a_start() -> None:
    hourly = schedule(interval="1h", anchor="2030-01-01T00:30:00", timezone="UTC")
    assert stamps(next_times(hourly, utc("2026-02-01 10:00"), 1)) == ["2026-02-01 10:30"]


def test_without_an_anchor_the_grid_is_fixed_not_the_start_time() -> None:
    every_30s = schedule(interval="30s")
    first = next_times(every_30s, utc("2026-02-01 10:00:10"), 2)
    assert stamps(first) == ["2026-02-01 10:00:30", "2026-02-01 10:01"]
    again = next_times(every_30s, utc("2026-02-01 10:00:20"), 2)
    assert again == first


def test_an_exact_slot_time_is_not_included() -> None:
    every_minute = schedule(interval=60)
    assert stamps(next_times(every_minute, utc("2026-02-01 10:00"), 1)) == ["2026-02-01 10:01"]


def test_short_intervals_keep_absolute_spacing_across_dst() -> None:
    every_15 = schedule(interval="PT15M", timezone=BERLIN)
    spring = next_times(every_15, utc("2026-03-29 00:40"), 3)
    assert stamps(spring) == ["2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15"]
    hourly = schedule(interval="1h", timezone=BERLIN)
    autumn = next_times(hourly, utc("2026-10-24 23:30"), 3)
    # 02:00 CEST, 02:00 CET, 03:00 CET: every real hour, the repeated one included
    assert stamps(autumn) == ["2026-10-25 00:00", "2026-10-25 01:00", "2026-10-25 02:00"]


def test_whole_day_intervals_keep_the_anchor_wall_clock_across_dst() -> None:
    daily = schedule(interval="1d", anchor="2026-01-01T09:00:00", timezone=BERLIN)
    times = next_times(daily, utc("2026-03-27 12:00"), 3)
    assert stamps(times) == ["2026-03-28 08:00", "2026-03-29 07:00", "2026-03-30 07:00"]


def test_a_whole_day_interval_at_a_skipped_time_runs_at_the_end_of_the_gap() -> None:
    daily = schedule(interval="P1D", anchor="2026-01-01T02:30:00", timezone=BERLIN)
    times = next_times(daily, utc("2026-03-27 12:00"), 3)
    assert stamps(times) == ["2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"]


def test_multi_day_intervals_count_days_from_the_anchor() -> None:
    every_3_days = schedule(interval="3d", anchor="2026-01-01T06:00:00", timezone="UTC")
    times = next_times(every_3_days, utc("2026-01-05 00:00"), 2)
    assert stamps(times) == ["2026-01-07 06:00", "2026-01-10 06:00"]


def test_an_aware_anchor_keeps_its_instant() -> None:
    hourly = schedule(interval="1h", anchor=datetime(2026, 1, 1, 0, 20, tzinfo=UTC))
    assert stamps(next_times(hourly, utc("2026-02-01 10:00"), 1, default_tz=BERLIN)) == [
        "2026-02-01 10:20"
    ]


def test_a_naive_anchor_is_read_in_the_schedule_timezone() -> None:
    every_2h = schedule(interval="2h", anchor="2026-01-01T01:00:00", timezone=BERLIN)
    # 01:00 CET = 00:00 UTC, so the grid is on even UTC hours
    assert stamps(next_times(every_2h, utc("2026-02-01 09:30"), 1)) == ["2026-02-01 10:00"]


def test_many_slots_come_back_fast_and_evenly() -> None:
    every_minute = schedule(interval="1m")
    times = next_times(every_minute, utc("2026-01-01 00:00"), 1000)
    assert {b - a for a, b in pairwise(times)} == {timedelta(minutes=1)}
