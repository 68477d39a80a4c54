"""Printing a query's rows: a table (capped), JSON (a list of objects) or CSV, and the schema.

The table is drawn by `orchestrate.cli.table` as Rich drew it (`Table(*columns)`,
its heavy-headed box), with no Rich to load. Values print as they are: Rich
read `[red]` in a value as markup (and `[/x]` stopped the command), `:smile:`
as an emoji; they are the user's data.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.cli.history import History
    from orchestrate.client.protocol import SqlResult

#: Rows a table shows unless told otherwise; JSON and CSV print every row.
TABLE_LIMIT = 1000


def as_json(columns: list[str], rows: Iterable[list[Any]]) -> None:
    """A JSON list of objects, one line per row, so a long answer starts printing at once."""
    out = sys.stdout
    keys = distinct_names(columns)
    out.write("[")
    some = False
    for row in rows:
        out.write(",\n" if some else "\n")
        out.write(json.dumps(dict(zip(keys, row, strict=True)), default=str))
        some = True
    out.write("\n]\n" if some else "]\n")


def distinct_names(columns: list[str]) -> list[str]:
    """Column names made unique as DuckDB's own writers make them (`id`, `id_1`, …): an
    object keeps each value where a join's second `id` overwrote the first."""
    seen: set[str] = set()
    names = []
    for name in columns:
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        names.append(unique)
    return names


def as_csv(columns: list[str], rows: Iterable[list[Any]]) -> None:
    """CSV with a header; lists and objects as JSON text, NULL as an empty field."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])


def answer(
    history: History,
    text: str,
    *,
    json_output: bool,
    csv_output: bool,
    limit: int,
    timeout: float,
) -> None:
    """Print what `text` answers: every row as JSON or CSV, else a table of the first `limit`."""
    if json_output or csv_output:
        with history.every_row(text, timeout) as found:
            printer = as_json if json_output else as_csv
            printer(found.columns, found.rows)
        return
    as_table(history.query(text, limit, timeout))


def as_table(result: SqlResult) -> None:
    """The rows in a box under their columns, then how many (and how to see more when capped)."""
    from orchestrate.cli import table

    out = table.terminal()
    columns = [table.Column(name) for name in result.columns]
    rows = [[_text(v) for v in row] for row in result.rows]
    sys.stdout.write(table.table(columns, rows, out, box=True))
    shown = f"{len(result.rows):,} row(s)"
    if result.truncated:
        shown = f"first {shown}; --limit N shows more, --csv or --json prints them all"
    table.print_wrapped(table.styled(shown, "dim"), out)
    sys.stdout.flush()


def schema(columns: list[tuple[str, str, str]], json_output: bool) -> None:
    """Each view and its columns, in the order `SELECT *` gives them."""
    if json_output:
        views: dict[str, list[dict[str, str]]] = {}
        for view, column, kind in columns:
            views.setdefault(view, []).append({"column": column, "type": kind})
        print(json.dumps(views, indent=2))
        return
    from orchestrate.cli import table

    out = table.terminal()
    current = None
    for view, column, kind in columns:
        if view != current:
            if current:
                table.print_wrapped("", out)
            table.print_wrapped(table.styled(view, "bold"), out)
            current = view
        table.print_wrapped(f"  {column:<28} {kind}", out)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
