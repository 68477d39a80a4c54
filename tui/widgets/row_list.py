"""A keyboard list that draws only the rows on screen (Textual's line API).

Subclasses say how many rows there are, which key each row has and how a row
reads; this class keeps the cursor on the same key when rows are inserted
above it, scrolls it into view, and reports the highlighted row. Ten thousand
runs cost the same to draw as thirty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

CURSOR = Style(reverse=True)
CURSOR_UNFOCUSED = Style(bold=True, underline=True)


class RowList(ScrollView, can_focus=True):
    """A cursor over rows drawn on demand."""

    DEFAULT_CSS = """
    RowList { height: 1fr; overflow-x: hidden; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another row (or the row under it changed key)."""

        row_list: RowList
        key: str | None

        @property
        def control(self) -> RowList:
            return self.row_list

    @dataclass
    class Chosen(Message):
        """Enter was pressed on a row."""

        row_list: RowList
        key: str | None

        @property
        def control(self) -> RowList:
            return self.row_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cursor = 0
        self.selected_key: str | None = None

    # ---- what subclasses provide -------------------------------------------

    def row_count(self) -> int:
        raise NotImplementedError

    def key_at(self, index: int) -> str | None:
        raise NotImplementedError

    def index_of(self, key: str) -> int | None:
        raise NotImplementedError

    def render_row(self, index: int, width: int) -> Text:
        raise NotImplementedError

    def empty_text(self) -> Text:
        return Text("nothing yet", style="dim")

    # ---- drawing -----------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width or self.size.width
        count = self.row_count()
        if index >= count:
            text = self.empty_text() if count == 0 and y == 0 else Text()
        else:
            text = self.render_row(index, width)
            text.no_wrap, text.overflow = True, "crop"
            if index == self.cursor:
                text.stylize(CURSOR if self.has_focus else CURSOR_UNFOCUSED)
        return to_strip(self, text, width)

    def rows_changed(self) -> None:
        """Call after the rows changed: keeps the cursor on its key, resizes, repaints."""
        count = self.row_count()
        if self.selected_key is not None:
            index = self.index_of(self.selected_key)
            if index is not None:
                self.cursor = index
        self.cursor = max(0, min(self.cursor, count - 1))
        self.virtual_size = Size(self.size.width, count)
        self._announce()
        self.refresh()

    def on_focus(self) -> None:
        """Focusing a list selects its row again: what the verbs act on follows the focus."""
        self.refresh()
        if self.selected_key is not None:
            self.post_message(self.Highlighted(self, self.selected_key))

    def on_blur(self) -> None:
        self.refresh()

    # ---- moving ------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.size.height - 1))

    def action_jump(self, index: int) -> None:
        self.move_to(index if index >= 0 else self.row_count() - 1)

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self, self.selected_key))

    def move_to(self, index: int) -> None:
        count = self.row_count()
        if count == 0:
            return
        previous = self.cursor
        self.cursor = max(0, min(index, count - 1))
        self._scroll_to_cursor()
        self.refresh_line(previous)
        self.refresh_line(self.cursor)
        self._announce()

    def _scroll_to_cursor(self) -> None:
        top, height = self.scroll_offset.y, max(1, self.size.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        key = self.key_at(self.cursor) if self.row_count() else None
        if key != self.selected_key:
            self.selected_key = key
            self.post_message(self.Highlighted(self, key))


def to_strip(widget: ScrollView, text: Text, width: int) -> Strip:
    """One line of `text`, cut or padded to `width`, on the widget's own background."""
    segments = list(text.render(widget.app.console))
    return Strip(segments).crop_extend(0, width, None).apply_style(widget.rich_style)
