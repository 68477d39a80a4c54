"""A run's logs, drawn only where they show: follows new lines, filters by level, searches.

The lines live in a `tui.state.LogBuffer`; this view keeps the indexes the
filter shows and formats just the rows on screen, so a run with a million log
lines scrolls as fast as one with ten.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from tui.format import Clock, clock_time, level_colour, level_name
from tui.state import LogBuffer, LogFilter
from tui.widgets.row_list import RowList

LEVELS = (0, 10, 20, 30, 40)


class LogView(RowList):
    """Log lines of the selected run; `f` toggles following, `v` steps the level filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("v", "next_level", "Level"),
    ]

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.buffer = LogBuffer()
        self.follow = True
        self.task_names: dict[str, str] = {}

    def show(self, buffer: LogBuffer) -> None:
        self.buffer = buffer
        self.cursor = len(buffer.shown) - 1 if self.follow else 0
        self.selected_key = None
        self.rows_changed()
        self._keep_following()

    def appended(self) -> None:
        """New lines were added to the buffer: grow, and stay at the end while following."""
        if self.follow:
            self.cursor = max(0, len(self.buffer.shown) - 1)
            self.selected_key = None
        self.rows_changed()
        self._keep_following()

    def set_filter(self, log_filter: LogFilter) -> None:
        self.buffer.filter = log_filter
        self.show(self.buffer)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify(f"following new log lines: {'on' if self.follow else 'off'}", timeout=2)
        if self.follow:
            self.appended()

    def action_next_level(self) -> None:
        current = self.buffer.filter
        level = (
            LEVELS[(LEVELS.index(current.level) + 1) % len(LEVELS)]
            if current.level in LEVELS
            else 0
        )
        self.set_filter(LogFilter(level=level, search=current.search))
        self.notify(f"log level: {level_name(level) if level else 'all'} and above", timeout=2)

    def row_count(self) -> int:
        return len(self.buffer.shown)

    def key_at(self, index: int) -> str | None:
        return str(self.buffer.shown[index]) if index < len(self.buffer.shown) else None

    def index_of(self, key: str) -> int | None:
        return None  # the cursor follows position, not identity, in a log

    def empty_text(self) -> Text:
        if self.buffer.lines:
            return Text("no log line matches the filter", style="dim")
        return Text("no log lines yet", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        line = self.buffer.lines[self.buffer.shown[index]]
        text = Text(clock_time(line.ts, self.clock) + " ", style="dim")
        text.append(level_name(line.level)[:4].ljust(5), style=level_colour(line.level))
        source = self.task_names.get(line.task_run_id or "", "")
        if source:
            text.append(source[:16] + " ", style="cyan")
        text.append(line.message.replace("\n", " ⏎ "))
        search = self.buffer.filter.search
        if search:
            text.highlight_words([search], style="reverse", case_sensitive=False)
        return text

    def _keep_following(self) -> None:
        if self.follow:
            self.scroll_to(
                y=max(0, self.row_count() - self.size.height), animate=False, immediate=True
            )
