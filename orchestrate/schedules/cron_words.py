"""Cron expressions in words, for every form croniter accepts.

Ranges read "Monday through Friday"; steps over days, months and weekdays are
spelled out as the values they pick ("day 1, 11, 21 and 31"), as cron starts
each step again every month or week; minute and hour steps read "every 15
minutes" or "every 2nd hour". `L`, `15W`, `fri#3` and `L5` read as the days
they name: "the last day", "the weekday nearest day 15", "the 3rd Friday",
"the last Friday".
"""

from __future__ import annotations

import re

from orchestrate.schedules.cron import DAYS, MONTHS

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY = range(5)
#: The values a field's `*` stands for (Sunday counted once, as 0).
_SPANS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NEAREST = re.compile(r"(?:(\d+)w|w(\d+))")
_NTH = re.compile(r"(\w+)#(\d)")
_LAST_WEEKDAY = re.compile(r"l(\w+)")


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def month_name(text: str) -> str:
    """ "1" or "jan" → "Jan"; anything else as written."""
    number = _number(text, _MONTH)
    return MONTHS[number - 1].capitalize() if number is not None and 1 <= number <= 12 else text


def clock_times(minute: str, hour: str) -> list[str] | None:
    """ "HH:MM" for each time of day when both fields are plain numbers (at most 4 times)."""
    minutes, hours = minute.split(","), hour.split(",")
    if not all(part.isdigit() for part in minutes + hours) or len(minutes) * len(hours) > 4:
        return None
    return [f"{int(h):02d}:{int(m):02d}" for h in hours for m in minutes]


def describe_cron(fields: list[str], day_or: bool) -> str:
    """Five cron fields (macros expanded) in words, without the time zone."""
    minute, hour, day, month, weekday = fields
    time_words = _time(minute, hour)
    day_words = _days(day, month, weekday, day_or)
    if not day_words:
        return f"every day {time_words}" if clock_times(minute, hour) else time_words
    return f"{time_words} {day_words}"


def _number(text: str, field: int) -> int | None:
    """The number a plain value or a name stands for; None for anything else."""
    lowered = text.lower()
    if lowered.isdigit():
        return int(lowered)
    if field == _MONTH and lowered in MONTHS:
        return MONTHS.index(lowered) + 1
    if field == _WEEKDAY and lowered in DAYS:
        return DAYS.index(lowered)
    return None


def _name(value: int, field: int) -> str:
    if field == _MONTH:
        return MONTHS[value - 1].capitalize()
    if field == _WEEKDAY:
        return _DAY_NAMES[value % 7]
    return str(value)


def _value_word(text: str, field: int) -> str:
    number = _number(text, field)
    return text if number is None else _name(number, field)


def _stepped(base: str, step: int, field: int) -> list[int] | None:
    """The values `base/step` picks, as cron counts them; None if `base` is not plain."""
    low, high = _SPANS[field]
    if base in ("*", "?"):
        start, end = low, high
    else:
        first, _, last = base.partition("-")
        begin, finish = _number(first, field), _number(last, field) if last else high
        if begin is None or finish is None:
            return None
        start, end = begin, finish
    if start <= end:
        return list(range(start, end + 1, step))
    return [*range(start, high + 1), *range(low, end + 1)][::step]  # fri-mon wraps the week


def _items(text: str, field: int) -> list[str]:
    """Each part of a field as words; steps as the values they pick."""
    words: list[str] = []
    for item in text.split(","):
        base, _, step = item.partition("/")
        picked = _stepped(base, int(step), field) if step.isdigit() else None
        if picked is not None:
            words.extend(_name(value, field) for value in picked)
        elif field == _WEEKDAY and _stepped(base, 1, field) == list(range(8)):
            words.append("Sunday through Saturday")  # 0-7 names Sunday twice
        else:
            words.append(" through ".join(_value_word(part, field) for part in base.split("-", 1)))
    return words


def _minutes(minute: str) -> str:
    if minute == "*":
        return "every minute"
    if re.fullmatch(r"\*/\d+", minute):
        step = int(minute[2:])
        return f"every {step} minutes" if 60 % step == 0 else f"every {ordinal(step)} minute"
    return f"at minute {join(_items(minute, _MINUTE))}"


def _time(minute: str, hour: str) -> str:
    clock = clock_times(minute, hour)
    if clock is not None:
        return "at " + join(clock)
    minute_words = _minutes(minute)
    link = "during" if minute_words.startswith("every") else "past"
    if hour == "*":
        return minute_words if link == "during" else f"{minute_words} past every hour"
    if re.fullmatch(r"\*/\d+", hour):
        return f"{minute_words} {link} every {ordinal(int(hour[2:]))} hour"
    return f"{minute_words} {link} hour {join(_items(hour, _HOUR))}"


def _month_days(day: str) -> str:
    """ "on day 1 and 15 of the month", "on the last day of the month", "on the weekday nearest …"."""
    plain: list[str] = []
    special: list[str] = []
    for item in day.split(","):
        lowered = item.lower()
        nearest = _NEAREST.fullmatch(lowered)
        if lowered == "l":
            special.append("the last day")
        elif nearest is not None:
            special.append(f"the weekday nearest day {nearest[1] or nearest[2]}")
        else:
            plain.extend(_items(item, _DAY))
    if plain:
        plain[0] = f"day {plain[0]}"
    return f"on {join(plain + special)} of the month"


def _weekdays(weekday: str) -> str:
    """ "on Monday through Friday", "on the 3rd Friday of the month", "on the last Friday …"."""
    words: list[str] = []
    of_month = False
    for item in weekday.split(","):
        lowered = item.lower()
        nth, last = _NTH.fullmatch(lowered), _LAST_WEEKDAY.fullmatch(lowered)
        if nth is not None:
            words.append(f"the {ordinal(int(nth[2]))} {_value_word(nth[1], _WEEKDAY)}")
            of_month = True
        elif last is not None and _number(last[1], _WEEKDAY) is not None:
            words.append(f"the last {_value_word(last[1], _WEEKDAY)}")
            of_month = True
        else:
            words.extend(_items(item, _WEEKDAY))
    return f"on {join(words)}" + (" of the month" if of_month else "")


def _days(day: str, month: str, weekday: str, day_or: bool) -> str:
    parts = []
    if day not in ("*", "?"):
        parts.append(_month_days(day))
    if weekday not in ("*", "?"):
        parts.append(_weekdays(weekday))
    words = (" or " if day_or else " and ").join(parts)
    if month not in ("*", "?"):
        words = f"{words} in {join(_items(month, _MONTH))}".strip()
    return words
