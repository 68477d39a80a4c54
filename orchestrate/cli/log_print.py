"""`orc logs` printing: a run's log read page by page, each page on the terminal as it arrives.

A 200,000-line log must start printing at once and end in seconds: lines are
read in pages (from the daemon or the store file) rather than whole, and
formatted with plain string operations (colour codes only on a terminal)
rather than a Rich renderable each. The text is what `render.log_lines` prints.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from orchestrate.store.lenient import time_of
from orchestrate.store.views import LogLine

if TYPE_CHECKING:
    from orchestrate.cli.reads import DaemonReads
    from orchestrate.cli.runs import RunRead
    from orchestrate.store.queries import Store

#: Lines per page: a round trip per 5,000 lines costs little, and the first page comes fast.
PAGE = 5000

_ANSI = {"DEBUG": "\x1b[90m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}
_CYAN, _RESET = "\x1b[36m", "\x1b[0m"
_TRACEBACK = "Traceback (most recent call last)"


def print_log(
    store: Store | DaemonReads, found: RunRead, out: TextIO | None = None
) -> list[LogLine]:
    """Print the run's log, oldest first; returns its lines that hold a traceback
    (what `render.unlogged_error` looks at)."""
    out = out or sys.stdout
    colour = out.isatty() and "NO_COLOR" not in os.environ
    names = {t.id: t.name for t in found.task_runs}
    levels: dict[Any, str] = {}
    tracebacks: list[LogLine] = []
    for rows in _pages(store, found.run.id):
        text = []
        for task_run_id, ts, level, logger, message in rows:
            name = levels.get(level) or levels.setdefault(level, logging.getLevelName(level))
            task = names.get(task_run_id) if task_run_id else None
            text.append(_line(ts, name, task, message, colour))
            if _TRACEBACK in message:
                tracebacks.append(
                    LogLine(found.run.id, task_run_id, task, time_of(ts), level, logger, message)
                )
        out.write("".join(text))
        out.flush()
    return tracebacks


def _line(ts: float, level: str, task: str | None, message: str, colour: bool) -> str:
    try:
        stamp = datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3] + " "
    except (OverflowError, ValueError, OSError):
        stamp = " "
    padded = f"{level:<8}"
    if colour:
        padded = f"{_ANSI[level]}{padded}{_RESET}" if level in _ANSI else padded
        task = f"{_CYAN}{task}{_RESET}" if task else None
    return f"{stamp}{padded}{f' {task}' if task else ''} | {message}\n"


def _pages(store: Store | DaemonReads, run_id: str) -> Iterator[list[Any]]:
    """The run's log rows, a page at a time, from whichever side answers reads."""
    from orchestrate.cli.reads import DaemonReads

    after: Any = None
    while True:
        if isinstance(store, DaemonReads):
            page = store.client.log_page(run_id, after, PAGE)
            rows, after = page.lines, page.next
        else:
            rows, after = store.log_page(run_id, after, PAGE)
        yield rows
        if after is None:
            return
