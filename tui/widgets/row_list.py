"""A keyboard list that draws only the rows on screen (Textual's line API).

Subclasses say how many rows there are, which key each row has and how a row
reads; this class keeps the cursor on the same key when rows are inserted
above it, scrolls it into view, and reports the highlighted row. Ten thousand
runs cost the same to draw as thirty.

Repaints are as small as the change: `rows_updated` repaints only the rows
that show and read differently from what is on screen (it remembers the text
of each line drawn), and a change in the number of rows resizes the
scrollable area without a layout of the screen unless the scrollbar comes or
goes. A list that is not on screen (a tab in the background) does no work
until it shows.

A row is compared and drawn by its look (`row_look`): its `Text` by default,
or, for a list that builds rows faster than `Text` does (the run graph), a
tuple of styled pieces. A tuple look is hashable, so the strip drawn for it is
kept (keyed by the look itself, the width and the cursor on it, as Textual's
`DataTable` keeps rows and `Log` lines): a page back, a cursor move or a
repaint of rows that read the same draws nothing new, and a row whose state
changed reads differently, so a stale strip can never show.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tui.sorting import Sorting

CURSOR = Style(reverse=True)
CURSOR_UNFOCUSED = Style(bold=True)  # where the selection is, while another pane has the keys
STRIPS_KEPT = 1024  # drawn rows kept by look: a few screens back and forth


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
        self.holds_selection = True  # unfocused, the cursor shows only where the selection is
        self._drawn: dict[int, tuple[int, object]] = {}  # line on screen -> (row, its look there)
        self._line_style: Style | None = None
        self._strips: LRUCache[tuple[Hashable, int, Style | None], Strip] = LRUCache(STRIPS_KEPT)
        self._frame: tuple[int, int] | None = None  # (first row shown, width) while lines are drawn
        self.repaint_pending = False  # rows that read differently, not drawn yet
        #: Called as soon as the cursor reaches another row, before `Highlighted` is posted:
        #: a pane that follows the cursor repaints in the list's own frame, not a frame later.
        self.follower: Callable[[str | None], None] | None = None

    # ---- what subclasses provide -------------------------------------------

    def row_count(self) -> int:
        raise NotImplementedError

    def key_at(self, index: int) -> str | None:
        raise NotImplementedError

    def index_of(self, key: str) -> int | None:
        raise NotImplementedError

    def render_row(self, index: int, width: int) -> Text:
        raise NotImplementedError

    def row_look(self, index: int, width: int) -> object:
        """What the row shows, compared with `==` to spare repaints: its `Text` unless overridden.

        A subclass may return a hashable look instead (a tuple) and draw it
        in `look_strip`; its strips are then kept and reused.
        """
        return self._row_text(index, width)

    def look_strip(self, look: object, width: int, cursor: Style | None) -> Strip:
        """Draw a look (a `Text` here) at `width`, with the cursor's style over it if given."""
        assert isinstance(look, Text)
        if cursor is not None:
            look = look.copy()
            look.stylize(cursor)
        return to_strip(self, look, width, self._base_style())

    def empty_text(self) -> Text:
        return Text("nothing yet", style="dim")

    def selectable(self, index: int) -> bool:
        """Whether the cursor may rest on the row (a section header may not)."""
        return True

    def _nearest_selectable(self, index: int, step: int) -> int:
        """`index`, or the first selectable row from it going `step`, else going back."""
        count = self.row_count()
        for direction in (step or 1, -(step or 1)):
            i = index
            while 0 <= i < count:
                if self.selectable(i):
                    return i
                i += direction
        return index

    # ---- drawing -----------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual asks line by line; where the list is scrolled to and how wide it is, once a frame."""
        self.repaint_pending = False
        with self._reading_rows(self.scroll_offset.y, self._width()):
            return super().render_lines(crop)

    @contextmanager
    def _reading_rows(self, top: int, width: int) -> Iterator[None]:
        """While the rows on screen are read (drawn, or compared with what is drawn)."""
        outer, self._frame = self._frame, (top, width)
        self.rows_read()
        try:
            yield
        finally:
            self._frame = outer

    def rows_read(self) -> None:
        """The rows on screen are about to be read: what they share may be worked out once."""

    def render_line(self, y: int) -> Strip:
        top, width = self._frame or (self.scroll_offset.y, self._width())
        index = top + y
        count = self.row_count()
        if index >= count:
            self._drawn.pop(y, None)
            text = self.empty_text() if count == 0 and y == 0 else Text()
            return to_strip(self, text, width, self._base_style())
        look = self.row_look(index, width)
        self._drawn[y] = (index, look)
        cursor = None
        if index == self.cursor and (self.has_focus or self.holds_selection):
            cursor = CURSOR if self.has_focus else CURSOR_UNFOCUSED
        if not isinstance(look, tuple):
            return self.look_strip(look, width, cursor)
        key = (look, width, cursor)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self.look_strip(look, width, cursor)
        return strip

    def _base_style(self) -> Style:
        """The list's own style under every line, worked out once per style change, not per line."""
        if self._line_style is None:
            self._line_style = self.rich_style
        return self._line_style

    def notify_style_update(self) -> None:
        self._line_style = None
        self._strips.clear()  # drawn on the old background
        super().notify_style_update()

    def rows_changed(self) -> None:
        """Call after the rows changed (added, removed, reordered): keeps the cursor on its key, repaints."""
        count = self.row_count()
        if self.selected_key is not None:
            index = self.index_of(self.selected_key)
            if index is not None:
                self.cursor = index
        self.cursor = self._nearest_selectable(max(0, min(self.cursor, count - 1)), 1)
        self._resize(count)
        self._announce()
        self.refresh()

    def rows_updated(self, indexes: Iterable[int]) -> None:
        """Call after rows changed in place or were added at the end: repaints what reads differently."""
        count = self.row_count()
        self._resize(count)
        if count and self.cursor >= count:
            self.cursor = count - 1
        self._announce()
        if not self.is_on_screen:
            self.refresh()  # drawn when it shows
            return
        self._repaint_changed(index for index in indexes if index < count)

    def repaint_changed(self, only_moving: bool = False) -> None:
        """Repaint the rows on screen whose text changed as the clock moved (durations, `in 4m`).

        `only_moving` looks only at rows that `moves_with_clock` (a cheaper
        check, for every second; a full one now and then catches the rest).
        """
        if not self.is_on_screen:
            self.refresh()  # drawn afresh when it shows
            return
        top, height, _ = self._window()
        rows = range(top, min(self.row_count(), top + height))
        self._repaint_changed(i for i in rows if not only_moving or self.moves_with_clock(i))

    def moves_with_clock(self, index: int) -> bool:
        """Whether the row's text can change with the clock alone."""
        return True

    def _repaint_changed(self, indexes: Iterable[int]) -> None:
        top, height, width = self._window()
        lines: list[Region] = []
        with self._reading_rows(top, width):
            for index in set(indexes):
                y = index - top
                if 0 <= y < height:
                    drawn = self._drawn.get(y)
                    if (
                        drawn is None
                        or drawn[0] != index
                        or drawn[1] != self.row_look(index, width)
                    ):
                        lines.append(Region(0, y, max(self.virtual_size.width, self.size.width), 1))
        if lines:  # one refresh for them all: each costs Textual a pass over the widget's caches
            self.refresh(*lines)
            self.repaint_pending = True

    def _row_text(self, index: int, width: int) -> Text:
        text = self.render_row(index, width)
        text.no_wrap, text.overflow = True, "crop"
        return text

    def _window(self) -> tuple[int, int, int]:
        """(first row on screen, how many rows show, their width), from one look at the layout."""
        region = self.scrollable_content_region
        return self.scroll_offset.y, max(1, region.height), region.width

    def _width(self) -> int:
        return self.scrollable_content_region.width or self.size.width

    def _resize(self, count: int) -> None:
        """Make the scrollable area `count` rows high; a layout only when the scrollbar comes or goes."""
        if count == self.virtual_size.height:
            return
        size = Size(self.size.width, count)
        if not self.is_on_screen:  # the layout that shows it sizes the scrollbar
            self.set_reactive(Widget.virtual_size, size)
            return
        scrollbar = count > self.container_size.height
        if size.width != self.virtual_size.width or scrollbar != self.show_vertical_scrollbar:
            self.virtual_size = size  # a layout: the content gets narrower or wider
            return
        self.set_reactive(Widget.virtual_size, size)
        if scrollbar:
            self.vertical_scrollbar.window_virtual_size = count
            self.vertical_scrollbar.refresh()
        if self.scroll_offset.y > self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def on_resize(self) -> None:
        """The scrollable area stays as wide as the list."""
        self.set_reactive(Widget.virtual_size, Size(self.size.width, self.virtual_size.height))

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
        self.move_to(self.cursor + direction * max(1, self._window()[1] - 1))

    def action_jump(self, index: int) -> None:
        self.move_to(index if index >= 0 else self.row_count() - 1)

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self, self.selected_key))

    def move_to(self, index: int) -> None:
        count = self.row_count()
        if count == 0:
            return
        previous = self.cursor
        step = 1 if index >= previous else -1
        self.cursor = self._nearest_selectable(max(0, min(index, count - 1)), step)
        self._scroll_to_cursor()
        self.refresh_line(previous)
        self.refresh_line(self.cursor)
        self._announce()

    def _scroll_to_cursor(self) -> None:
        top, height, _ = self._window()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        key = self.key_at(self.cursor) if self.row_count() else None
        if key != self.selected_key:
            self.selected_key = key
            if self.follower is not None:
                self.follower(key)
            self.post_message(self.Highlighted(self, key))


def to_strip(widget: ScrollView, text: Text, width: int, style: Style | None = None) -> Strip:
    """One line of `text`, cut or padded to `width`, on the widget's own background (or `style`)."""
    segments = list(text.render(widget.app.console))
    return fitted_strip(segments, width, style or widget.rich_style)


def fitted_strip(segments: list[Segment], width: int, base: Style) -> Strip:
    """`Strip(segments).crop_extend(0, width, None).apply_style(base)`, in one pass when the line fits.

    A line narrower than the list (nearly every row) needs no cut: its
    segments are put on `base` and padded, without the three strips between.
    """
    length = sum(cell_len(segment.text) for segment in segments)
    if length > width or not base:  # cut, or no background (Rich leaves the styles as they are)
        return Strip(segments).crop_extend(0, width, None).apply_style(base)
    on_base = base.__add__
    line = [Segment(text, on_base(style)) for text, style, _ in segments]
    if length < width:
        line.append(Segment(" " * (width - length), base))
    return Strip(line, width)


class SortableList(RowList):
    """A list whose order the user picks: `o` the next sort key, `O` reversed; the title names it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "sort_next", "Sort"),
        Binding("O", "sort_reverse", "Reverse", show=False),
    ]

    sorting: Sorting[Any]

    @dataclass
    class Sorted(Message):
        """The list's order changed (another key or direction)."""

        row_list: SortableList

        @property
        def control(self) -> SortableList:
            return self.row_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title_base = ""

    def set_title(self, base: str) -> None:
        """The pane's title, then the sort in use (`Runs 2 · start ↑`)."""
        self.title_base = base
        self.border_title = f"{base} · {self.sorting.label()}" if base else self.sorting.label()

    def action_sort_next(self) -> None:
        self.sorting.cycle()
        self._resorted()

    def action_sort_reverse(self) -> None:
        self.sorting.flip()
        self._resorted()

    def _resorted(self) -> None:
        self.order_changed()
        self.set_title(self.title_base)
        self.rows_changed()
        self.post_message(self.Sorted(self))

    def order_changed(self) -> None:
        """Drop whatever order is kept for the rows (called before they are read again)."""
