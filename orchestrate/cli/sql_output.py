"""Printing a query's rows: a Rich table (capped), JSON (a list of objects) or CSV, and the schema."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from orchestrate.client.protocol import SqlResult


def as_json(result: SqlResult) -> None:
    """A JSON list of objects, one line per row, so a long answer starts printing at once."""
    out = sys.stdout
    out.write("[")
    for i, row in enumerate(result.rows):
        out.write(",\n" if i else "\n")
        out.write(json.dumps(dict(zip(result.columns, row, strict=True)), default=str))
    out.write("\n]\n" if result.rows else "]\n")


def as_csv(result: SqlResult) -> None:
    """CSV with a header; lists and objects as JSON text, NULL as an empty field."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
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
