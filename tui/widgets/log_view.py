"""A run's logs, drawn only where they show: follows new lines, filters by level, searches, wraps.

The lines live in a `tui.state.LogBuffer`. This view maps screen rows to
pieces of those lines: a multi-line message (a traceback) takes a row per
line, and with wrap on a long line takes as many rows as it needs; without
wrap, left and right scroll the messages sideways. Only rows on screen are
formatted, so a run with a hundred thousand log lines scrolls as fast as
one with ten.

`t` hides or shows the times, `E` jumps to the first error, and `s` saves
the lines the filter shows to a file only the user can read (`tui.log_file`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from orchestrate.client.protocol import LogInfo
from tui.format import Clock, clock_time, level_colour, level_name
from tui.log_file import save_lines
from tui.state import LogBuffer, LogFilter
from tui.widgets.row_list import RowList

LEVELS = (0, 10, 20, 30, 40)
LEVEL_WIDTH = 8  # CRITICAL, the longest name
SOURCE_WIDTH = 16
SIDE_STEP = 16  # columns one press of left or right moves
CONTINUATION = 2  # indent of a message's later rows: a traceback keeps the room for its frames


class LogView(RowList):
    """Log lines of a run (or one task run); `f` follows, `v` level, `w` wraps, `t` times, ← → scroll."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("v", "next_level", "Level"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("t", "toggle_times", "Times"),
        Binding("E", "first_error", "First error"),
        Binding("s", "save", "Save"),
        Binding("left,h", "side(-1)", "Left", show=False),
        Binding("right,l", "side(1)", "Right", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
    ]

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.buffer = LogBuffer()
        self.follow = True
        self.wrap = False
        self.times = True
        self.x_offset = 0
        self.file_stem = "orc-logs"  # what a saved file is called (the run's name, the task's)
        self.task_names: dict[str, str] = {}
        self._rows: list[tuple[int, int]] = []  # screen row -> (position in buffer.shown, piece)
        self._mapped_width = 0

    # ---- what shows -------------------------------------------------------------------

    def show(self, buffer: LogBuffer) -> None:
        self.buffer = buffer
        self._rows, self._mapped_width = [], self._width()
        self._map_from(0)
        self.cursor = len(self._rows) - 1 if self.follow else 0
        self.selected_key = None
        self.rows_changed()
        self._keep_following()

    def appended(self) -> None:
        """New lines were added to the buffer: grow, and stay at the end while following."""
        self._map_from(self._rows[-1][0] + 1 if self._rows else 0)
        if self.follow:
            self.cursor = max(0, len(self._rows) - 1)
            self.selected_key = None
        self.rows_changed()
        self._keep_following()

    def set_filter(self, log_filter: LogFilter) -> None:
        self.buffer.filter = log_filter
        self.show(self.buffer)

    def on_resize(self) -> None:
        super().on_resize()
        if self.wrap and self._width() != self._mapped_width:
            self._remap()

    def _remap(self) -> None:
        """Rows anew (wrap toggled, width changed), the cursor kept on its line."""
        line = self._rows[self.cursor][0] if self._rows and self.cursor < len(self._rows) else 0
        self._rows, self._mapped_width = [], self._width()
        self._map_from(0)
        self.cursor = next((i for i, (pos, _) in enumerate(self._rows) if pos >= line), 0)
        self.rows_changed()
        self._scroll_to_cursor()

    def _map_from(self, first: int) -> None:
        for position in range(first, len(self.buffer.shown)):
            line = self.buffer.lines[self.buffer.shown[position]]
            pieces = len(self._pieces(line))
            self._rows.extend((position, piece) for piece in range(pieces))

    def _pieces(self, line: LogInfo) -> list[str]:
        """The message as rows: a row per line of it, each cut into widths that fit when wrapping."""
        parts = line.message.rstrip("\n").split("\n")
        if not self.wrap:
            return parts
        width = self._mapped_width or self._width()
        first = max(10, width - self._prefix_width(line))
        rest = max(10, width - CONTINUATION)
        pieces = [parts[0][:first]]
        remainder = [parts[0][first:]] if len(parts[0]) > first else []
        for part in remainder + parts[1:]:
            pieces += [part[i : i + rest] for i in range(0, max(1, len(part)), rest)]
        return pieces

    def _source(self, line: LogInfo) -> str:
        return self.task_names.get(line.task_run_id or "", "")[:SOURCE_WIDTH]

    def _prefix_width(self, line: LogInfo) -> int:
        source = self._source(line)
        return (9 if self.times else 0) + LEVEL_WIDTH + 1 + (len(source) + 1 if source else 0)

    # ---- keys ---------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify(f"following new log lines: {'on' if self.follow else 'off'}", timeout=2)
        if self.follow:
            self.appended()

    def action_toggle_wrap(self) -> None:
        self.wrap, self.x_offset = not self.wrap, 0
        self._remap()

    def action_toggle_times(self) -> None:
        self.times = not self.times
        if self.wrap:  # the room for a message changed
            self._remap()
        else:
            self.refresh()

    def action_first_error(self) -> None:
        """`E`: the first line logged at ERROR or above, following stopped so it stays in sight."""
        lines, shown = self.buffer.lines, self.buffer.shown
        position = next((i for i, index in enumerate(shown) if lines[index].level >= 40), None)
        if position is None:
            self.notify("No error in these log lines.", timeout=3)
            return
        self.follow = False
        self.move_to(next(i for i, (pos, _) in enumerate(self._rows) if pos == position))
        self.scroll_to(y=self.cursor, animate=False, immediate=True)  # on top: its traceback below

    def action_save(self) -> None:
        """`s`: the lines the filter shows, written whole to a new file (0600); the notice names it."""
        lines = [self.buffer.lines[i] for i in self.buffer.shown]
        try:
            path = save_lines(lines, self.file_stem, self.clock, self.task_names)
        except OSError as error:
            self.notify(f"Could not save the logs: {error}", severity="error", timeout=8)
            return
        self.notify(f"Saved {len(lines)} log lines to {path}", timeout=8)

    def action_side(self, step: int) -> None:
        if self.wrap:
            return
        self.x_offset = max(0, self.x_offset + step * SIDE_STEP)
        self.refresh()

    def action_jump(self, index: int) -> None:
        if index == 0:
            self.x_offset = 0
            self.refresh()
        super().action_jump(index)

    def action_next_level(self) -> None:
        current = self.buffer.filter
        level = (
            LEVELS[(LEVELS.index(current.level) + 1) % len(LEVELS)]
            if current.level in LEVELS
            else 0
        )
        self.set_filter(LogFilter(level=level, search=current.search))
        self.notify(f"log level: {level_name(level) if level else 'all'} and above", timeout=2)

    # ---- rows -------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._rows)

    def key_at(self, index: int) -> str | None:
        if index >= len(self._rows):
            return None
        return str(self.buffer.shown[self._rows[index][0]])

    def index_of(self, key: str) -> int | None:
        return None  # the cursor follows position, not identity, in a log

    def empty_text(self) -> Text:
        if self.buffer.lines:
            return Text("no log line matches the filter", style="dim")
        return Text("no log lines yet", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        position, piece = self._rows[index]
        line = self.buffer.lines[self.buffer.shown[position]]
        pieces = self._pieces(line)
        body = pieces[piece] if piece < len(pieces) else ""
        if not self.wrap:
            body = body[self.x_offset :]
        if piece:
            text = Text(" " * CONTINUATION)
            text.append(body, style=_continuation_style(line, piece, len(pieces)))
        else:
            text = Text(clock_time(line.ts, self.clock) + " " if self.times else "", style="dim")
            text.append(
                level_name(line.level).ljust(LEVEL_WIDTH) + " ", style=level_colour(line.level)
            )
            source = self._source(line)
            if source:
                text.append(source + " ", style="cyan")
            text.append(body)
        search = self.buffer.filter.search
        if search:
            text.highlight_words([search], style="reverse", case_sensitive=False)
        return text

    def _keep_following(self) -> None:
        """While following, the last row in sight: now, and again once a layout (a scrollbar) lands."""
        if self.follow:
            self._to_end()
            self.call_after_refresh(self._to_end)

    def _to_end(self) -> None:
        if self.follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)


def _continuation_style(line: LogInfo, piece: int, pieces: int) -> str:
    """A traceback's frames dim and its last line (the error) red; other continuations plain."""
    if line.level < 40:
        return ""
    return "bold red" if piece == pieces - 1 else "dim"
