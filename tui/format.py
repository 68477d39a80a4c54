"""How states, times and counts read on screen: glyphs, colours, durations, relative times.

Pure functions of the values and a `Clock`, so snapshots freeze by giving a
fixed clock. Colours are the 16 ANSI names, and every state also has a glyph,
so the screen still reads in 16 colours and with `NO_COLOR`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from rich.text import Text

#: Colour per state type.
STATE_COLOURS = {
    "COMPLETED": "green",
    "FAILED": "red",
    "CRASHED": "bright_red",
    "RUNNING": "cyan",
    "SCHEDULED": "yellow",
    "PENDING": "bright_black",
    "CANCELLING": "magenta",
    "CANCELLED": "magenta",
    "PAUSED": "yellow",
}
#: Glyph per state name (the type's glyph for names not listed).
STATE_GLYPHS = {
    "Completed": "✔",
    "Cached": "✔",
    "Failed": "✘",
    "TimedOut": "✘",
    "Crashed": "✘",
    "Running": "⟳",
    "Retrying": "⟳",
    "Scheduled": "◷",
    "Late": "◷",
    "AwaitingRetry": "◷",
    "AwaitingConcurrencySlot": "◷",
    "Resuming": "◷",
    "Pending": "◌",
    "NotReady": "◌",
    "Cancelling": "⊘",
    "Cancelled": "⊘",
    "Paused": "‖",
    "Suspended": "‖",
}
TYPE_OF_NAME = {
    "Completed": "COMPLETED",
    "Cached": "COMPLETED",
    "Failed": "FAILED",
    "TimedOut": "FAILED",
    "Crashed": "CRASHED",
    "Running": "RUNNING",
    "Retrying": "RUNNING",
    "Scheduled": "SCHEDULED",
    "Late": "SCHEDULED",
    "AwaitingRetry": "SCHEDULED",
    "AwaitingConcurrencySlot": "SCHEDULED",
    "Resuming": "SCHEDULED",
    "Pending": "PENDING",
    "NotReady": "PENDING",
    "Cancelling": "CANCELLING",
    "Cancelled": "CANCELLED",
    "Paused": "PAUSED",
    "Suspended": "PAUSED",
}
LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
LEVEL_COLOURS = {10: "bright_black", 20: "", 30: "yellow", 40: "red", 50: "bright_red"}
#: The sign between a collapsed mapped task and its size, as in the issue: `process` SIGN `200`.
TIMES = "\N{MULTIPLICATION SIGN}"
TERMINAL_TYPES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
#: The order outcome counts are shown in: done, failed, running, cancelled, waiting.
_COUNT_ORDER = ("✔", "✘", "⟳", "⊘", "‖", "◷", "◌")


@dataclass(frozen=True)
class Clock:
    """Now, and the zone times are shown in: injected so tests and snapshots can freeze them."""

    now: Callable[[], float] = field(default=time.time)
    zone: tzinfo | None = None

    def local(self, ts: float) -> datetime:
        return (
            datetime.fromtimestamp(ts, self.zone)
            if self.zone
            else datetime.fromtimestamp(ts).astimezone()
        )


def state_colour(state_type: str) -> str:
    return STATE_COLOURS.get(state_type, "default")


def state_glyph(name: str, state_type: str = "") -> str:
    return STATE_GLYPHS.get(name) or {"COMPLETED": "✔", "FAILED": "✘", "RUNNING": "⟳"}.get(
        state_type, "◌"
    )


def state_text(name: str, state_type: str) -> Text:
    """`✔ Completed` in the state's colour."""
    return Text(f"{state_glyph(name, state_type)} {name}", style=state_colour(state_type))


def duration(seconds: float | None) -> str:
    """`0.42s`, `12.3s`, `4m05s`, `2h03m`, `3d04h`: short enough for a column."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def relative(ts: float | None, now: float) -> str:
    """`in 4m`, `12s ago`, `now`: a moment relative to now, coarse on purpose."""
    if ts is None:
        return ""
    delta = ts - now
    if abs(delta) < 1:
        return "now"
    span = _coarse(abs(delta))
    return f"in {span}" if delta > 0 else f"{span} ago"


def _coarse(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def clock_time(ts: float | None, clock: Clock) -> str:
    """`14:02:11` today, `11-20 14:02` another day, in the clock's zone."""
    if ts is None:
        return ""
    moment = clock.local(ts)
    if moment.date() == clock.local(clock.now()).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%m-%d %H:%M")


def run_duration(start: float | None, end: float | None, now: float) -> float | None:
    """How long a run ran (or has run so far, while it still runs)."""
    if start is None:
        return None
    return (end if end is not None else now) - start


def counts_text(counts: dict[str, int]) -> Text:
    """Task runs by outcome as glyphs: `180✔ 12⟳ 8◌`."""
    totals: dict[str, tuple[int, str]] = {}
    for name, n in counts.items():
        glyph = state_glyph(name, TYPE_OF_NAME.get(name, ""))
        before, _ = totals.get(glyph, (0, ""))
        totals[glyph] = (before + n, state_colour(TYPE_OF_NAME.get(name, "PENDING")))
    text = Text()
    for glyph in _COUNT_ORDER:
        if glyph in totals:
            n, colour = totals[glyph]
            text.append(f"{n}{glyph} ", style=colour)
    text.rstrip()
    return text


def outcome_blocks(state_types: list[str], width: int = 5) -> Text:
    """The last outcomes as coloured blocks, oldest left: `■■■□■`; a glyph keeps it readable without colour."""
    text = Text()
    for state_type in reversed(state_types[:width]):
        glyph = (
            "■"
            if state_type == "COMPLETED"
            else "▲"
            if state_type in {"FAILED", "CRASHED"}
            else "□"
        )
        text.append(glyph, style=state_colour(state_type))
    return text


def level_name(level: int) -> str:
    return LEVEL_NAMES.get(level, f"L{level}")


def level_colour(level: int) -> str:
    return LEVEL_COLOURS.get(min(LEVEL_COLOURS, key=lambda k: abs(k - level)), "")


def short_id(run_id: str) -> str:
    return run_id[:8]
