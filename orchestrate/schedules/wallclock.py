"""Wall-clock times: IANA timezones by name, and the instant a wall-clock time names.

A repeated time (autumn) is its first occurrence; a skipped one (spring) is
the instant the clocks jump, the first valid time after the gap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The anchor of intervals, and the DTSTART of rrules, that name none (a wall-clock time
#: in the schedule's timezone): fixed, so slots never depend on when they were asked for.
DEFAULT_ANCHOR = datetime(2020, 1, 1)


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; a `ValueError` that suggests a close name if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        pass
    from difflib import get_close_matches
    from zoneinfo import available_timezones

    close = get_close_matches(name, sorted(available_timezones()), n=1) if len(name) < 64 else []
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    shown = name if len(name) < 64 else f"{name[:60]}..."
    raise ValueError(
        f'unknown timezone "{shown}"{hint}; use an IANA name like "Europe/Berlin" or "UTC"'
    )


def checked_timezone(name: str | None) -> str | None:
    """`name` if it is a known timezone (or None); a `ValueError` otherwise."""
    if name is not None:
        zone(name)
    return name


def resolve_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant the naive wall-clock time `wall` names in `tz`.

    A repeated time is its first occurrence; a skipped one is the instant the
    clocks jump over it.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant of the transition that skips `wall`, found by bisection in whole seconds."""
    low = int(wall.replace(tzinfo=tz, fold=1).timestamp())  # before the jump
    high = int(wall.replace(tzinfo=tz, fold=0).timestamp())  # after it
    offset_after = datetime.fromtimestamp(high, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
