"""The run graph: lanes, state glyph, name, duration and a time bar, one row per task.

The same rows make the Timeline tab (`timeline=True`): no lanes, a wider bar,
and the offset from the run's start, so graph and timeline line up row for
row. Rows are drawn on demand from `tui.graph.RunGraph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip

from orchestrate.client.protocol import FlowRunInfo
from tui.format import TERMINAL_TYPES, Clock
from tui.graph import GraphChanges, GraphNode, RunGraph
from tui.widgets.graph_rows import (
    Pieces,
    RowGeometry,
    lane_columns,
    row_pieces,
    to_strip,
    to_text,
)
from tui.widgets.row_list import RowList

FAILED_TYPES = frozenset({"FAILED", "CRASHED"})


class GraphView(RowList):
    """A run's task runs as graph rows; `enter` expands a mapped task or a subflow."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,right,left", "expand", "Expand", show=False),
        Binding("f", "next_failure", "Next failed"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("l", "logs", "Task logs"),
    ]

    @dataclass
    class LogsWanted(Message):
        """`l` (or enter on a task run): the selected task's logs, in the log viewer."""

        graph_view: GraphView
        node: GraphNode

    @dataclass
    class Expanded(Message):
        """The view expanded a group itself (to show a failed member): the run's views repaint."""

        graph_view: GraphView

    def __init__(self, clock: Clock, *, timeline: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.timeline = timeline
        self.graph: RunGraph | None = None
        self.run: FlowRunInfo | None = None
        self.search = ""  # what `/` looks for in task names (highlighted, `n` for the next)
        self._styles: dict[tuple[str, str, Style | None], Style] = {}  # final style of a piece
        self._geometry: RowGeometry | None = None  # what the rows of the frame being drawn share

    def show(self, run: FlowRunInfo | None, graph: RunGraph | None) -> None:
        self.run, self.graph = run, graph
        self.cursor = 0
        self.selected_key = None
        self.rows_changed()

    def graph_changed(self, changes: GraphChanges) -> None:
        """Repaint after task runs arrived or changed: all rows after a rebuild, else just those named."""
        if changes.everything:
            self.rows_changed()
        else:
            self.rows_updated(changes.rows)

    def row_count(self) -> int:
        return len(self.graph) if self.graph is not None else 0

    def key_at(self, index: int) -> str | None:
        return self.graph.row(index).node.key if self.graph is not None else None

    def index_of(self, key: str) -> int | None:
        return None if self.graph is None else self.graph.index_of(key)

    def empty_text(self) -> Text:
        if self.run is None:
            return Text("select a run to see its graph", style="dim")
        return Text("no task runs yet", style="dim")

    def selected_node(self) -> GraphNode | None:
        if self.graph is None or not self.row_count():
            return None
        return self.graph.row(self.cursor).node

    def action_logs(self) -> None:
        node = self.selected_node()
        if node is not None:
            self.post_message(self.LogsWanted(self, node))

    def action_expand(self) -> None:
        self.action_choose()

    def action_next_failure(self) -> None:
        """`f`: the next row (after the cursor, wrapping) that failed or holds a failure."""
        count = self.row_count()
        if self.graph is None or not count:
            return
        for step in range(1, count + 1):
            index = (self.cursor + step) % count
            node = self.graph.row(index).node
            if node.header:  # an open group: its failures are the rows below it
                continue
            failed = (
                node.summary().first_failure is not None
                if node.grouped
                else node.task_run.state.type in FAILED_TYPES
            )
            if failed:
                self._onto_failure(index, node)
                return
        self.notify("No task of this run failed.", timeout=3)

    def _onto_failure(self, index: int, node: GraphNode) -> None:
        """The cursor onto the failed task run itself: a collapsed group holding it opens first."""
        failure = node.summary().first_failure if node.grouped else None
        if self.graph is None or failure is None:
            self.move_to(index)
            return
        self.graph.toggle(index)
        self.rows_changed()
        self.post_message(self.Expanded(self))
        row = self.graph.row_of_task_run(failure.id)
        self.move_to(index if row is None else row)
        self.call_after_refresh(self._scroll_to_cursor)  # once the taller list is laid out

    def find(self, search: str, start: int = 0) -> None:
        """Move to the first row from `start` (wrapping) whose task, or a member of its group, matches."""
        self.search = search
        self.refresh()
        count = self.row_count()
        if self.graph is None or not search or not count:
            return
        wanted = search.casefold()
        for step in range(count):
            index = (start + step) % count
            node = self.graph.row(index).node
            names = (
                [node.name] if not node.grouped else [node.name, *(m.name for m in node.members)]
            )
            if any(wanted in name.casefold() for name in names):
                self.move_to(index)
                return
        self.notify(f"No task matches {search!r}.", timeout=3)

    def action_next_match(self) -> None:
        """`n`: the next row that matches the graph search."""
        if self.search:
            self.find(self.search, self.cursor + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The graph's lines, once every row on screen is placed: they all share one lane width.

        What every row of the frame shares (lanes shown, the run's span, the
        time) is worked out once, not per line.
        """
        if self.graph is not None:
            self.graph.lay_out_through(self.scroll_offset.y + self.size.height)
        return super().render_lines(crop)

    def rows_read(self) -> None:
        self._geometry = None  # worked out afresh for these rows: the time has moved

    def render_line(self, y: int) -> Strip:
        if self.graph is not None and self._frame is None:  # asked for a line alone
            self.graph.lay_out_through(self.scroll_offset.y + self.size.height)
        return super().render_line(y)

    def render_row(self, index: int, width: int) -> Text:
        text = to_text(self._pieces(index, width))
        if self.search:
            text.highlight_words([self.search], style="reverse", case_sensitive=False)
        return text

    def row_look(self, index: int, width: int) -> object:
        """The row's pieces (hashable, drawn straight to segments), or its Text while a search highlights."""
        return self._row_text(index, width) if self.search else self._pieces(index, width)

    def look_strip(self, look: object, width: int, cursor: Style | None) -> Strip:
        if not isinstance(look, tuple):
            return super().look_strip(look, width, cursor)
        base = self._base_style()

        def style_of(part: str, style: str) -> Style:
            key = (part, style, cursor)
            found = self._styles.get(key)
            if found is None:
                found = base + self._named(part) + self._named(style)
                found = self._styles[key] = found + cursor if cursor else found
            return found

        return to_strip(look, width, style_of, base)

    def notify_style_update(self) -> None:
        self._styles.clear()  # they hold the old background
        super().notify_style_update()

    def _pieces(self, index: int, width: int) -> Pieces:
        assert self.graph is not None
        lane_width = self.graph.lane_width
        geometry = self._geometry
        if geometry is None or geometry.width != width or geometry.lane_width != lane_width:
            geometry = RowGeometry(
                width,
                self.timeline,
                lane_columns(lane_width, width),
                lane_width,
                self._bounds(),
                self.clock.now(),
            )
            if self._frame is not None:  # kept for the other rows read with it
                self._geometry = geometry
        return row_pieces(self.graph.row(index), geometry)

    def _named(self, name: str) -> Style:
        """A style by name, as `Text` looks it up (the console's theme)."""
        return self.app.console.get_style(name, default=Style.null()) if name else Style.null()

    def _bounds(self) -> tuple[float, float]:
        """The run's span: from its start to its end (or now, while it runs)."""
        now = self.clock.now()
        run = self.run
        start = run.start_time if run and run.start_time else now
        if run is None or run.state.type not in TERMINAL_TYPES or run.end_time is None:
            end = now
        else:
            end = run.end_time
        return start, max(end, start + 0.001)
