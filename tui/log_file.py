"""Saving log lines to a file: whole messages, ISO times, readable by the user alone.

The file goes in the current folder (where `orc tui` was started, also over
ssh: the dashboard's own machine), under a name that says which run or task
and when, and is never written over: a second save the same second gets a
number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestrate.client.protocol import LogInfo
from tui.format import Clock, level_name

MODE = 0o600  # logs can hold what a flow printed: not for other users to read


def log_text(lines: Iterable[LogInfo], clock: Clock, task_names: Mapping[str, str]) -> str:
    """`2026-01-01T08:50:02+00:00 INFO     extract-0  message`, one line per line of the message."""
    out: list[str] = []
    for line in lines:
        source = task_names.get(line.task_run_id or "", "")
        head = f"{clock.local(line.ts).isoformat(timespec='seconds')} {level_name(line.level):<8} "
        head += f"{source} " if source else ""
        first, *rest = line.message.rstrip("\n").split("\n")
        out.append(head + first)
        out.extend("  " + part for part in rest)
    return "\n".join(out) + "\n" if out else ""


def save_lines(
    lines: list[LogInfo],
    stem: str,
    clock: Clock,
    task_names: Mapping[str, str],
    folder: Path | None = None,
) -> Path:
    """Write `lines` to a new file named after `stem` and the time; returns its path."""
    stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M%S")
    base = (folder or Path.cwd()) / f"{_safe(stem)}-{stamp}"
    data = log_text(lines, clock, task_names).encode()
    for attempt in range(1, 100):
        path = base.with_name(base.name + (f"-{attempt}" if attempt > 1 else "") + ".log")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        return path.resolve()
    raise FileExistsError(f"{base}.log and 98 numbered names next to it already exist")


def _safe(stem: str) -> str:
    """A file name from a run or task name: letters, digits, `-`, `_` and `.` only."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip(".-") or "orc-logs"
