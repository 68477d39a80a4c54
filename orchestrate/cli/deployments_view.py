"""`orc deployments ls` as a table, drawn by `cli.table` with Rich's layout rules and no Rich.

Apart from the command (`orchestrate.cli.deployments`) so the quick path
(`orchestrate.cli.lean`) prints it without loading Typer or pydantic: the
deployments are read by attribute, from the daemon's models, flows.toml's,
or the plain JSON of `client.plain` alike.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from orchestrate.cli import table
from orchestrate.cli.render import STATE_STYLES, relative
from orchestrate.cli.table import Cell, Column, Styled, Terminal, styled

#: The columns as `Table(box=None, pad_edge=False)` had them: only SCHEDULE wraps.
_COLUMNS = [
    Column(name, no_wrap=name != "SCHEDULE")
    for name in ("NAME", "STATUS", "SCHEDULE", "NEXT", "RECENT")
]
#: Latest runs shown, one square each, oldest first.
RECENT = 8


def deployments_table(found: Sequence[Any], now: float, out: Terminal) -> str:
    """Each deployment: paused or active (or blocked), its schedules in words, its next run
    relative to `now`, its latest runs as coloured squares."""
    rows: list[list[Cell]] = []
    for d in found:
        status = styled("paused", "yellow") if d.paused else styled("active", "green")
        if d.blocked:
            status = styled("blocked", "bold red")
        schedule = "; ".join(s.text for s in d.schedules if s.active) or "manual only"
        nxt = relative(d.next_run_time - now) if d.next_run_time else ""
        squares = [styled("■", STATE_STYLES.get(b.state_type, "")) for b in d.recent[:RECENT]]
        recent: Styled = table.joined(squares[::-1])
        rows.append([d.name, status, schedule, nxt, recent])
    return table.table(_COLUMNS, rows, out, pad_edge=False)


def print_deployments(found: Sequence[Any]) -> None:
    import time

    sys.stdout.write(deployments_table(found, time.time(), table.terminal()))
    sys.stdout.flush()
