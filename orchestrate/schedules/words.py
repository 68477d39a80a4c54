"""Schedules in words, for people: "every day at 02:00 (Europe/Berlin)", "every 15 minutes".

Good enough to read at a glance in `orc validate`, `orc deployments` and the
dashboard; not a complete cron-to-English translator.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

from dateutil.rrule import rrule

from orchestrate.schedules.cron import DAYS, MONTHS, cron_fields
from orchestrate.schedules.models import (
    AnySchedule,
    CronSchedule,
    IntervalSchedule,
    schedule_timezone,
)
from orchestrate.schedules.rrule import ParsedRule, parse_rrule
from orchestrate.schedules.times import interval_anchor
from orchestrate.schedules.wallclock import zone

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def describe(schedule: AnySchedule, default_tz: str = "UTC") -> str:
    """The schedule in words, e.g. "every day at 02:00 (Europe/Berlin)" or "every 15 minutes"."""
    tz = schedule_timezone(schedule, default_tz)
    if isinstance(schedule, IntervalSchedule):
        return _describe_interval(schedule, tz)
    if isinstance(schedule, CronSchedule):
        return f"{_describe_cron(cron_fields(schedule.cron), schedule.day_or)} ({tz})"
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


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _value_word(text: str, field: int) -> str:
    if field == 3 and text.lower() in MONTHS:
        return text.capitalize()
    if field == 3 and text.isdigit() and 1 <= int(text) <= 12:
        return MONTHS[int(text) - 1].capitalize()
    if field == 4 and text.lower() in DAYS:
        return _DAY_NAMES[DAYS.index(text.lower())]
    if field == 4 and text.isdigit() and int(text) <= 7:
        return _DAY_NAMES[int(text) % 7]
    return text


def _field_words(field_text: str, field: int) -> str:
    """One cron field in words: "5", "1 through 5", "every 2nd", "Monday and Friday"."""
    words = []
    for item in field_text.split(","):
        base, _, step = item.partition("/")
        span = " through ".join(_value_word(part, field) for part in base.split("-", 1))
        if not step:
            words.append("every" if base in ("*", "?") else span)
        elif base in ("*", "?"):
            words.append(f"every {_ordinal(int(step))}")
        else:
            words.append(f"every {_ordinal(int(step))} from {span}")
    return _join(words)


def _clock_times(minute: str, hour: str) -> list[str] | None:
    """ "HH:MM" for each time of day when both fields are plain numbers (at most 4 times)."""
    minutes, hours = minute.split(","), hour.split(",")
    if not all(part.isdigit() for part in minutes + hours) or len(minutes) * len(hours) > 4:
        return None
    return [f"{int(h):02d}:{int(m):02d}" for h in hours for m in minutes]


def _describe_time(minute: str, hour: str) -> str:
    clock = _clock_times(minute, hour)
    if clock is not None:
        return "at " + _join(clock)
    if minute == "*" and hour == "*":
        return "every minute"
    if minute.startswith("*/") and minute[2:].isdigit() and hour == "*":
        return _every(timedelta(minutes=int(minute[2:])))
    minute_words = "every minute" if minute == "*" else f"at minute {_field_words(minute, 0)}"
    if hour == "*":
        return f"{minute_words} past every hour"
    hour_words = _field_words(hour, 1)
    hours = (
        f"every {hour_words[6:]} hour" if hour_words.startswith("every ") else f"hour {hour_words}"
    )
    return f"{minute_words} past {hours}"


def _describe_days(day: str, month: str, weekday: str, day_or: bool) -> str:
    parts = []
    if day != "*" and day != "?":
        parts.append(f"on day {_field_words(day, 2)} of the month")
    if weekday != "*" and weekday != "?":
        parts.append(f"on {_field_words(weekday, 4)}")
    words = (" or " if day_or else " and ").join(parts)
    if month != "*":
        words = f"{words} in {_field_words(month, 3)}".strip()
    return words


def _describe_cron(fields: list[str], day_or: bool) -> str:
    minute, hour, day, month, weekday = fields
    time_words = _describe_time(minute, hour)
    day_words = _describe_days(day, month, weekday, day_or)
    if not day_words:
        return f"every day {time_words}" if _clock_times(minute, hour) else time_words
    return f"{time_words} {day_words}"


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
    return f"the {'last' if number == -1 else _ordinal(abs(number))} {name}"


def _rrule_time(parsed: ParsedRule) -> str:
    start: time = parsed.dtstart.time()
    hours = parsed.parts.get("BYHOUR", str(start.hour))
    minutes = parsed.parts.get("BYMINUTE", str(start.minute))
    clock = _clock_times(minutes, hours)
    return f" at {_join(clock)}" if clock else f" at hour {hours}, minute {minutes}"


def _describe_rrule(parsed: ParsedRule) -> str:
    parts = parsed.parts
    unit = _FREQ_UNITS.get(parts.get("FREQ", ""), "time")
    interval = int(parts.get("INTERVAL", "1"))
    words = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    if "BYDAY" in parts:
        words += " on " + _join([_rrule_day(day) for day in parts["BYDAY"].split(",")])
    if "BYMONTHDAY" in parts:
        words += f" on day {_join(parts['BYMONTHDAY'].split(','))}"
    if "BYMONTH" in parts:
        months = [_value_word(month, 3) for month in parts["BYMONTH"].split(",")]
        words += f" in {_join(months)}"
    if unit in ("day", "week", "month", "year") or "BYHOUR" in parts:
        words += _rrule_time(parsed)
    if "COUNT" in parts:
        words += f", {_plural(int(parts['COUNT']), 'time')}"
    if "UNTIL" in parts:
        words += f", until {parts['UNTIL'][:4]}-{parts['UNTIL'][4:6]}-{parts['UNTIL'][6:8]}"
    if not isinstance(parsed.rule, rrule):
        words += ", with exceptions"
    return words
