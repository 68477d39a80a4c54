"""How runs, task runs and logs look: tables for people, JSON for scripts.

Tables and coloured text are drawn by `orchestrate.cli.table` (the stdlib
alone), so the quick path of a command and its Typer command print the same
bytes through the same functions, and neither loads Rich.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrate.cli import table
from orchestrate.cli.table import Cell, Column, Styled, Terminal, styled

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrate.cli.rows import AnyFlowRun as FlowRunView
    from orchestrate.cli.rows import AnyLogLine as LogLine
    from orchestrate.cli.rows import AnyState as RunState
    from orchestrate.cli.rows import AnyStateEntry as StateEntry
    from orchestrate.cli.rows import AnyTaskRun as TaskRunView

SHORT_ID = 8
STATE_STYLES = {
    "COMPLETED": "green",
    "FAILED": "red",
    "CRASHED": "bold red",
    "RUNNING": "cyan",
    "SCHEDULED": "yellow",
    "PENDING": "bright_black",
    "CANCELLING": "magenta",
    "CANCELLED": "magenta",
    "PAUSED": "yellow",
}
LEVEL_STYLES = {
    "DEBUG": "bright_black",
    "WARNING": "yellow",
    "ERROR": "red",
    "CRITICAL": "bold red",
}


# ---- values ---------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def local_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """`0.42s`, `12.3s`, `4m05s`, `2h03m`: short enough for a table cell."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


#: The standard levels' names (`logging.getLevelName`, without loading `logging`).
_LEVEL_NAMES = {50: "CRITICAL", 40: "ERROR", 30: "WARNING", 20: "INFO", 10: "DEBUG", 0: "NOTSET"}


def level_name(level: int) -> str:
    """`INFO` for 20, `Level 25` for a level without a name, as `logging.getLevelName` says."""
    return _LEVEL_NAMES.get(level, f"Level {level}")


def relative(seconds: float) -> str:
    """`in 4m05s` for a time ahead, `12.0s ago` for one past."""
    return f"in {duration(seconds)}" if seconds >= 0 else f"{duration(-seconds)} ago"


#: One glyph per kind of outcome, so a run's task runs fit a table cell: `3✔ 1✘`.
_GLYPHS = (
    ("✔", "green", {"Completed", "Cached"}),
    ("✘", "red", {"Failed", "TimedOut", "Crashed"}),
    ("⟳", "yellow", {"Running", "Retrying"}),
    ("⊘", "magenta", {"Cancelled", "Cancelling"}),
)


def counts_glyphs(counts: dict[str, int]) -> Styled:
    """Task-run counts by outcome (anything not listed, such as Pending or NotReady, as ◌)."""
    parts: list[Styled] = []
    seen: set[str] = set()
    for glyph, style, names in _GLYPHS:
        n = sum(counts.get(name, 0) for name in names)
        seen |= names
        if n:
            parts.append(styled(f"{n}{glyph} ", style))
    waiting = sum(n for name, n in counts.items() if name not in seen)
    if waiting:
        parts.append(styled(f"{waiting}◌", "dim"))
    text = table.joined(parts)
    return Styled(text.text.rstrip(), text.spans)


def short_time(moment: datetime | None) -> str:
    """`14:02:11` today, `11-20 14:02` on another day."""
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


# ---- JSON -------------------------------------------------------------------


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


#: Fields of the daemon's replies that hold a moment as epoch seconds.
_MOMENTS = frozenset(
    {"created", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time",
     "timestamp", "ts", "occurred", "started_at", "next_run_time", "next_times", "next_due_time",
     "last_fired", "last_seen", "up_since"}
)  # fmt: skip


def wire_json(model: Any) -> Any:
    """A reply model as JSON with its moments in ISO 8601 with an offset, as every orc JSON time.

    Only the model's own fields are read as moments: parameters and payloads
    are users' data and stay as they are.
    """
    from pydantic import BaseModel

    out = model.model_dump(mode="json")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out[name] = wire_json(value)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            out[name] = [wire_json(v) for v in value]
        elif name in _MOMENTS:
            out[name] = iso_moment(out[name])
    return out


#: Keys whose values are users' data: never read as moments.
_USER_DATA = frozenset({"parameters", "payload", "run_input", "job_variables", "result"})


def iso_moments(data: Any) -> Any:
    """`wire_json` for an answer already read as plain JSON (the quick path has no models)."""
    if isinstance(data, list):
        return [iso_moments(item) for item in data]
    if not isinstance(data, dict):
        return data
    return {
        key: value
        if key in _USER_DATA
        else iso_moment(value)
        if key in _MOMENTS
        else iso_moments(value)
        for key, value in data.items()
    }


def iso_moment(value: Any) -> Any:
    """Epoch seconds (or a list of them) as ISO 8601 in UTC with its offset; None as None."""
    if isinstance(value, list):
        return [iso_moment(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value


def state_json(state: RunState) -> dict[str, Any]:
    return {
        "type": state.type,
        "name": state.name,
        "message": state.message,
        "timestamp": iso(state.timestamp),
    }


def error_json(state: RunState) -> dict[str, Any] | None:
    if not (state.error_type or state.error_message or state.traceback):
        return None
    return {"type": state.error_type, "message": state.error_message, "traceback": state.traceback}


def flow_run_json(run: FlowRunView) -> dict[str, Any]:
    """The documented JSON shape of a flow run in `orc runs ls --json`."""
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "state_type": run.state.type,
        "state_name": run.state.name,
        "state_message": run.state.message,
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "created": iso(run.created),
        "expected_start_time": iso(run.expected_start_time),
        "next_scheduled_start_time": iso(run.next_scheduled_start_time),
        "duration_seconds": run.duration_seconds,
        "parameters": run.parameters,
        "tags": run.tags,
        "deployment": run.deployment,
        "parent_flow_run_id": run.parent_flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "run_count": run.run_count,
        "task_runs": run.task_run_counts,
    }


def task_run_json(task_run: TaskRunView, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": task_run.id,
        "name": task_run.name,
        "task_key": task_run.task_key,
        "kind": task_run.kind,
        "state_type": task_run.state.type,
        "state_name": task_run.state.name,
        "start_time": iso(task_run.start_time),
        "end_time": iso(task_run.end_time),
        "duration_seconds": task_run.duration_seconds,
        "run_count": task_run.run_count,
        "upstream": [
            {"id": up, "name": names.get(up), "kind": kind} for up, kind in task_run.upstream
        ],
        "error": error_json(task_run.state),
    }


def history_json(entry: StateEntry) -> dict[str, Any]:
    return {**state_json(entry.state), "error": error_json(entry.state)}


def log_json(line: LogLine) -> dict[str, Any]:
    return {
        "timestamp": iso(line.timestamp),
        "level": level_name(line.level),
        "levelno": line.level,
        "logger": line.logger,
        "task_run_id": line.task_run_id,
        "task_run_name": line.task_run_name,
        "message": line.message,
    }


# ---- tables -----------------------------------------------------------------


def console() -> Console:
    """A Rich console, for what is still printed with Rich (`orc backfill`'s lines)."""
    from rich.console import Console

    return Console(highlight=False)


def say(text: str | Styled, end: str = "\n") -> None:
    """A message for people on stdout, wrapped to the terminal's width."""
    table.print_wrapped(text, table.terminal(), end=end)


def state_text(state: RunState) -> Styled:
    return styled(state.name, STATE_STYLES.get(state.type, ""))


_RUN_COLUMNS = [
    Column(name, no_wrap=True)
    for name in ("ID", "FLOW", "RUN", "STATE", "STARTED", "DURATION", "TASKS")
]


def runs_table(runs: Sequence[FlowRunView]) -> None:
    if not runs:
        say("No flow runs yet. Run one with `orc flow run PATH.py:FUNCTION`.")
        return
    rows: list[list[Cell]] = [
        [
            run.id[:SHORT_ID],
            run.flow_name,
            run.name,
            state_text(run.state),
            short_time(run.start_time or run.expected_start_time or run.created),
            duration(run.duration_seconds),
            counts_glyphs(run.task_run_counts),
        ]
        for run in runs
    ]
    _write(table.table(_RUN_COLUMNS, rows, table.terminal()))


def _write(text: str) -> None:
    import sys

    sys.stdout.write(text)
    sys.stdout.flush()


def log_lines(lines: Sequence[LogLine]) -> None:
    out = table.terminal()
    for line in lines:
        level = level_name(line.level)
        stamp = (
            ""
            if line.timestamp is None
            else line.timestamp.astimezone().strftime("%H:%M:%S.%f")[:-3]
        )
        parts = [Styled(f"{stamp} "), styled(f"{level:<8}", LEVEL_STYLES.get(level, ""))]
        if line.task_run_name:
            parts.append(styled(f" {line.task_run_name}", "cyan"))
        parts.append(Styled(f" | {line.message}"))
        table.print_line(table.joined(parts), out)


def unlogged_error(run: FlowRunView, lines: Sequence[LogLine]) -> None:
    """The run's traceback after its log lines when none holds it, so `orc logs` explains a failure.

    A task run logs its own traceback; a flow that raised itself, or
    parameters refused before the flow started, leave none in the log.
    """
    state = run.state
    if not state.traceback or _traceback_logged(state.traceback, lines):
        return
    out = table.terminal()
    _error_lines(out, f"flow run {run.name} ended {state.name}: ", state)


def _error_lines(out: Terminal, head: str, state: RunState) -> None:
    """`head` in bold red, the error on the same line, then its traceback dimmed."""
    table.print_wrapped(styled(head, "bold red"), out, end="")
    table.print_wrapped(f"{state.error_type or 'Error'}: {state.error_message or ''}", out)
    if state.traceback:
        table.print_line(styled(state.traceback.rstrip(), "bright_black"), out)


def _traceback_logged(traceback: str, lines: Sequence[LogLine]) -> bool:
    """A line already holds a traceback ending in the same exception (a task run logs its own)."""
    last = traceback.strip().splitlines()[-1]
    return any(
        "Traceback (most recent call last)" in line.message and last in line.message
        for line in lines
    )


def run_detail(
    run: FlowRunView,
    history: Sequence[StateEntry],
    task_runs: Sequence[TaskRunView],
    subflows: Sequence[FlowRunView],
    dashboards: tuple[str, ...] = (),
) -> None:
    """Everything `orc runs show` knows about one run, top to bottom."""
    out = table.terminal()
    _run_header(out, run, dashboards)
    _history_table(out, history)
    _task_runs_table(out, task_runs)
    if subflows:
        say("")
        say(styled("Subflow runs", "bold"))
        runs_table(subflows)
    _errors(out, run, task_runs)


def _next_start(run: FlowRunView) -> list[tuple[str, str | Styled]]:
    """When a run waiting again (a retry) is due: its expected start stays when it was first due."""
    if run.state.type != "SCHEDULED" or run.next_scheduled_start_time is None:
        return []
    return [("next start", local_time(run.next_scheduled_start_time))]


def _run_header(out: Terminal, run: FlowRunView, dashboards: tuple[str, ...] = ()) -> None:
    table.print_wrapped(styled(f"{run.flow_name} / {run.name}", "bold"), out)
    rows: list[tuple[str, str | Styled]] = [
        ("id", run.id),
        ("state", state_text(run.state)),
        ("message", run.state.message or ""),
        ("expected start", local_time(run.expected_start_time)),
        *_next_start(run),
        ("started", local_time(run.start_time)),
        ("ended", local_time(run.end_time)),
        ("duration", duration(run.duration_seconds)),
        ("attempts", str(run.run_count)),
        ("parameters", json.dumps(run.parameters, default=str)),
        ("tags", ", ".join(run.tags)),
        ("deployment", run.deployment or ""),
        ("parent task run", run.parent_task_run_id or ""),
        *(("dask dashboard", link) for link in dashboards),
    ]
    for label, value in rows:
        text = value.text if isinstance(value, Styled) else value
        if text:
            value = value if isinstance(value, Styled) else Styled(value)
            table.print_line(table.joined([Styled(f"  {label:<16}"), value]), out)


def _history_table(out: Terminal, history: Sequence[StateEntry]) -> None:
    if not history:
        return
    rows: list[list[Cell]] = [
        [local_time(entry.state.timestamp), state_text(entry.state), entry.state.message or ""]
        for entry in history
    ]
    columns = [Column("TIME"), Column("STATE"), Column("MESSAGE")]
    say("")
    _write(table.table(columns, rows, out, title="State history"))


def _task_runs_table(out: Terminal, task_runs: Sequence[TaskRunView]) -> None:
    if not task_runs:
        return
    names = {t.id: t.name for t in task_runs}
    rows: list[list[Cell]] = [
        [
            task_run.name,
            state_text(task_run.state),
            duration(task_run.duration_seconds),
            str(task_run.run_count),
            ", ".join(names.get(up, up[:SHORT_ID]) for up, _ in task_run.upstream),
        ]
        for task_run in task_runs
    ]
    columns = [Column(name) for name in ("NAME", "STATE", "DURATION", "ATTEMPTS", "UPSTREAM")]
    say("")
    _write(table.table(columns, rows, out, title="Task runs"))


def _errors(out: Terminal, run: FlowRunView, task_runs: Sequence[TaskRunView]) -> None:
    """The flow run's error, then any failed task run's, each with its traceback."""
    failed = [(f"flow run {run.name}", run.state)]
    failed += [(f"task run {t.name}", t.state) for t in task_runs]
    for label, state in failed:
        if not (state.error_type or state.error_message):
            continue
        say("")
        _error_lines(out, f"Error in {label}: ", state)
