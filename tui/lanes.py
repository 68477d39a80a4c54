"""Git-log style lanes: where each row's node sits and the box-drawing lines between rows.

Rows are placed one at a time, top to bottom; a row names the earlier rows it
depends on. A producer's output runs down a lane (a column) to its consumers;
a consumer sits on the leftmost lane that reaches it and the others join it
horizontally, so a node right under another in its column is its consumer,
and a row with no upstream steps aside rather than sit under an unrelated one.
A lane extends to a later consumer while nothing has been placed below it in
its column, otherwise a new lane branches off the producer's row.
Every cell is a set of connections (up, down, left, right), so a tee or a
crossing appears where lines meet, and placing a row only touches the cells
of the lanes it extends (`touched` names those rows, for a repaint of just
them): a live run appending rows stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

EdgeKind = Literal["data", "wait_for", "parent"]

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
DASHED, SOLID = 1, 2

_SOLID_CHARS = {
    0: " ",
    UP: "╵",
    DOWN: "╷",
    LEFT: "╴",
    RIGHT: "╶",
    UP | DOWN: "│",
    LEFT | RIGHT: "─",
    UP | RIGHT: "╰",
    UP | LEFT: "╯",
    DOWN | RIGHT: "╭",
    DOWN | LEFT: "╮",
    UP | DOWN | RIGHT: "├",
    UP | DOWN | LEFT: "┤",
    UP | LEFT | RIGHT: "┴",
    DOWN | LEFT | RIGHT: "┬",
    UP | DOWN | LEFT | RIGHT: "┼",
}
_DASHED_CHARS = {**_SOLID_CHARS, UP | DOWN: "┆", LEFT | RIGHT: "┄"}
_STRENGTH: dict[str, int] = {"wait_for": 1, "parent": 2, "data": 3}


def cell_char(mask: int, style: int) -> str:
    """The box-drawing character for a cell's connections (dashed when only `wait_for` passes)."""
    return (_DASHED_CHARS if style == DASHED else _SOLID_CHARS)[mask]


def style_of(kind: str) -> int:
    return DASHED if kind == "wait_for" else SOLID


@dataclass(slots=True)
class LaneRow:
    """One placed row: the node's column, each column's connections and the links between columns."""

    column: int = 0
    cells: list[int] = field(default_factory=list)
    styles: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)  # style of the line between column k and k+1

    def _grow(self, width: int) -> None:
        missing = width - len(self.cells)
        if missing > 0:
            self.cells.extend([0] * missing)
            self.styles.extend([0] * missing)
            self.links.extend([0] * missing)

    def connect(self, column: int, mask: int, style: int) -> None:
        self._grow(column + 1)
        self.cells[column] |= mask
        self.styles[column] = max(self.styles[column], style)

    def link(self, left: int, style: int) -> None:
        self._grow(left + 2)
        self.links[left] = max(self.links[left], style)

    def text(self, width: int) -> str:
        """The row's lanes as `2 * width` characters; the node's cell holds a placeholder `●`."""
        chars: list[str] = []
        for x in range(width):
            if x < len(self.cells):
                chars.append("●" if x == self.column else cell_char(self.cells[x], self.styles[x]))
                chars.append(cell_char(LEFT | RIGHT, self.links[x]) if self.links[x] else " ")
            else:
                chars.append("●" if x == self.column else " ")
                chars.append(" ")
        return "".join(chars)


@dataclass(slots=True, eq=False)
class _Lane:
    column: int
    bottom: int


class LaneLayout:
    """Rows placed so far and the lanes between them; `place` appends one row."""

    def __init__(self) -> None:
        self.rows: list[LaneRow] = []
        self._lanes: list[list[_Lane]] = []  # per row: the lanes its output runs down
        self._last_used: list[int] = []  # per column: the last row with something in it
        self._tail: list[_Lane | None] = []  # per column: the lane that may still extend down
        self.touched: set[int] = set()  # rows placed or redrawn since the owner last cleared it

    @property
    def width(self) -> int:
        """How many lane columns the widest row needs."""
        return len(self._last_used)

    def place(self, upstream: Iterable[tuple[int, str]]) -> int:
        """Append a row that depends on the given `(row, edge kind)` pairs; returns its index.

        Rows at or after the new one are ignored: an edge can only point down.
        """
        row = len(self.rows)
        self.rows.append(LaneRow())
        self.touched.add(row)
        incoming: dict[int, int] = {}
        for producer, style in _strongest(upstream, row).items():
            column = self._reach(producer, row, style)
            incoming[column] = max(incoming.get(column, 0), style)
        column = min(incoming) if incoming else self._unrelated_column(row)
        self._ensure_column(column)
        self.rows[row].column = column
        for x, style in incoming.items():
            if x != column:
                self._hline(row, x, column, style)
        lane = _Lane(column, row)
        self._lanes.append([lane])
        self._last_used[column] = row
        self._tail[column] = lane
        return row

    def _reach(self, producer: int, row: int, style: int) -> int:
        """Bring a lane of `producer` down to `row`; returns the column it arrives in."""
        for lane in self._lanes[producer]:
            if self._tail[lane.column] is lane:
                self._vline(lane.column, lane.bottom, row, style)
                lane.bottom = row
                return lane.column
        column = self._free_below(producer)
        self._hline(producer, self.rows[producer].column, column, style)
        self._vline(column, producer, row, style)
        lane = _Lane(column, row)
        self._lanes[producer].append(lane)
        self._tail[column] = lane
        return column

    def _unrelated_column(self, row: int) -> int:
        """Column 0, unless the row above has its node there: a node right above reads as an edge."""
        return 1 if row > 0 and self.rows[row - 1].column == 0 else 0

    def _free_below(self, row: int) -> int:
        """The leftmost column with nothing in it from `row` down, or a new one."""
        for column, last in enumerate(self._last_used):
            if last < row:
                return column
        self._ensure_column(len(self._last_used))
        return len(self._last_used) - 1

    def _ensure_column(self, column: int) -> None:
        while len(self._last_used) <= column:
            self._last_used.append(-1)
            self._tail.append(None)

    def _vline(self, column: int, top: int, bottom: int, style: int) -> None:
        self._ensure_column(column)
        self.rows[top].connect(column, DOWN, style)
        for r in range(top + 1, bottom):
            self.rows[r].connect(column, UP | DOWN, style)
        self.rows[bottom].connect(column, UP, style)
        self._last_used[column] = max(self._last_used[column], bottom)
        self.touched.update(range(top, bottom + 1))

    def _hline(self, row: int, start: int, end: int, style: int) -> None:
        left, right = min(start, end), max(start, end)
        target = self.rows[row]
        self.touched.add(row)
        target.connect(left, RIGHT, style)
        target.connect(right, LEFT, style)
        for x in range(left + 1, right):
            target.connect(x, LEFT | RIGHT, style)
        for x in range(left, right):
            target.link(x, style)


def _strongest(upstream: Iterable[tuple[int, str]], row: int) -> dict[int, int]:
    """One style per producer row above `row`, the strongest edge kind winning."""
    best: dict[int, str] = {}
    for producer, kind in upstream:
        if 0 <= producer < row and _STRENGTH.get(kind, 0) > _STRENGTH.get(
            best.get(producer, ""), 0
        ):
            best[producer] = kind
    return {producer: style_of(kind) for producer, kind in sorted(best.items())}
