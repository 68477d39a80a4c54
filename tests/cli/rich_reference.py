"""`orc deployments ls` and `orc sql` tables as they were drawn with Rich: the reference the
stdlib renderer (`orchestrate.cli.table`) is held to. Rich is imported by tests only."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrate.cli import render


def deployments(found: Sequence[Any], now: float, width: int) -> str:
    """What `orc deployments ls` printed before (its code, unchanged but for the console)."""
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "STATUS", "SCHEDULE", "NEXT", "RECENT"):
        table.add_column(column, no_wrap=column != "SCHEDULE")
    for d in found:
        status = Text("paused", style="yellow") if d.paused else Text("active", style="green")
        if d.blocked:
            status = Text("blocked", style="bold red")
        schedule = "; ".join(s.text for s in d.schedules if s.active) or "manual only"
        nxt = render.relative(d.next_run_time - now) if d.next_run_time else ""
        recent = Text()
        for brief in reversed(d.recent[:8]):
            recent.append("■", style=render.STATE_STYLES.get(brief.state_type, ""))
        table.add_row(d.name, status, schedule, nxt, recent)
    return _printed(width, table)


def sql(columns: list[str], rows: list[list[Any]], truncated: bool, width: int) -> str:
    """What `orc sql QUERY` printed before (`sql_output.as_table`, unchanged but for the console)."""
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    shown = f"{len(rows):,} row(s)"
    if truncated:
        shown = f"first {shown}; --limit N shows more, --csv or --json prints them all"
    return _printed(width, table, (shown, "dim"))


def _printed(width: int, *items: Any) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False)
    for item in items:
        if isinstance(item, tuple):
            console.print(item[0], style=item[1])
        else:
            console.print(item)
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def schema(columns: list[tuple[str, str, str]], width: int) -> str:
    """What `orc sql --schema` printed before (`sql_output.schema`, but for the console)."""
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False)
    current = None
    for view, column, kind in columns:
        if view != current:
            console.print(f"\n[bold]{view}[/bold]" if current else f"[bold]{view}[/bold]")
            current = view
        console.print(f"  {column:<28} {kind}")
    return out.getvalue()
