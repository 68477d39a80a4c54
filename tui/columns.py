"""Which columns of a list fit a width: the least important go first, whole, rather than cut to `eve`.

A list declares its columns once per draw with their natural widths (the
longest value it holds, capped) and a priority; `fit` keeps the most
important that fit and gives each a width, the same for every row so the
columns line up. Essential columns (no priority) are never dropped; if they
alone are too wide, the one marked `cut` shrinks, with an ellipsis.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text


@dataclass(frozen=True)
class Column:
    """One column: its natural width, how much it matters (None: always shown), how it aligns."""

    name: str
    width: int
    priority: int | None = None
    right: bool = False
    cut: bool = False  # the essential column that shrinks when nothing else is left to drop
    min_width: int = 4


def fit(columns: list[Column], width: int) -> dict[str, int]:
    """Width per shown column (one space between columns), dropping the least important first."""
    shown = [c for c in columns if c.width > 0]
    droppable = sorted((c for c in shown if c.priority is not None), key=lambda c: c.priority or 0)
    while _total(shown) > width and droppable:
        shown.remove(droppable.pop(0))
    widths = {c.name: c.width for c in shown}
    excess = _total(shown) - width
    for column in shown:
        if excess > 0 and column.cut:
            cut = min(excess, column.width - column.min_width)
            widths[column.name] -= max(0, cut)
            excess -= max(0, cut)
    return widths


def _total(columns: list[Column]) -> int:
    return sum(c.width for c in columns) + max(0, len(columns) - 1)


def cell(value: str, width: int, right: bool = False) -> str:
    """`value` in `width` characters: cut with an ellipsis, or padded."""
    if len(value) > width:
        value = value[: max(0, width - 1)] + "…"
    return value.rjust(width) if right else value.ljust(width)


def row(columns: list[Column], widths: dict[str, int], values: dict[str, tuple[str, str]]) -> Text:
    """One row: each shown column's (text, style), in the columns' order."""
    text = Text()
    for column in columns:
        if column.name not in widths:
            continue
        if text:
            text.append(" ")
        value, style = values.get(column.name, ("", ""))
        text.append(cell(value, widths[column.name], column.right), style=style)
    return text
