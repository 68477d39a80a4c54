"""The small text panels: the header line, a run's or deployment's details, a task run's details."""

from __future__ import annotations

import json
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from orchestrate.client.protocol import (
    AutomationInfo,
    DeploymentInfo,
    FlowRunInfo,
    LogInfo,
    RunDetail,
    StateInfo,
    Status,
)
from tui.format import (
    TIMES,
    Clock,
    clock_time,
    duration,
    level_colour,
    level_name,
    relative,
    run_duration,
    short_id,
    state_text,
)
from tui.graph import GraphNode


class HeaderLine(Widget):
    """`orc  demo  ● up 2h03m  3 running · 1 queued   /srv/demo`.

    Drawn with `render`, and repainted only when its text changes: it is
    refreshed every second and on every change, and a repaint here must not
    cost a layout of the screen.
    """

    DEFAULT_CSS = "HeaderLine { height: 1; background: $panel; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text("orc", style="bold")
        self._reads: tuple[object, ...] = ()  # what the text was built from
        self._held: tuple[int, int] | None = None  # cells changed and not repainted yet

    def render(self) -> Text:
        return self._text

    def update(self, text: Text, repaint: bool = True) -> None:
        """Show `text`; with `repaint` False the changed cells wait for `repaint()`."""
        if text != self._text:
            span = changed_cells(self._text, text, self.app.console)
            self._text = text
            if span is not None:
                held = self._held
                self._held = (
                    span if held is None else (min(held[0], span[0]), max(held[1], span[1]))
                )
        if repaint:
            self.repaint()

    def repaint(self) -> None:
        """Repaint the cells changed since the last repaint, and only those.

        Textual repaints the box around all that changed in a frame; a
        header change that is only the counts over the lists keeps that box
        over the lists when it shares a frame with their rows.
        """
        if self._held is not None:
            start, end = self._held
            self._held = None
            self.refresh(Region(start, 0, end - start, 1))

    def held_right_edge(self) -> int | None:
        """The screen column just right of the cells waiting for `repaint()`, if any wait."""
        if self._held is None:
            return None
        return self.content_region.x + self._held[1]

    def show(
        self,
        status: Status | None,
        running: int,
        queued: int,
        clock: Clock,
        readonly: bool,
        lost: bool = False,
        host: str | None = None,
        repaint: bool = True,
    ) -> None:
        now = clock.now()
        up = None if status is None or lost else duration(now - status.started_at)
        reads = (status, running, queued, readonly, lost, host, up, clock.local(now).tzname())
        if reads == self._reads:
            return  # shown every second and on every change: the same words build no new text
        self._reads = reads
        text = Text("orc ", style="bold")
        if status is None:
            self.update(text + Text("connecting…", style="dim"), repaint)
            return
        text.append(status.project + " ", style="bold")
        if host:  # over ssh: which server this is, always in sight
            text.append(f"on {host} ", style="bold cyan")
        text.append(f"v{status.version} ", style="dim")
        text.append(" ")
        if lost:  # no uptime that keeps ticking for a daemon that may be gone
            text.append("✘ disconnected  ", style="bold red")
        else:
            text.append("● ", style="green")
            text.append(f"up {up}  ")
        text.append(f"{running} running", style="cyan" if running else "dim")
        text.append(" · ")
        text.append(f"{queued} queued", style="yellow" if queued else "dim")
        if status.config_error:
            text.append("  ✘ flows.toml has an error", style="red")
        if readonly:
            text.append("  read-only", style="magenta")
        text.append(f"  {status.project_root}", style="dim")
        text.append(f"  times in {reads[-1]}", style="dim")
        self.update(text, repaint)


def changed_cells(before: Text, after: Text, console: Console) -> tuple[int, int] | None:
    """The columns [start, end) where `after` draws differently from `before` (None: nowhere)."""
    old, new = _cells(before, console), _cells(after, console)
    width = max(len(old), len(new))
    old += [None] * (width - len(old))
    new += [None] * (width - len(new))
    differ = [x for x in range(width) if old[x] != new[x]]
    return (differ[0], differ[-1] + 1) if differ else None


def _cells(text: Text, console: Console) -> list[tuple[str, Style | None] | None]:
    """Each screen column of a one-line text: its character and style (a wide one takes two)."""
    cells: list[tuple[str, Style | None] | None] = []
    for segment in text.render(console):
        for char in segment.text:
            cells.append((char, segment.style))
            if cell_len(char) == 2:
                cells.append(("", segment.style))
    return cells


class TaskDetail(Static):
    """Under the graph: the selected row's detail, sized to its content.

    A new content that is as high as the last one is repainted in place; only
    a change of height lays the screen out again (which costs a repaint of
    every widget), so a task whose counts tick up live stays cheap.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._height: int | None = None

    def show(self, content: RenderableType) -> None:
        width = self.size.width
        self.update(content, layout=False)
        height = self.get_content_height(self.container_size, self.app.size, width) if width else -1
        if height != self._height:
            self._height = height
            self.refresh(layout=True)


def _history(states: list[StateInfo], clock: Clock) -> Table:
    table = Table.grid(padding=(0, 1))
    for state in states:
        table.add_row(
            Text(clock_time(state.timestamp, clock), style="dim"),
            state_text(state.name, state.type),
            Text(state.message or "", style="dim"),
        )
    return table


def _pairs(rows: list[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in rows:
        table.add_row(label, value if isinstance(value, Text) else Text(str(value)))
    return table


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, sort_keys=True)


def run_details(detail: RunDetail, clock: Clock, dask_dashboards: tuple[str, ...] = ()) -> Group:
    """The Parameters tab for a run: what it ran with, where it is, and how it got there."""
    run = detail.run
    took = duration(run_duration(run.start_time, run.end_time, clock.now()))
    head = _pairs(
        [
            ("run", f"{run.name}  ({run.id})"),
            ("flow", run.flow_name + (f"  deployment {run.deployment}" if run.deployment else "")),
            ("state", state_text(run.state.name, run.state.type)),
            (
                "started",
                f"{clock_time(run.start_time, clock)}  took {took}"
                if run.start_time
                else "not yet",
            ),
            ("attempts", run.run_count),
            *(("dask dashboard", link) for link in dask_dashboards),
        ]
    )
    parts: list[Any] = [head]
    if run.state.error or run.state.message:
        parts.append(
            Text(run.state.error or run.state.message or "", style="red" if run.state.error else "")
        )
    if run.state.traceback:
        parts.append(_traceback(run.state.traceback))
    parts += [
        Text("\nparameters", style="bold"),
        Text(_json(run.parameters) if run.parameters else "none", style="cyan"),
    ]
    if detail.state_history:
        parts += [Text("\nstates", style="bold"), _history(detail.state_history, clock)]
    return Group(*parts)


def deployment_details(deployment: DeploymentInfo, clock: Clock) -> Group:
    """The Parameters tab for a deployment: schedules, next run, default parameters."""
    schedules = (
        "\n".join(f"{s.text}{'' if s.active else ' (inactive)'}" for s in deployment.schedules)
        or "none"
    )
    head = _pairs(
        [
            ("deployment", deployment.name + ("  (paused)" if deployment.paused else "")),
            ("entrypoint", deployment.entrypoint),
            *([("blocked", deployment.blocked)] if deployment.blocked else []),
            ("schedules", schedules),
            ("next run", relative(deployment.next_run_time, clock.now()) or "none scheduled"),
            (
                "concurrency",
                f"{deployment.concurrency_limit or 'unlimited'} ({deployment.collision_strategy})",
            ),
            ("running", deployment.running),
        ]
    )
    parts: list[Any] = [head]
    if deployment.description:
        parts.append(Text(deployment.description, style="dim"))
    parts += [
        Text("\nparameters", style="bold"),
        Text(_json(deployment.parameters) if deployment.parameters else "none", style="cyan"),
    ]
    parts.append(
        Text("\nr runs it now · R asks for parameters first · p pauses or resumes", style="dim")
    )
    return Group(*parts)


def automation_details(automation: AutomationInfo, clock: Clock) -> Group:
    """The Parameters tab for an automation: its trigger and actions in words."""
    fired = relative(automation.last_fired, clock.now()) if automation.last_fired else "never"
    rows: list[tuple[str, Any]] = [
        ("automation", automation.name + ("" if automation.enabled else "  (paused)")),
        ("trigger", automation.trigger_text),
        ("actions", "\n".join(automation.actions) or "none"),
        ("last fired", f"{fired}  ({_times(automation.fired_count)})"),
    ]
    if automation.next_deadline is not None:
        rows.append(("fires if nothing by", relative(automation.next_deadline, clock.now())))
    return Group(_pairs(rows), Text("\np pauses or resumes it", style="dim"))


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count:,} times"


def task_details(node: GraphNode | None, logs: list[LogInfo], clock: Clock) -> Text | Group:
    """Under the graph: the selected row's states, attempts, error and last log lines."""
    if node is None:
        return Text("")
    task_run = node.task_run
    if node.grouped or node.header:
        failed = node.summary().first_failure
        text = Text(f"{node.name} {TIMES}{len(node.ids)}  (enter expands)", style="bold")
        if failed is not None:
            text.append(
                f"\nfirst failure: {failed.name}: {failed.state.error or failed.state.message or ''}",
                style="red",
            )
        return text
    took = duration(run_duration(task_run.start_time, task_run.end_time, clock.now()))
    head = Text(f"{task_run.name}  ", style="bold")
    head.append_text(state_text(task_run.state.name, task_run.state.type))
    head.append(f"  attempts {task_run.run_count}  {took}  id {short_id(task_run.id)}", style="dim")
    parts: list[Any] = [head]
    error = task_run.state.error or (
        task_run.state.message if task_run.state.type in {"FAILED", "CRASHED"} else None
    )
    if error:
        parts.append(Text(error, style="red"))
    if task_run.state.traceback:
        parts.append(_traceback(task_run.state.traceback))
    for line in logs[-3:]:
        row = Text(clock_time(line.ts, clock) + " ", style="dim")
        row.append(level_name(line.level) + " ", style=level_colour(line.level))
        row.append(line.message)
        parts.append(row)
    return Group(*parts)


def _traceback(text: str) -> Text:
    """A whole traceback, the frames dim and the error line that ends it red."""
    lines = text.rstrip("\n").split("\n")
    shown = Text("\n".join(lines[:-1]) + "\n", style="dim") if len(lines) > 1 else Text()
    shown.append(lines[-1], style="bold red")
    return shown


def run_title(run: FlowRunInfo | None) -> str:
    return "select a run" if run is None else f"{run.name} · {run.state.name}"
