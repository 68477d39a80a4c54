"""Durations as people write them in `flows.toml`: `"90s"`, `"1h30m"`, `"PT15M"` or seconds.

Used for schedule intervals and for automation windows (`within`, `cooldown`).
Months and years are refused: they have no fixed length, and a schedule that
means "monthly" is a cron or an rrule. Nothing longer than `MAX_DURATION` is
accepted, so that a time computed from now plus or minus a duration always
stays inside what a datetime can hold.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNIT_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_NUMBER = r"\d+(?:\.\d+)?"
_COMPACT = re.compile(rf"(?:({_NUMBER})(ms|w|d|h|m|s))")
_ISO = re.compile(
    rf"P(?:({_NUMBER})W)?(?:({_NUMBER})D)?"
    rf"(?:T(?:({_NUMBER})H)?(?:({_NUMBER})M)?(?:({_NUMBER})S)?)?",
    re.IGNORECASE,
)
#: The longest duration accepted: about 100 years.
MAX_DURATION = timedelta(days=36525)
_HINT = 'write it like "90s", "15m", "1h30m", "2d", ISO 8601 "PT15M", or a number of seconds'


def parse_duration(value: str | int | float) -> timedelta:
    """The `timedelta` that `value` spells.

    Args:
        value: a number of seconds, a compact duration (`"90s"`, `"15m"`, `"1h30m"`,
            `"2d"`, `"1w"`, `"250ms"`; spaces between parts are allowed), or an ISO 8601
            duration (`"PT15M"`, `"P1D"`, `"P1DT2H"`).

    Raises:
        ValueError: with a message that quotes the value and shows the accepted forms.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a duration; {_HINT}")
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a duration; {_HINT}")
    if isinstance(value, int) and abs(value) > 10**30:
        # Too big for a float, and maybe for repr (Python refuses over 4300 digits).
        shown = f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
        return _from_seconds(math.inf if value > 0 else -math.inf, shown)
    return _from_seconds(float(value), _shortened(repr(value)))


def format_duration(delta: timedelta) -> str:
    """The compact form of `delta`, e.g. `"1h30m"`, `"90s"`; what `parse_duration` reads back."""
    micros = delta // timedelta(microseconds=1)
    if micros % 1000:
        return f"{micros / 1_000_000:g}s"
    millis, parts = micros // 1000, []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts) or "0s"


def _parse_text(text: str) -> timedelta:
    shown = _quoted(text)
    compact = "".join(text.split()).lower()
    if not compact:
        raise ValueError(f"{shown} is not a duration; {_HINT}")
    if re.fullmatch(rf"-?{_NUMBER}", compact):
        return _from_seconds(float(compact), shown)
    if compact.startswith("p"):
        return _parse_iso(compact, shown)
    if not re.fullmatch(rf"{_COMPACT.pattern}+", compact):
        raise ValueError(f"{shown} is not a duration; {_HINT}")
    units = [unit for _, unit in _COMPACT.findall(compact)]
    if len(set(units)) != len(units):
        raise ValueError(f"{shown} names a unit twice; {_HINT}")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _COMPACT.findall(compact))
    return _from_seconds(seconds, shown)


def _parse_iso(compact: str, shown: str) -> timedelta:
    date_part = compact[1:].partition("t")[0]
    if "y" in date_part or "m" in date_part:
        raise ValueError(
            f"{shown} uses months or years, which have no fixed length; "
            "use days or weeks, or a cron or rrule schedule for calendar dates"
        )
    match = _ISO.fullmatch(compact)
    if match is None or not any(match.groups()) or compact.endswith("t"):
        raise ValueError(f"{shown} is not a duration; {_HINT}")
    weeks, days, hours, minutes, seconds = (float(group or 0) for group in match.groups())
    total = weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds
    return _from_seconds(total, shown)


def _from_seconds(seconds: float, shown: str) -> timedelta:
    if seconds < 0:
        raise ValueError(f"{shown} is negative; a duration is zero or more")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{shown} is too long; a duration is at most 36525d (about 100 years)")
    return timedelta(seconds=seconds)


def _quoted(text: str) -> str:
    """`text` in double quotes, as it would appear in the TOML file (shortened if long)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return _shortened(f'"{escaped}"')


def _shortened(shown: str) -> str:
    """A value as messages quote it: at most 40 characters, so one line stays readable."""
    if len(shown) <= 40:
        return shown
    closing = shown[-1] if shown.endswith('"') else ""
    return f"{shown[:36]}...{closing}"
