"""`next_times`: the instants a schedule falls on, as a pure function of the time it is given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestrate.schedules.cron import cron_plan
from orchestrate.schedules.models import (
    AnySchedule,
    CronSchedule,
    IntervalSchedule,
    schedule_timezone,
)
from orchestrate.schedules.rrule import rrule_walls_after
from orchestrate.schedules.wallclock import DEFAULT_ANCHOR, resolve_wall_time, zone


def next_times(
    schedule: AnySchedule,
    after: datetime,
    n: int,
    *,
    until: datetime | None = None,
    default_tz: str = "UTC",
) -> list[datetime]:
    """The next `n` times `schedule` falls on, strictly after `after`.

    Args:
        schedule: any schedule; `active` is not looked at (that is the caller's choice).
        after: an aware datetime.
        n: the most times to return.
        until: stop at this aware datetime (inclusive).
        default_tz: the timezone when the schedule names none (the deployment's).

    Returns:
        Aware UTC datetimes, increasing, without repeats.
    """
    if after.tzinfo is None or (until is not None and until.tzinfo is None):
        raise ValueError("next_times needs timezone-aware datetimes for after and until")
    tz = zone(schedule_timezone(schedule, default_tz))
    times: list[datetime] = []
    last = after.astimezone(UTC)
    for moment in _candidates(schedule, last, tz):
        if len(times) >= n or (until is not None and moment > until):
            break
        if moment > last:  # drops the repeats of a DST night and the first pass of a fold
            times.append(moment)
            last = moment
    return times


def _candidates(schedule: AnySchedule, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """Non-decreasing UTC instants from about `after` on; the caller drops repeats."""
    if isinstance(schedule, IntervalSchedule):
        if schedule.whole_days:
            return _wall_clock_interval_times(schedule, after, tz)
        return _absolute_interval_times(schedule, after, tz)
    local = after.astimezone(tz)
    if isinstance(schedule, CronSchedule):
        walls = cron_plan(schedule.cron, schedule.day_or).walls_after(local.replace(tzinfo=None))
    else:
        walls = rrule_walls_after(schedule.rrule, local)
    return (resolve_wall_time(wall, tz) for wall in walls)


def interval_anchor(schedule: IntervalSchedule, tz: ZoneInfo) -> datetime:
    """The anchor as a naive wall-clock time in `tz`."""
    anchor = schedule.anchor or DEFAULT_ANCHOR
    return anchor.astimezone(tz).replace(tzinfo=None) if anchor.tzinfo else anchor


def _absolute_interval_times(
    schedule: IntervalSchedule, after: datetime, tz: ZoneInfo
) -> Iterator[datetime]:
    anchor = schedule.anchor
    origin = (
        anchor.astimezone(UTC)
        if anchor is not None and anchor.tzinfo
        else resolve_wall_time(interval_anchor(schedule, tz), tz)
    )
    step = schedule.interval
    index = (after - origin) // step + 1
    while True:
        yield origin + index * step
        index += 1


def _wall_clock_interval_times(
    schedule: IntervalSchedule, after: datetime, tz: ZoneInfo
) -> Iterator[datetime]:
    anchor = interval_anchor(schedule, tz)
    days = schedule.whole_days
    elapsed = (after.astimezone(tz).replace(tzinfo=None).date() - anchor.date()).days
    index = elapsed // days - 1
    while True:
        yield resolve_wall_time(anchor + timedelta(days=index * days), tz)
        index += 1
