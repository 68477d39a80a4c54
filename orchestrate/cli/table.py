"""Tables and wrapped text for the terminal, with the stdlib alone.

`orc runs ls` and `orc runs show` used to draw with Rich, whose import cost a
quick command more than its own work. This lays text out by the rules Rich
used for those tables (column widths shrunk to the terminal, `…` where a
cell is cut, words wrapped in the columns that wrap), so the output is the
same, and both the quick and the full command print through it. Text is
printed as given: names and messages are users' words, never markup.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Sequence
from typing import NamedTuple, TextIO

#: SGR codes of the styles orc uses; any other style prints plain.
_SGR = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
    "bright_black": "90",
}
#: Control characters a terminal would act on inside a cell (bell, backspace, form feed, …).
_CONTROL = {7: None, 8: None, 11: None, 12: None, 13: None}
_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")


class Styled(NamedTuple):
    """Text with styled stretches: `(start, end, style)` over its characters."""

    text: str
    spans: tuple[tuple[int, int, str], ...] = ()


def styled(text: str, style: str = "") -> Styled:
    """`text` in one style (or none)."""
    return Styled(text, ((0, len(text), style),) if style and text else ())


def joined(parts: Sequence[Styled]) -> Styled:
    """The parts one after another, each keeping its styles."""
    text, spans, at = "", [], 0
    for part in parts:
        spans += [(start + at, end + at, style) for start, end, style in part.spans]
        text += part.text
        at += len(part.text)
    return Styled(text, tuple(spans))


class Column(NamedTuple):
    header: str
    #: one line per cell, cut with `…` when too wide (else words wrap)
    no_wrap: bool = False


class Terminal(NamedTuple):
    """Where text goes: its width in cells, and whether it takes colours."""

    width: int
    colour: bool


def terminal(stream: TextIO | None = None) -> Terminal:
    """The terminal as Rich saw it: `$COLUMNS`, else the size of stdin, stdout or stderr,
    else 80; colours on a terminal unless `$NO_COLOR` is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return Terminal(_width(), colour_wanted(stream))


def colour_wanted(stream: TextIO) -> bool:
    """Colours for `stream`: a terminal that is not dumb, and `$NO_COLOR` not set (to anything,
    as `orc tui` reads it)."""
    if "NO_COLOR" in os.environ:
        return False
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def _width() -> int:
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (OSError, ValueError):
            continue
        return width or 80
    return 80


# ---- cells ------------------------------------------------------------------


def cell_len(text: str) -> int:
    """Columns `text` takes on a terminal: two for wide (East Asian) characters, none for
    combining marks and control characters."""
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    import unicodedata

    code = ord(char)
    if code < 32 or 0x7F <= code < 0xA0 or unicodedata.combining(char):
        return 0
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fit(text: str, width: int) -> str:
    """`text` cut or padded with spaces to exactly `width` cells."""
    size = cell_len(text)
    if size < width:
        return text + " " * (width - size)
    if size == width:
        return text
    out, used = [], 0
    for char in text:
        grown = used + _char_width(char)
        if grown > width:
            break
        out.append(char)
        used = grown
    return "".join(out) + " " * (width - used)


def _chop(word: str, width: int) -> list[str]:
    """A word too long for a line, in pieces that each fit."""
    pieces, line, size = [], "", 0
    for char in word:
        char_size = _char_width(char)
        if size + char_size > width and line:
            pieces.append(line)
            line, size = "", 0
        line += char
        size += char_size
    return [*pieces, line] if line else pieces


def _breaks(text: str, width: int, fold: bool) -> list[int]:
    """Where a line of `text` breaks to fit `width` (Rich's `divide_line`): between words; a
    word longer than a line is folded over lines when `fold`, else left to be cut."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        size = cell_len(word.rstrip())
        if width - offset >= size:
            offset += cell_len(word)
        elif size > width:
            if fold:
                pieces = _chop(word, width)
                for last, piece in enumerate(pieces, 1 - len(pieces)):
                    if start:
                        breaks.append(start)
                    if last:
                        start += len(piece)
                    else:
                        offset = cell_len(piece)
            else:
                if start:
                    breaks.append(start)
                offset = cell_len(word)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(word)
    return breaks


def wrap(text: str, width: int, fold: bool) -> list[tuple[int, str]]:
    """`text` as lines of at most `width` cells, each with where it starts in `text`.

    Words wrap; a line still too wide is cut with `…` (or, when `fold`, long words are
    folded over lines and nothing is cut).
    """
    lines: list[tuple[int, str]] = []
    at = 0
    for raw in text.split("\n"):
        line = expand_tabs(raw)
        cuts = [0, *_breaks(line, width, fold), len(line)]
        for start, end in itertools.pairwise(cuts):
            piece = line[start:end]
            if len(piece) > width:  # spaces past the edge go (as Rich's `rstrip_end`)
                spaces = _TRAILING_SPACE.search(piece)
                if spaces:
                    piece = piece[: len(piece) - min(len(spaces.group()), len(piece) - width)]
            lines.append((at + start, _cut(piece, width, fold)))
        at += len(raw) + 1
    return lines


def _cut(text: str, width: int, fold: bool) -> str:
    if cell_len(text) <= width:
        return text
    return _fit(text, width) if fold else _fit(text, width - 1) + "…"


def expand_tabs(line: str) -> str:
    """Tabs as spaces to the next stop of 8 columns, counted in cells (as Rich expands them)."""
    if "\t" not in line:
        return line
    parts = line.split("\t")
    out, position = [], 0
    for part in parts[:-1]:
        position += cell_len(part) + 1
        spaces = -position % 8
        out.append(part + " " * (1 + spaces))
        position += spaces
    return "".join(out) + parts[-1]


def clean(text: str) -> str:
    """`text` without the control characters a terminal would act on."""
    return text.translate(_CONTROL)


# ---- colour -----------------------------------------------------------------


def paint(text: Styled | str, colour: bool, start: int = 0, end: int | None = None) -> str:
    """The characters `start:end` of `text`, with its styles as escape codes when `colour`."""
    if isinstance(text, str):
        return text[start:end]
    plain = text.text[start:end]
    if not colour or not text.spans:
        return plain
    stop = len(text.text) if end is None else end
    out, at = [], start
    for span_start, span_end, style in sorted(text.spans):
        lo, hi = max(span_start, start), min(span_end, stop)
        if lo >= hi:
            continue
        out.append(text.text[at:lo] if lo > at else "")
        out.append(_sgr(text.text[lo:hi], style))
        at = hi
    out.append(text.text[at:stop])
    return "".join(out)


def _sgr(text: str, style: str) -> str:
    codes = ";".join(_SGR[word] for word in style.split() if word in _SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes and text else text


def print_wrapped(
    text: Styled | str, out: Terminal, stream: TextIO | None = None, end: str = "\n"
) -> None:
    """`text` folded to the terminal's width, as Rich's `Console.print` wraps a line."""
    stream = stream or sys.stdout
    source = text if isinstance(text, Styled) else Styled(text)
    source = Styled(clean(source.text), source.spans)
    lines = []
    for start, line in wrap(source.text, out.width, fold=True):
        lines.append(paint(source, out.colour, start, start + len(line)) if out.colour else line)
    stream.write("\n".join(lines) + end)


def print_line(text: Styled | str, out: Terminal, stream: TextIO | None = None) -> None:
    """`text` as it is (long lines left to the terminal), tabs expanded."""
    stream = stream or sys.stdout
    source = text if isinstance(text, Styled) else Styled(text)
    plain = clean(source.text)
    if "\t" in plain:
        plain = "\n".join(expand_tabs(line) for line in plain.split("\n"))
        source = Styled(plain)
    stream.write(paint(Styled(plain, source.spans), out.colour) + "\n")


# ---- tables -----------------------------------------------------------------

Cell = Styled | str
_PAD = 2  # a space each side of every cell


class _Box(NamedTuple):
    """Rich's `HEAVY_HEAD` box, the default of `rich.table.Table` (`orc sql` drew with it)."""

    top: str = "┏━┳┓"  # left, line, divider, right
    head: str = "┃┃┃"  # left, divider, right
    head_rule: str = "┡━╇┩"
    row: str = "│││"
    bottom: str = "└─┴┘"


_HEAVY_HEAD = _Box()


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    out: Terminal,
    title: str = "",
    *,
    box: bool = False,
    pad_edge: bool = True,
) -> str:
    """The rows under bold headers, each cell padded by a space each side; columns shrink to
    fit the terminal as Rich's `Table` shrinks them, and what still does not fit is cropped
    at its edge. Without `box` no borders (`Table(box=None)`), else Rich's default heavy-headed
    box; without `pad_edge` no space before the first column nor after the last."""
    grid = [[styled(c.header, "bold") for c in columns]]
    grid += [[_as_styled(cell) for cell in row] for row in rows]
    pads = _paddings(len(columns), pad_edge)
    borders = 2 + len(columns) - 1 if box and columns else 0
    widths = _widths(columns, grid, out.width - borders, pads)
    lines = _title(title, sum(widths) + borders, out) if title else []
    if box:
        lines.append(_rule(_HEAVY_HEAD.top, widths, out.width))
    for index, row in enumerate(grid):
        cells = [
            _cell_lines(cell, width, column.no_wrap, out.colour, pad)
            for cell, width, column, pad in zip(row, widths, columns, pads, strict=True)
        ]
        edges = (_HEAVY_HEAD.head if index == 0 else _HEAVY_HEAD.row) if box else ""
        lines += _row_lines(cells, widths, edges, out.width, header=index == 0)
        if box and index == 0:
            lines.append(_rule(_HEAVY_HEAD.head_rule, widths, out.width))
    if box:
        lines.append(_rule(_HEAVY_HEAD.bottom, widths, out.width))
    return "".join(line + "\n" for line in lines)


def _paddings(count: int, pad_edge: bool) -> list[tuple[int, int]]:
    """Spaces (left, right) of each column's cells: one each side, none at the table's edges
    unless `pad_edge` (Rich's `_get_padding_width`)."""
    pads = [(1, 1)] * count
    if not pad_edge and count:
        pads[0] = (0, pads[0][1])
        pads[-1] = (pads[-1][0], 0)
    return pads


def _row_lines(
    cells: list[list[tuple[str, str]]], widths: list[int], edges: str, width: int, header: bool
) -> list[str]:
    """One row's lines: its cells side by side (a header's aligned to its bottom, as Rich
    aligns it), between the box's `edges` (left, divider, right) when there is a box."""
    height = max(len(cell) for cell in cells)
    lines = []
    for index in range(height):
        pieces: list[tuple[str, str]] = [(edges[0],) * 2] if edges else []
        for number, (cell, cell_width) in enumerate(zip(cells, widths, strict=True)):
            at = index - (height - len(cell)) if header else index
            blank = (" " * cell_width,) * 2
            pieces.append(cell[at] if 0 <= at < len(cell) else blank)
            if edges:
                pieces.append((edges[1 if number < len(cells) - 1 else 2],) * 2)
        lines.append(_crop(pieces, width))
    return lines


def _rule(chars: str, widths: list[int], width: int) -> str:
    """A line of the box: `chars` are its left end, its line, the divider and its right end."""
    left, line, divider, right = chars[0], chars[1], chars[2], chars[3]
    text = left + divider.join(line * w for w in widths) + right
    return _crop([(text, text)], width)


def _crop(pieces: list[tuple[str, str]], width: int) -> str:
    """The pieces (plain, painted) of a line, the line cut at `width` cells."""
    out, used = [], 0
    for plain, painted in pieces:
        size = cell_len(plain)
        if used + size > width:
            out.append(_fit(plain, width - used))
            break
        out.append(painted)
        used += size
    return "".join(out)


def _as_styled(cell: Cell) -> Styled:
    if isinstance(cell, str):
        return Styled(clean(cell))
    return Styled(clean(cell.text), cell.spans)


def _title(title: str, width: int, out: Terminal) -> list[str]:
    """The title over the table, left-aligned and padded to its width (in italics)."""
    lines = []
    for _, line in wrap(title, width, fold=True):
        padded = _fit(line, width)
        lines.append(_crop([(padded, _sgr(padded, "italic") if out.colour else padded)], out.width))
    return lines


def _cell_lines(
    cell: Styled, width: int, no_wrap: bool, colour: bool, pad: tuple[int, int] = (1, 1)
) -> list[tuple[str, str]]:
    """A cell's lines with their padding, each exactly `width` cells: (plain, painted)."""
    inner = width - sum(pad)
    if inner < 1:
        return [(" " * width,) * 2]
    if no_wrap:
        pieces = [
            (start, _cut(expand_tabs(line), inner, fold=False))
            for start, line in _starts(cell.text)
        ]
    else:
        pieces = wrap(cell.text, inner, fold=False)
    left, right = " " * pad[0], " " * pad[1]
    lines = []
    for start, line in pieces:
        fill = " " * (inner - cell_len(line))
        painted = line
        if colour and cell.spans:
            body = line[:-1] if line.endswith("…") else line
            painted = paint(cell, True, start, start + len(body)) + line[len(body) :]
        lines.append((f"{left}{line}{fill}{right}", f"{left}{painted}{fill}{right}"))
    return lines


def _starts(text: str) -> list[tuple[int, str]]:
    lines, at = [], 0
    for line in text.split("\n"):
        lines.append((at, line))
        at += len(line) + 1
    return lines


def _widths(
    columns: Sequence[Column],
    grid: list[list[Styled]],
    max_width: int,
    pads: list[tuple[int, int]],
) -> list[int]:
    """Each column's width with its padding: its widest cell, shrunk to fit `max_width`
    (wrapping columns first, widest first, then all evenly), as Rich sizes a table."""
    ranges = [
        _measure([row[i].text for row in grid], max_width, sum(pads[i]))
        for i in range(len(columns))
    ]
    widths = [high or 1 for _, high in ranges]
    if sum(widths) > max_width:
        widths = _collapse(widths, [not c.no_wrap for c in columns], max_width)
        if sum(widths) > max_width:
            widths = _reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
        cells = [[row[i].text for row in grid] for i in range(len(columns))]
        widths = [
            _measure(texts, width, sum(pad))[1]
            for texts, width, pad in zip(cells, widths, pads, strict=True)
        ]
    return widths


def _measure(texts: list[str], max_width: int, pad: int = _PAD) -> tuple[int, int]:
    """The narrowest and widest a column can be with padding: its longest word, its longest line."""
    if max_width < 1:
        return 0, 0
    lows, highs = [], []
    for text in texts:
        if max_width - pad < 1:
            low = high = max_width
        else:
            lines = text.splitlines()
            high = max((cell_len(line) for line in lines), default=0)
            words = text.split()
            low = max((cell_len(word) for word in words), default=high)
            low, high = min(low, high), high
            low, high = min(low, max_width), min(high, max_width)
            if high < 1:
                low = high = 0
            low, high = min(low + pad, max_width), min(high + pad, max_width)
        lows.append(low)
        highs.append(high)
    return min(max(lows, default=1), max_width), min(max(highs, default=max_width), max_width)


def _collapse(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
    """Narrow the widest wrapping columns, step by step, until the table fits (or cannot)."""
    total = sum(widths)
    excess = total - max_width
    if not any(wrapable):
        return widths
    while total and excess > 0:
        widest = max(w for w, can in zip(widths, wrapable, strict=True) if can)
        second = max(
            w if can and w != widest else 0 for w, can in zip(widths, wrapable, strict=True)
        )
        ratios = [1 if w == widest and can else 0 for w, can in zip(widths, wrapable, strict=True)]
        if not any(ratios) or not widest - second:
            break
        widths = _reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        total = sum(widths)
        excess = total - max_width
    return widths


def _reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take `total` off `values` in proportion to `ratios`, at most `maximums` each."""
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining, result = total, []
    for ratio, most, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(most, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result
