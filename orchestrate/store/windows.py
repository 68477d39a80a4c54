"""Newest-first reads over a time window that widens until it holds enough rows.

DuckDB cannot walk an index in order, so `ORDER BY time DESC LIMIT 50` reads
every row of a big table. Its zone maps do skip row groups whose times all
fall before a bound, and runs are written in about time order, so a read
that asks for the last day first, then a wider span, touches only the newest
row groups. Each step is exact: every row inside the window is considered,
and an answer is taken only once the window holds enough rows; the last step
is the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

Row = tuple[Any, ...]
Read = Callable[[str, list[Any]], list[Row]]

_FIRST_SPAN = 86_400.0
_GROWTH = 16.0

#: Runs whose slot (or, without one, creation) is at or after a bound.
SLOT_WINDOW = (
    "(expected_start_time >= to_timestamp(?) "
    "OR (expected_start_time IS NULL AND created >= to_timestamp(?)))"
)
SLOT_COLUMNS = ("expected_start_time", "created")
#: Runs created at or after a bound.
CREATED_WINDOW = "created >= to_timestamp(?)"


def first_span() -> float:
    """Seconds the first window reaches back from the newest row."""
    return _FIRST_SPAN


def newest(
    read: Read,
    query: tuple[str, list[Any]],
    tail: tuple[str, list[Any]],
    window: str,
    columns: Sequence[str],
    enough: Callable[[list[Row]], bool],
) -> list[Row]:
    """Rows of `query` (a SELECT with a WHERE) and `tail` (its ORDER BY/LIMIT), window by window."""
    sql, params = query
    tail_sql, tail_params = tail
    arity = window.count("?")
    for lower in _lower_bounds(read, columns):
        if lower is None:
            return read(f"{sql}{tail_sql}", [*params, *tail_params])
        rows = read(f"{sql} AND {window}{tail_sql}", [*params, *[lower] * arity, *tail_params])
        if enough(rows):
            return rows
    return []  # _lower_bounds always ends with None


def _lower_bounds(read: Read, columns: Sequence[str]) -> Iterator[float | None]:
    """Ever older bounds from the newest time in `columns`, then None for the whole table."""
    picks = ", ".join(f"epoch(max({c})), epoch(min({c}))" for c in columns)
    found = read(f"SELECT {picks} FROM flow_runs", [])
    values = found[0] if found else ()
    tops = [v for v in values[0::2] if v is not None]
    bottoms = [v for v in values[1::2] if v is not None]
    if tops and bottoms:
        top, bottom, span = max(tops), min(bottoms), _FIRST_SPAN
        while top - span > bottom:
            yield top - span
            span *= _GROWTH
    yield None
