"""`orc logs` printing: a run's log read page by page, each page on the terminal as it arrives.

A 200,000-line log must start printing at once and end in seconds: lines are
read in pages (from the daemon or the store file) rather than whole, and
formatted with plain string operations (colour codes only on a terminal)
rather than a Rich renderable each. The text is what `render.log_lines` prints.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from orchestrate.cli.rows import LogLineRow
from orchestrate.store.lenient import time_of

if TYPE_CHECKING:
    from orchestrate.cli.reads import DaemonReads
    from orchestrate.cli.run_reads import RunRead
    from orchestrate.store.queries import Store

#: Lines in the first page (small: the first line shows at once), and in each after it.
FIRST_PAGE = 1000
PAGE = 20_000

_ANSI = {"DEBUG": "\x1b[90m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}
_CYAN, _RESET = "\x1b[36m", "\x1b[0m"
_TRACEBACK = "Traceback (most recent call last)"


class Printed:
    """What `print_log` printed: its lines that hold a traceback (what
    `render.unlogged_error` looks at), and the time of its last line (where a follow
    goes on from), in seconds since the epoch. A plain class: the quick path of a read
    loads no `dataclasses`."""

    __slots__ = ("last", "tracebacks")

    def __init__(self) -> None:
        self.tracebacks: list[LogLineRow] = []
        self.last: float | None = None


def print_log(store: Store | DaemonReads, found: RunRead, out: TextIO | None = None) -> Printed:
    """Print the run's log, oldest first."""
    from orchestrate.cli.table import colour_wanted

    out = out or sys.stdout
    colour = colour_wanted(out)
    names = {t.id: t.name for t in found.task_runs}
    heads: dict[tuple[Any, Any], str] = {}  # (level, task run) -> "LEVEL    task": few of them
    printed = Printed()
    tracebacks = printed.tracebacks
    for rows in _pages(store, found.run.id):
        text = []
        for task_run_id, ts, level, logger, message in rows:
            head = heads.get((level, task_run_id))
            if head is None:
                task = names.get(task_run_id) if task_run_id else None
                head = heads[(level, task_run_id)] = _head(level, task, colour)
            text.append(f"{_stamp(ts)}{head} | {message}\n")
            if _TRACEBACK in message:
                task = names.get(task_run_id) if task_run_id else None
                tracebacks.append(
                    LogLineRow(
                        found.run.id, task_run_id, task, time_of(ts), level, logger, message, None
                    )
                )
        out.write("".join(text))
        out.flush()
        if rows:
            printed.last = rows[-1][1]
    return printed


def print_log_json(store: Store | DaemonReads, found: RunRead, out: TextIO | None = None) -> None:
    """The run's log as a JSON list (`render.log_json`'s objects), a page at a time: one
    answer for a long log went past the daemon's reply time and its line limit."""
    import json

    from orchestrate.cli.render import iso, level_name

    out = out or sys.stdout
    names = {t.id: t.name for t in found.task_runs}
    out.write("[")
    some = False
    for rows in _pages(store, found.run.id):
        text = []
        for task_run_id, ts, level, logger, message in rows:
            line = {
                "timestamp": iso(time_of(ts)),
                "level": level_name(level),
                "levelno": level,
                "logger": logger,
                "task_run_id": task_run_id,
                "task_run_name": names.get(task_run_id) if task_run_id else None,
                "message": message,
            }
            text.append((",\n" if some else "\n") + json.dumps(line))
            some = True
        out.write("".join(text))
        out.flush()
    out.write("\n]\n" if some else "]\n")


def _head(level: Any, task: str | None, colour: bool) -> str:
    """What follows the time on a line: the level padded, and the task run's name if any."""
    from orchestrate.cli.render import level_name

    name = level_name(level)
    padded = f"{name:<8}"
    if colour:
        padded = f"{_ANSI[name]}{padded}{_RESET}" if name in _ANSI else padded
        task = f"{_CYAN}{task}{_RESET}" if task else None
    return f"{padded} {task}" if task else padded


@functools.lru_cache(maxsize=4)
def _clock(second: int) -> str:
    """HH:MM:SS of a second, local time: formatted once for all the lines logged in it."""
    return datetime.fromtimestamp(second).strftime("%H:%M:%S")


def _stamp(ts: float) -> str:
    """`HH:MM:SS.mmm ` as `render.log_lines` prints it (microseconds rounded, then cut)."""
    try:
        second, micros = divmod(round(ts * 1_000_000), 1_000_000)
        return f"{_clock(second)}.{micros // 1000:03d} "
    except (OverflowError, ValueError, OSError):
        return " "


def _pages(store: Store | DaemonReads, run_id: str) -> Iterator[list[Any]]:
    """The run's log rows, a page at a time, from whichever side answers reads: a small first
    page so the first line comes at once, then large ones, each asked for while the one
    before it is printed."""
    from orchestrate.cli.reads import DaemonReads

    def fetch(after: Any, size: int) -> tuple[list[Any], Any]:
        if isinstance(store, DaemonReads):
            page = store.client.log_page(run_id, after, size)
            return page.lines, page.next
        return store.log_page(run_id, after, size)

    rows, after = fetch(None, FIRST_PAGE)
    while True:
        following = _Ahead(fetch, after, PAGE) if after is not None else None
        yield rows
        if following is None:
            return
        rows, after = following.result()


class _Ahead:
    """One call run on a thread of its own, its result (or error) taken when wanted."""

    def __init__(self, call: Any, *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, args), daemon=True)
        self._thread.start()

    def _run(self, call: Any, args: tuple[Any, ...]) -> None:
        try:
            self._value = call(*args)
        except BaseException as error:  # handed to the caller in `result`
            self._error = error

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
