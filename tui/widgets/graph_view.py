"""The run graph: lanes, state glyph, name, duration and a time bar, one row per task.

The same rows make the Timeline tab (`timeline=True`): no lanes, a wider bar,
and the offset from the run's start, so graph and timeline line up row for
row. Rows are drawn on demand from `tui.graph.RunGraph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip

from orchestrate.client.protocol import FlowRunInfo
from tui.format import (
    TERMINAL_TYPES,
    TIMES,
    Clock,
    counts_text,
    duration,
    run_duration,
    state_colour,
    state_glyph,
)
from tui.graph import GraphChanges, GraphNode, GraphRow, RunGraph
from tui.widgets.row_list import RowList

#: Lane colours by column, cycling (git's palette: the 16 ANSI ones that read on dark and light).
LANE_COLOURS = ("blue", "magenta", "cyan", "yellow", "green", "bright_blue", "bright_magenta")
MAX_LANE_CHARS = 24
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

    def render_line(self, y: int) -> Strip:
        """A line of the graph, once every row on screen is placed: they all share one lane width."""
        if self.graph is not None:
            self.graph.lay_out_through(self.scroll_offset.y + self.size.height)
        return super().render_line(y)

    def render_row(self, index: int, width: int) -> Text:
        assert self.graph is not None
        row = self.graph.row(index)
        bounds = self._bounds()
        lanes = Text() if self.timeline else self._lanes(row, width)
        rest = width - len(lanes)
        label_width = min(40 if self.timeline else 36, max(20, rest * 11 // 20))
        bar_width = rest - label_width - 1
        text = lanes + _label(row.node, label_width, self.timeline, bounds[0])
        if bar_width >= 6:
            text.append(" ")
            text.append_text(_time_bar(row.node, bounds, bar_width, self.clock.now()))
        if self.search:
            text.highlight_words([self.search], style="reverse", case_sensitive=False)
        return text

    def _lanes(self, row: GraphRow, width: int) -> Text:
        assert self.graph is not None
        columns = min(self.graph.lane_width, max(1, min(MAX_LANE_CHARS, width // 4) // 2))
        raw = row.lanes.text(columns)
        text = Text()
        for position, char in enumerate(raw):
            column = position // 2
            if column == row.lanes.column and position % 2 == 0:
                text.append_text(_glyph(row.node))
            else:
                text.append(char, style=LANE_COLOURS[column % len(LANE_COLOURS)])
        if self.graph.lane_width > columns:
            text.append_text(_overflow(row, columns, self.graph.lane_width))
        text.append(" ")
        return text

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


def _glyph(node: GraphNode) -> Text:
    state = node.task_run.state
    if node.grouped or node.header:
        name, kind = node.summary().state
        return Text(state_glyph(name, kind), style=state_colour(kind))
    return Text(state_glyph(state.name, state.type), style=state_colour(state.type))


def _overflow(row: GraphRow, columns: int, lane_width: int) -> Text:
    """What lies right of the lanes shown: `+N` lines hidden there, and the node's mark if it is.

    A fixed width on every row, so names stay aligned; the state mark is
    never lost to a lane too far right.
    """
    hidden = sum(1 for cell in row.lanes.cells[columns:] if cell)
    room = len(str(lane_width - columns)) + 1
    text = Text(f"+{hidden}".rjust(room) if hidden else " " * room, style="dim")
    text.append_text(_glyph(row.node) if row.lanes.column >= columns else Text(" "))
    return text


def _label(node: GraphNode, width: int, timeline: bool, run_start: float) -> Text:
    marker = ("▾ " if node.expanded else "▸ ") if node.expandable else ""
    indent = "  " * node.depth
    text = Text(indent + marker, style="dim")
    if timeline:
        text.append_text(_glyph(node))
        text.append(" ")
    text.append(node.name, style="bold" if node.expandable else "")
    if node.grouped or node.header:
        text.append(f" {TIMES}{len(node.ids)}  ", style="dim")
        if node.call:
            text.append(f"{node.call}  ", style="italic dim")
        text.append_text(counts_text(node.summary().counts))
    start, end = node.span()
    took = duration(run_duration(start, end, end or start or 0.0)) if start else ""
    if timeline and start is not None:
        took = f"+{duration(start - run_start)} {took}"
    text.truncate(max(1, width - len(took) - 1), overflow="ellipsis", pad=True)
    text.append(" " + took.rjust(max(0, min(len(took), width))), style="dim")
    return text


def _time_bar(node: GraphNode, bounds: tuple[float, float], width: int, now: float) -> Text:
    """Where in the run this task ran: `   ━━━━━      ` scaled to the run's span."""
    start, end = node.span()
    text = Text(" " * width)
    if start is None:
        return text
    run_start, run_end = bounds
    scale = width / (run_end - run_start)
    left = int((start - run_start) * scale)
    right = int(((end if end is not None else now) - run_start) * scale)
    left = max(0, min(width - 1, left))
    right = max(left + 1, min(width, right))
    colour = state_colour(node.summary().state[1] if node.grouped else node.task_run.state.type)
    text.stylize(colour, left, right)
    bar = Text("━" * (right - left), style=colour)
    return Text(" " * left) + bar + Text(" " * (width - right))
