"""Printing a query's rows: a Rich table (capped), JSON (a list of objects) or CSV, and the schema."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import Any

from orchestrate.client.protocol import SqlResult


def as_json(columns: list[str], rows: Iterable[list[Any]]) -> None:
    """A JSON list of objects, one line per row, so a long answer starts printing at once."""
    out = sys.stdout
    out.write("[")
    some = False
    for row in rows:
        out.write(",\n" if some else "\n")
        out.write(json.dumps(dict(zip(columns, row, strict=True)), default=str))
        some = True
    out.write("\n]\n" if some else "]\n")


def as_csv(columns: list[str], rows: Iterable[list[Any]]) -> None:
    """CSV with a header; lists and objects as JSON text, NULL as an empty field."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])


def as_table(result: SqlResult) -> None:
    from rich.table import Table

    from orchestrate.cli.render import console

    table = Table(*result.columns, show_lines=False)
    for row in result.rows:
        table.add_row(*(_text(v) for v in row))
    out = console()
    out.print(table)
    shown = f"{len(result.rows):,} row(s)"
    if result.truncated:
        shown = f"first {shown}; --limit N shows more, --csv or --json prints them all"
    out.print(shown, style="dim")


def schema(columns: list[tuple[str, str, str]], json_output: bool) -> None:
    """Each view and its columns, in the order `SELECT *` gives them."""
    if json_output:
        views: dict[str, list[dict[str, str]]] = {}
        for view, column, kind in columns:
            views.setdefault(view, []).append({"column": column, "type": kind})
        print(json.dumps(views, indent=2))
        return
    from orchestrate.cli.render import console

    out = console()
    current = None
    for view, column, kind in columns:
        if view != current:
            out.print(f"\n[bold]{view}[/bold]" if current else f"[bold]{view}[/bold]")
            current = view
        out.print(f"  {column:<28} {kind}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
