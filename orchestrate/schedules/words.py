"""Schedules in words, for people: "every day at 02:00 (Europe/Berlin)", "every 15 minutes".

Read at a glance in `orc validate`, `orc deployments` and the dashboard;
cron's words are in `cron_words`.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

from dateutil.rrule import rrule

from orchestrate.schedules.cron import cron_fields
from orchestrate.schedules.cron_words import clock_times, describe_cron, join, month_name, ordinal
from orchestrate.schedules.models import (
    AnySchedule,
    CronSchedule,
    IntervalSchedule,
    schedule_timezone,
)
from orchestrate.schedules.rrule import ParsedRule, parse_rrule
from orchestrate.schedules.times import interval_anchor
from orchestrate.schedules.wallclock import zone


def describe(schedule: AnySchedule, default_tz: str = "UTC") -> str:
    """The schedule in words, e.g. "every day at 02:00 (Europe/Berlin)" or "every 15 minutes"."""
    tz = schedule_timezone(schedule, default_tz)
    if isinstance(schedule, IntervalSchedule):
        return _describe_interval(schedule, tz)
    if isinstance(schedule, CronSchedule):
        return f"{describe_cron(cron_fields(schedule.cron), schedule.day_or)} ({tz})"
    return f"{_describe_rrule(parse_rrule(schedule.rrule))} ({tz})"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" + ("" if count == 1 else "s")


def _every(delta: timedelta) -> str:
    """ "every 15 minutes", "every hour", "every 1 hour 30 minutes"."""
    if delta.microseconds:
        return f"every {delta.total_seconds():g} seconds"
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append((count, unit))
    if len(parts) == 1 and parts[0][0] == 1:
        return f"every {parts[0][1]}"
    return "every " + " ".join(_plural(count, unit) for count, unit in parts)


def _describe_interval(schedule: IntervalSchedule, tz: str) -> str:
    text = _every(schedule.interval)
    if schedule.whole_days:
        return f"{text} at {interval_anchor(schedule, zone(tz)):%H:%M} ({tz})"
    if schedule.anchor is not None:
        anchor = interval_anchor(schedule, zone(tz))
        return f"{text} from {anchor:%Y-%m-%d %H:%M} ({tz})"
    return text


_FREQ_UNITS = {
    "SECONDLY": "second",
    "MINUTELY": "minute",
    "HOURLY": "hour",
    "DAILY": "day",
    "WEEKLY": "week",
    "MONTHLY": "month",
    "YEARLY": "year",
}
_RRULE_DAYS = {
    "MO": "Mon",
    "TU": "Tue",
    "WE": "Wed",
    "TH": "Thu",
    "FR": "Fri",
    "SA": "Sat",
    "SU": "Sun",
}


def _rrule_day(text: str) -> str:
    """ "MO" → "Mon", "1MO" → "the 1st Mon", "-1FR" → "the last Fri"."""
    match = re.fullmatch(r"([+-]?\d+)?([A-Z]{2})", text)
    if match is None:
        return text
    name = _RRULE_DAYS.get(match[2], match[2])
    if match[1] is None:
        return name
    number = int(match[1])
    return f"the {'last' if number == -1 else ordinal(abs(number))} {name}"


def _rrule_time(parsed: ParsedRule) -> str:
    start: time = parsed.dtstart.time()
    hours = parsed.parts.get("BYHOUR", str(start.hour))
    minutes = parsed.parts.get("BYMINUTE", str(start.minute))
    clock = clock_times(minutes, hours)
    return f" at {join(clock)}" if clock else f" at hour {hours}, minute {minutes}"


def _describe_rrule(parsed: ParsedRule) -> str:
    parts = parsed.parts
    unit = _FREQ_UNITS.get(parts.get("FREQ", ""), "time")
    interval = int(parts.get("INTERVAL", "1"))
    words = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    if "BYDAY" in parts:
        words += " on " + join([_rrule_day(day) for day in parts["BYDAY"].split(",")])
    if "BYMONTHDAY" in parts:
        words += f" on day {join(parts['BYMONTHDAY'].split(','))}"
    if "BYMONTH" in parts:
        months = [month_name(month) for month in parts["BYMONTH"].split(",")]
        words += f" in {join(months)}"
    if unit in ("day", "week", "month", "year") or "BYHOUR" in parts:
        words += _rrule_time(parsed)
    if "COUNT" in parts:
        words += f", {_plural(int(parts['COUNT']), 'time')}"
    if "UNTIL" in parts:
        words += f", until {parts['UNTIL'][:4]}-{parts['UNTIL'][4:6]}-{parts['UNTIL'][6:8]}"
    if not isinstance(parsed.rule, rrule):
        words += ", with exceptions"
    return words
