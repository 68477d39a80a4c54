"""RFC 5545 recurrence rules, read by dateutil, and walked fast over wall-clock times.

DTSTART is optional: without it the rule starts at `DEFAULT_ANCHOR` in the
schedule's timezone, so its slots never depend on when they were asked for.
A DTSTART with a TZID (or a Z) names the rule's timezone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from dateutil.rrule import rrule, rrulebase, rrulestr

from orchestrate.schedules.wallclock import DEFAULT_ANCHOR, zone

_FIXED_STEP_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 604800,
}
#: The longest period an INTERVAL may make, in seconds (about 100 years, like any duration).
_LONGEST_PERIOD = 36525 * 86400
_PERIOD_SECONDS = {**_FIXED_STEP_SECONDS, "MONTHLY": 31 * 86400, "YEARLY": 366 * 86400}
_UNTIL_UTC = re.compile(r"UNTIL=\d{8}(?:T\d{6})?Z", re.IGNORECASE)
_DTSTART = re.compile(
    r"DTSTART(?:;TZID=(?P<tz>[^:;\n]+))?:(?P<stamp>\d{8}(?:T\d{6})?)(?P<utc>Z)?", re.IGNORECASE
)


@dataclass(frozen=True)
class ParsedRule:
    """An rrule as dateutil reads it, plus what we need to iterate it fast and describe it."""

    rule: rrulebase
    dtstart: datetime  # naive wall clock, or aware when DTSTART names a zone
    timezone: str | None  # the DTSTART's TZID ("UTC" for a Z suffix)
    parts: dict[str, str]  # the first RRULE's KEY=VALUE parts

    @property
    def rebasable(self) -> bool:
        """A single rule with a fixed-length period and no COUNT may start later without changing its slots."""
        return (
            isinstance(self.rule, rrule)
            and "COUNT" not in self.parts
            and self.parts.get("FREQ") in _FIXED_STEP_SECONDS
        )


def _rrule_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _rrule_parts(text: str) -> dict[str, str]:
    for line in _rrule_lines(text):
        body = line[6:] if line.upper().startswith("RRULE:") else line
        if "FREQ=" in body.upper():
            pairs = (part.partition("=") for part in body.split(";") if part)
            return {key.upper(): value.upper() for key, _, value in pairs}
    return {}


@lru_cache(maxsize=256)
def parse_rrule(text: str) -> ParsedRule:
    """Parse `text` (RFC 5545: an RRULE, optionally with DTSTART, RDATE, EXDATE lines)."""
    parts = _rrule_parts(text)
    if not parts:
        raise ValueError("it has no FREQ; write it like FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
    _check_interval(parts)
    match = _DTSTART.search(text)
    if match is None:
        _check_without_dtstart(text)
    tz_name = (match["tz"] or ("UTC" if match["utc"] else None)) if match else None
    try:
        rule = rrulestr(text, dtstart=DEFAULT_ANCHOR, tzids=zone, cache=False)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    return ParsedRule(rule, _dtstart_of(match, tz_name), tz_name, parts)


def _check_without_dtstart(text: str) -> None:
    """A rule with no DTSTART runs on the schedule's wall clock, where a UTC `UNTIL` means
    nothing: dateutil's own words for it ("must be specified in UTC") say the opposite."""
    if _UNTIL_UTC.search(text):
        raise ValueError(
            "its UNTIL ends in Z (a UTC time), but with no DTSTART the rule runs on the "
            "schedule's clock; give a DTSTART (DTSTART;TZID=Europe/Berlin:20270101T090000, or "
            "one ending in Z), or write UNTIL without the Z to read it on the schedule's clock"
        )


def _check_interval(parts: dict[str, str]) -> None:
    """INTERVAL must be a whole number of periods from 1 up to about 100 years' worth."""
    written = parts.get("INTERVAL")
    if written is None:
        return
    period = _PERIOD_SECONDS.get(parts.get("FREQ", ""), 1)
    if not written.isdigit() or int(written) < 1:
        raise ValueError(f"INTERVAL={written[:20]} must be a whole number, 1 or more")
    if len(written) > 12 or int(written) * period > _LONGEST_PERIOD:
        raise ValueError(
            f"INTERVAL={written[:20]} is too long; the period may be at most about 100 years"
        )


def _dtstart_of(match: re.Match[str] | None, tz_name: str | None) -> datetime:
    if match is None:
        return DEFAULT_ANCHOR
    stamp = match["stamp"]
    naive = datetime.strptime(stamp, "%Y%m%dT%H%M%S" if "T" in stamp.upper() else "%Y%m%d")
    return naive.replace(tzinfo=zone(tz_name)) if tz_name else naive


def validate_rrule(text: str) -> str:
    """`text` if dateutil reads it as an RFC 5545 rule that can fire; a `ValueError` saying why not."""
    try:
        parsed = parse_rrule(text)
    except ValueError as exc:
        raise ValueError(f"{json.dumps(text)} is not a valid rrule ({exc})") from None
    if not _days_meet(parsed.parts):
        raise ValueError(
            f"{json.dumps(text)} never matches a date (like February 30); "
            "check BYMONTH and BYMONTHDAY"
        )
    return text


#: The most days each month can have (February in a leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_meet(parts: dict[str, str]) -> bool:
    """Whether some BYMONTHDAY exists in some BYMONTH, read from the text alone.

    dateutil finds out only by walking every period up to the year 9999: for a
    SECONDLY rule, minutes of a blocked daemon each time it plans.
    """
    days = _numbers(parts.get("BYMONTHDAY", ""))
    months = [m for m in _numbers(parts.get("BYMONTH", "")) if 1 <= m <= 12] or range(1, 13)
    return not days or any(abs(d) <= _MONTH_DAYS[m - 1] for m in months for d in days)


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip().lstrip("+-").isdigit()]


def rrule_walls_after(text: str, start: datetime) -> Iterator[datetime]:
    """The naive wall-clock times of the rule strictly after `start` (aware, in the rule's timezone)."""
    parsed = parse_rrule(text)
    origin_zone = parsed.dtstart.tzinfo
    since = start.astimezone(origin_zone) if origin_zone else start.replace(tzinfo=None)
    for moment in _rebased(parsed, since).xafter(since):
        yield moment.replace(tzinfo=None)


def _rebased(parsed: ParsedRule, start: datetime) -> rrulebase:
    """The rule with DTSTART moved forward by whole periods, close to `start`: same slots, fast.

    dateutil walks every period from DTSTART; a minutely rule from 2020 would
    take seconds. Moving DTSTART by whole multiples of the period keeps every
    later slot where it was.
    """
    if not parsed.rebasable:
        return parsed.rule
    step = timedelta(
        seconds=_FIXED_STEP_SECONDS[parsed.parts["FREQ"]] * int(parsed.parts.get("INTERVAL", "1"))
    )
    origin = parsed.dtstart.replace(tzinfo=None)
    periods = (start.replace(tzinfo=None) - origin) // step - 1
    if periods <= 0:
        return parsed.rule
    moved = (origin + periods * step).replace(tzinfo=parsed.dtstart.tzinfo)
    assert isinstance(parsed.rule, rrule)
    return parsed.rule.replace(dtstart=moved)
