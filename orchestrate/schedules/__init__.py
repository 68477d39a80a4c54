"""When a deployment runs: cron, interval and rrule schedules, and the times they fall on.

`next_times(schedule, after, n)` is pure: the same schedule and `after` always
give the same instants, so the daemon's planner is tested with fixed clocks.
Every time is computed in the schedule's timezone (its own `timezone`, else the
deployment's, else UTC) and returned as an aware UTC datetime.

Daylight saving time, decided once for cron and rrule (both name wall-clock times):

- a wall-clock time the clocks skip (02:30 on the spring-forward night in
  Europe/Berlin) is not lost: it runs once, at the first valid instant after
  the gap (03:00 local), as croniter and Vixie cron do; several skipped slots
  collapse into that one run;
- a wall-clock time the clocks repeat (02:30 on the autumn night) runs once,
  at its first occurrence (02:30 CEST); the repeated hour does not run again.
  So an hourly cron has a two-hour gap that night, as in Prefect.

Intervals: a whole number of days (`"1d"`, `"P7D"`) keeps its anchor's wall
clock (a daily 02:00 stays at 02:00 across DST); anything shorter is absolute
spacing from the anchor (`"15m"` is every 15 real minutes, as in Prefect). The
anchor is a phase, not a start: slots before it exist too. Without an anchor
it is 2020-01-01 00:00 in the schedule's timezone, so slots never depend on
when the daemon started.
"""

from __future__ import annotations

from orchestrate.schedules.cron import validate_cron
from orchestrate.schedules.models import (
    SCHEDULE_KINDS,
    AnySchedule,
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
    schedule_timezone,
)
from orchestrate.schedules.rrule import validate_rrule
from orchestrate.schedules.times import next_times
from orchestrate.schedules.wallclock import DEFAULT_ANCHOR, resolve_wall_time, zone
from orchestrate.schedules.words import describe

__all__ = [
    "DEFAULT_ANCHOR",
    "SCHEDULE_KINDS",
    "AnySchedule",
    "CronSchedule",
    "IntervalSchedule",
    "RRuleSchedule",
    "Schedule",
    "describe",
    "next_times",
    "resolve_wall_time",
    "schedule_timezone",
    "validate_cron",
    "validate_rrule",
    "zone",
]
