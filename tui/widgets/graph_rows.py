"""How one graph row reads: lanes, state mark, name, duration and a time bar, as styled pieces.

A row is built once as plain `(text, style, part)` pieces and drawn from them
straight to segments: going through `rich.text.Text` (spans, then a render
that combines styles at every boundary) cost more than the rest of a frame,
and a page down of a big graph draws thirty new rows at once. The pieces are
a tuple, so a drawn row can be compared and cached by what it shows. `text()`
gives the same row as `Text` (the graph search highlights words in it), with
the same styles at the same places as the segments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.strip import Strip

from tui.format import TIMES, counts_text, duration, run_duration, state_colour, state_glyph
from tui.graph import GraphNode, GraphRow

#: Lane colours by column, cycling (git's palette: the 16 ANSI ones that read on dark and light).
LANE_COLOURS = ("blue", "magenta", "cyan", "yellow", "green", "bright_blue", "bright_magenta")
MAX_LANE_CHARS = 24

#: (text, its own style or "", the style of the part of the row it is in: the label is dim).
Piece = tuple[str, str, str]
Pieces = tuple[Piece, ...]


@dataclass
class RowPieces:
    """A row being built, left to right, and how many cells it fills so far."""

    items: list[Piece] = field(default_factory=list)
    width: int = 0

    def add(self, text: str, style: str = "", part: str = "") -> None:
        if text:
            self.items.append((text, style, part))
            self.width += len(text) if text.isascii() else cell_len(text)

    def add_text(self, text: Text, part: str = "") -> None:
        """A `Text` with spans that do not overlap (`counts_text`), piece by piece."""
        plain, at = text.plain, 0
        for span in sorted(text.spans, key=lambda s: s.start):
            self.add(plain[at : span.start], str(text.style or ""), part)
            self.add(plain[span.start : span.end], str(span.style), part)
            at = max(at, span.end)
        self.add(plain[at:], str(text.style or ""), part)

    def cells(self) -> int:
        return self.width


@dataclass(frozen=True)
class RowGeometry:
    """What every row of one draw shares: width, lanes shown, the run's span and the time."""

    width: int
    timeline: bool
    lane_columns: int
    lane_width: int
    bounds: tuple[float, float]
    now: float


def lane_columns(lane_width: int, width: int) -> int:
    """How many lane columns show at `width` (the rest are counted as `+N`)."""
    return min(lane_width, max(1, min(MAX_LANE_CHARS, width // 4) // 2))


def row_pieces(row: GraphRow, geometry: RowGeometry) -> Pieces:
    """The pieces of one row, cut to nothing wider than the widget."""
    out = RowPieces()
    if not geometry.timeline:
        _lanes(out, row, geometry)
    rest = geometry.width - out.cells()
    label_width = min(40 if geometry.timeline else 36, max(20, rest * 11 // 20))
    bar_width = rest - label_width - 1
    _label(out, row.node, label_width, geometry.timeline, geometry.bounds[0], geometry.now)
    if bar_width >= 6:
        out.add(" ")
        _time_bar(out, row.node, geometry.bounds, bar_width, geometry.now)
    return tuple(out.items)


def _lanes(out: RowPieces, row: GraphRow, geometry: RowGeometry) -> None:
    """Each lane column's two characters in its colour, as one piece (one segment on screen)."""
    columns = geometry.lane_columns
    run, colour = "", ""
    for position, char in enumerate(row.lanes.text(columns)):
        column = position // 2
        if column == row.lanes.column and position % 2 == 0:
            out.add(run, colour)
            run, colour = "", ""
            out.add(*_glyph(row.node))
            continue
        lane = LANE_COLOURS[column % len(LANE_COLOURS)]
        if lane != colour:
            out.add(run, colour)
            run, colour = "", lane
        run += char
    out.add(run, colour)
    if geometry.lane_width > columns:
        _overflow(out, row, columns, geometry.lane_width)
    out.add(" ")


def _glyph(node: GraphNode) -> tuple[str, str]:
    state = node.task_run.state
    if node.grouped or node.header:
        name, kind = node.summary().state
        return state_glyph(name, kind), state_colour(kind)
    return state_glyph(state.name, state.type), state_colour(state.type)


def _overflow(out: RowPieces, row: GraphRow, columns: int, lane_width: int) -> None:
    """What lies right of the lanes shown: `+N` lines hidden there, and the node's mark if it is.

    A fixed width on every row, so names stay aligned; the state mark is
    never lost to a lane too far right.
    """
    hidden = sum(1 for cell in row.lanes.cells[columns:] if cell)
    room = len(str(lane_width - columns)) + 1
    out.add(f"+{hidden}".rjust(room) if hidden else " " * room, "", "dim")
    if row.lanes.column >= columns:
        glyph, colour = _glyph(row.node)
        out.add(glyph, colour, "dim")
    else:
        out.add(" ", "", "dim")


def _label(
    out: RowPieces, node: GraphNode, width: int, timeline: bool, run_start: float, now: float
) -> None:
    marker = ("▾ " if node.expanded else "▸ ") if node.expandable else ""
    label = RowPieces()
    label.add("  " * node.depth + marker, "", "dim")
    if timeline:
        glyph, colour = _glyph(node)
        label.add(glyph, colour, "dim")
        label.add(" ", "", "dim")
    label.add(node.name, "bold" if node.expandable else "", "dim")
    if node.grouped or node.header:
        label.add(f" {TIMES}{len(node.ids)}  ", "dim", "dim")
        if node.call:
            label.add(f"{node.call}  ", "italic dim", "dim")
        label.add_text(counts_text(node.summary().counts), "dim")
    start, end = node.span()
    took = duration(run_duration(start, end, now)) if start else ""  # still running: until now
    if timeline and start is not None:
        took = f"+{duration(start - run_start)} {took}"
    label_cells = max(1, width - len(took) - 1)
    out.items.extend(_truncated(label, label_cells))
    out.width += label_cells  # cut or padded to exactly that
    out.add(" " + took.rjust(max(0, min(len(took), width))), "dim", "dim")


def _truncated(label: RowPieces, width: int) -> list[Piece]:
    """The label cut to `width` cells with `…` in the style of the piece it cuts, or padded to it.

    As `Text.truncate(width, overflow="ellipsis", pad=True)` does it.
    """
    length = label.cells()
    if length < width:
        return [*label.items, (" " * (width - length), "", "dim")]
    if length == width:
        return label.items
    kept: list[Piece] = []
    at = 0
    for text, style, part in label.items:
        size = cell_len(text)
        if at + size <= width - 1:
            kept.append((text, style, part))
            at += size
            continue
        kept.append((set_cell_size(text, width - 1 - at) + "…", style, part))
        break
    return kept


def _time_bar(
    out: RowPieces, node: GraphNode, bounds: tuple[float, float], width: int, now: float
) -> None:
    """Where in the run this task ran: `   ━━━━━      ` scaled to the run's span."""
    start, end = node.span()
    if start is None:
        out.add(" " * width)
        return
    run_start, run_end = bounds
    scale = width / (run_end - run_start)
    left = int((start - run_start) * scale)
    right = int(((end if end is not None else now) - run_start) * scale)
    left = max(0, min(width - 1, left))
    right = max(left + 1, min(width, right))
    colour = state_colour(node.summary().state[1] if node.grouped else node.task_run.state.type)
    out.add(" " * left)
    out.add("━" * (right - left), colour)
    out.add(" " * (width - right))


def to_text(pieces: Pieces) -> Text:
    """The row as `Text`: each part one span, each styled piece one span inside it."""
    plain: list[str] = []
    spans: list[Span] = []
    at = part_start = 0
    part = ""
    inner: list[Span] = []
    for text, style, piece_part in pieces:
        if piece_part != part:
            _close_part(spans, inner, part, part_start, at)
            part, part_start, inner = piece_part, at, []
        if style:
            inner.append(Span(at, at + len(text), style))
        plain.append(text)
        at += len(text)
    _close_part(spans, inner, part, part_start, at)
    return Text("".join(plain), spans=spans, no_wrap=True, overflow="crop")


def _close_part(spans: list[Span], inner: list[Span], part: str, start: int, end: int) -> None:
    if part and end > start:
        spans.append(Span(start, end, part))
    spans.extend(inner)


def to_strip(
    pieces: Pieces, width: int, style_of: Callable[[str, str], Style], pad: Style
) -> Strip:
    """The row as one line of `width` cells, as `Text` would draw it.

    One segment per styled piece (unstyled neighbours in one part joined);
    `style_of(part, style)` gives a piece's final style (the widget's own
    background and the cursor on it included), `pad` the blank after it.
    """
    segments: list[Segment] = []
    joined = ""
    cells = 0
    last = len(pieces) - 1
    for index, (text, style, part) in enumerate(pieces):
        joined += text
        if not style and index < last and not pieces[index + 1][1] and pieces[index + 1][2] == part:
            continue
        segments.append(Segment(joined, style_of(part, style)))
        cells += len(joined) if joined.isascii() else cell_len(joined)
        joined = ""
    if cells < width:
        segments.append(Segment(" " * (width - cells), pad))
    elif cells > width:
        return Strip(segments, cells).crop(0, width)
    return Strip(segments, width)
