"""Cron expressions: checked with messages that name the field, and walked fast.

croniter parses the expression (ranges, steps, names, `L`, `fri#2`); the walk
over wall-clock times is done here from croniter's expansion, a day at a time,
because croniter's own `get_next` costs ~100 µs a slot and the daemon asks for
a hundred slots of every schedule whenever it plans.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from croniter import CroniterError, croniter

from orchestrate.schedules.wallclock import DEFAULT_ANCHOR

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: Days searched without a match before a walk gives up (a Feb 29 that is a Monday: 28 years).
_SEARCH_DAYS = 366 * 30


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0

    def allowed(self) -> str:
        words = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.name} must be {self.low}-{self.high}{words}"


_CRON_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day of month", 1, 31),
    _CronField("month", 1, 12, MONTHS, 1),
    _CronField("day of week", 0, 7, DAYS, 0),
)


def cron_fields(expression: str) -> list[str]:
    """The five fields of `expression`, with `@daily`-style macros expanded.

    A one-value range (`5-5`, `mon-mon/2`) becomes the value itself: croniter
    reads it as `*`, which would run `0 5-5 * * *` every hour instead of at 05:00.
    """
    text = " ".join(expression.split())
    fields = MACROS.get(text.lower(), text).split(" ")
    return [",".join(_one_value(item) for item in field.split(",")) for field in fields]


_ONE_VALUE_RANGE = re.compile(r"^(\w+)-(\w+)(?:/\d+)?$")


def _one_value(item: str) -> str:
    match = _ONE_VALUE_RANGE.match(item)
    if match and match[1].lower() == match[2].lower():
        return match[1]
    return item


def validate_cron(expression: str, day_or: bool = True) -> str:
    """`expression` with its spacing normalised; a `ValueError` that names the bad field."""
    text = " ".join(expression.split())
    problem = _cron_problem(text, day_or)
    if problem:
        raise ValueError(f"{json.dumps(expression)} is not a valid cron expression ({problem})")
    if next(cron_plan(text, day_or).walls_after(DEFAULT_ANCHOR), None) is None:
        raise ValueError(
            f"{json.dumps(expression)} never matches a date (like February 30); check the day fields"
        )
    return text


@lru_cache(maxsize=1024)
def _cron_problem(text: str, day_or: bool) -> str | None:
    """Why `text` is not a cron expression, or None; cached, as files are reloaded often."""
    fields = cron_fields(text)
    if len(fields) != 5:
        return (
            f"it has {len(fields) if text else 0} fields; cron takes 5: "
            "minute hour day-of-month month day-of-week, like 0 2 * * *"
        )
    try:
        for field, spec in zip(fields, _CRON_FIELDS, strict=True):
            for item in field.split(","):
                _check_item(item, spec)
        croniter(" ".join(fields), DEFAULT_ANCHOR, day_or=day_or)
    except ValueError as exc:
        return str(exc)
    except CroniterError as exc:
        reason = re.sub(r"^\[.*?\]\s*", "", str(exc))
        if reason.startswith("is not acceptable"):
            return (
                "a part is not understood; use numbers, ranges (1-5), lists (1,3), "
                "steps (*/15) or names (mon, jan)"
            )
        return reason
    return None


def _check_item(item: str, spec: _CronField) -> None:
    base, slash, step = item.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        raise ValueError(f"{spec.name} step must be a whole number from 1, not {step or 'empty'!r}")
    if not base:
        raise ValueError(f"{spec.name} has an empty part; {spec.allowed()}")
    if base in ("*", "?"):
        return
    for bound in base.split("-", 1):
        value = _value(bound, spec)
        if value is not None and not spec.low <= value <= spec.high:
            raise ValueError(spec.allowed())


def _value(text: str, spec: _CronField) -> int | None:
    """The number `text` stands for; None for croniter's extensions (`L`, `5#2`), checked by it."""
    if text.isdigit():
        return int(text)
    if text.lower() in spec.names:
        return spec.names.index(text.lower()) + spec.name_base
    if re.fullmatch(r"[a-z]+", text, re.IGNORECASE) and text.lower() != "l":
        raise ValueError(spec.allowed())
    return None


@dataclass(frozen=True)
class CronPlan:
    """A cron expression expanded into the values each field allows (None: any)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int] | None
    last_day: bool  # `L`: the last day of the month
    nearest_weekday: frozenset[int]  # `15W`: the weekday (Mon-Fri) nearest the 15th
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 0 is Sunday
    nth: Mapping[int, frozenset[int | str]]  # `fri#2` → {5: {2}}; `L5` → {5: {"l"}}
    day_or: bool

    def walls_after(self, start: datetime) -> Iterator[datetime]:
        """The naive wall-clock times the expression names, strictly after naive `start`."""
        day, misses = start.date(), 0
        while misses < _SEARCH_DAYS:
            if self.months is not None and day.month not in self.months:
                day, misses = _next_month(day), misses + 31
                continue
            if self._day_matches(day):
                misses = 0
                for hour in self.hours:
                    for minute in self.minutes:
                        wall = datetime(day.year, day.month, day.day, hour, minute)
                        if wall > start:
                            yield wall
            day, misses = day + timedelta(days=1), misses + 1

    def _day_matches(self, day: date) -> bool:
        any_date = self.days is None and not self.last_day and not self.nearest_weekday
        any_weekday = self.weekdays is None
        if any_date:
            return any_weekday or self._weekday_matches(day)
        if any_weekday:
            return self._date_matches(day)
        if self.day_or:
            return self._date_matches(day) or self._weekday_matches(day)
        return self._date_matches(day) and self._weekday_matches(day)

    def _date_matches(self, day: date) -> bool:
        if self.days is not None and day.day in self.days:
            return True
        if any(day.day == nearest_weekday(day, w) for w in self.nearest_weekday):
            return True
        return self.last_day and day.day == calendar.monthrange(day.year, day.month)[1]

    def _weekday_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7
        if self.weekdays is None or weekday not in self.weekdays:
            return False
        nth = self.nth.get(weekday)
        if not nth:
            return True
        last = day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        return (day.day - 1) // 7 + 1 in nth or ("l" in nth and last)


def nearest_weekday(day: date, wanted: int) -> int:
    """The day of `day`'s month that `W` picks for `wanted`, as croniter does.

    The weekday nearest `wanted` (clamped to the month's length), never
    crossing into another month: a Saturday the 1st gives Monday the 3rd.
    """
    last = calendar.monthrange(day.year, day.month)[1]
    wanted = min(wanted, last)
    weekday = calendar.weekday(day.year, day.month, wanted)  # Monday is 0
    if weekday == 5:
        return wanted - 1 if wanted > 1 else wanted + 2
    if weekday == 6:
        return wanted + 1 if wanted < last else wanted - 2
    return wanted


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@lru_cache(maxsize=1024)
def cron_plan(expression: str, day_or: bool = True) -> CronPlan:
    """The expansion of a valid expression (croniter does the parsing)."""
    parsed = croniter(" ".join(cron_fields(expression)), DEFAULT_ANCHOR, day_or=day_or)
    minutes, hours, days, months, weekdays = parsed.expanded
    return CronPlan(
        minutes=tuple(range(60)) if minutes == ["*"] else tuple(sorted(minutes)),
        hours=tuple(range(24)) if hours == ["*"] else tuple(sorted(hours)),
        days=_allowed([d for d in days if d not in parsed.nearest_weekday]),
        last_day="l" in days,
        nearest_weekday=frozenset(parsed.nearest_weekday),
        months=_allowed(months),
        weekdays=_allowed(weekdays),
        nth={day: frozenset(ns) for day, ns in parsed.nth_weekday_of_month.items()},
        day_or=day_or,
    )


def _allowed(values: list[int | str]) -> frozenset[int] | None:
    return None if "*" in values else frozenset(v for v in values if isinstance(v, int))
