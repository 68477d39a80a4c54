"""The stacked lists on the left: deployments, runs (live, newest first) and automations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from orchestrate.client.protocol import AutomationInfo, DeploymentInfo, FlowRunInfo
from tui.format import (
    TERMINAL_TYPES,
    Clock,
    clock_time,
    duration,
    outcome_blocks,
    relative,
    run_duration,
    state_colour,
    state_glyph,
)
from tui.state import Dashboard
from tui.widgets.row_list import RowList


def _cell(value: str, width: int) -> str:
    """`value` cut to `width` (with an ellipsis) and padded."""
    if len(value) > width:
        value = value[: max(0, width - 1)] + "…"
    return value.ljust(width)


class NamedRowList(RowList):
    """A list of the dashboard's items keyed by name (deployments, automations), in their order."""

    empty: str = ""

    def __init__(self, dashboard: Dashboard, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dashboard, self.clock = dashboard, clock
        self._names: list[str] = []

    def items(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def rows_changed(self) -> None:
        self._names = list(self.items())
        super().rows_changed()

    def row_count(self) -> int:
        return len(self._names)

    def key_at(self, index: int) -> str | None:
        return self._names[index] if index < len(self._names) else None

    def index_of(self, key: str) -> int | None:
        return self._names.index(key) if key in self._names else None

    def empty_text(self) -> Text:
        return Text(self.empty, style="dim")


class DeploymentList(NamedRowList):
    """`● nightly-etl  ■■■▲■  in 4h  every day at 02:00 (Europe/Berlin)`."""

    empty = "no deployments in flows.toml"

    def items(self) -> dict[str, DeploymentInfo]:
        return self.dashboard.deployments

    def render_row(self, index: int, width: int) -> Text:
        return deployment_row(self.dashboard.deployments[self._names[index]], self.clock, width)


def deployment_row(deployment: DeploymentInfo, clock: Clock, width: int) -> Text:
    if deployment.blocked:
        dot = Text("✖ ", style="bold red")
    elif deployment.paused:
        dot = Text("‖ ", style="yellow")
    elif deployment.running:
        dot = Text("⟳ ", style="cyan")
    else:
        dot = Text("● ", style="green")
    name_width = max(8, min(20, width - 22))
    text = dot + Text(_cell(deployment.name, name_width) + " ")
    text.append_text(outcome_blocks([r.state_type for r in deployment.recent]))
    text.append(" " * (6 - min(5, len(deployment.recent))))
    upcoming = "paused" if deployment.paused else relative(deployment.next_run_time, clock.now())
    text.append(_cell(upcoming, 8), style="dim" if deployment.paused else "")
    schedules = ", ".join(s.text for s in deployment.schedules if s.active) or "no schedule"
    text.append(" " + schedules, style="dim")
    return text


class RunList(RowList):
    """`✔ etl-brave-fox  nightly-etl  14:02:11  12.3s`, newest first, filtered by `/`."""

    def __init__(self, dashboard: Dashboard, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dashboard, self.clock = dashboard, clock

    def row_count(self) -> int:
        return len(self.dashboard.runs.view())

    def key_at(self, index: int) -> str | None:
        view = self.dashboard.runs.view()
        return view[index] if index < len(view) else None

    def index_of(self, key: str) -> int | None:
        return self.dashboard.runs.position(key)

    def runs_updated(self, run_ids: list[str]) -> None:
        """Runs changed in place (states, times): repaint the rows that show them, if they read differently."""
        positions = (self.index_of(run_id) for run_id in run_ids)
        self.rows_updated(index for index in positions if index is not None)

    def empty_text(self) -> Text:
        if not self.dashboard.runs.filter.empty:
            return Text("no run matches the filter (esc clears it)", style="dim")
        return Text("no runs yet: r runs the selected deployment", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        run = self.dashboard.runs.get(self.dashboard.runs.view()[index])
        assert run is not None
        return run_row(run, self.clock, width)

    def moves_with_clock(self, index: int) -> bool:
        """A finished run's row reads the same from one second to the next."""
        run = self.dashboard.runs.get(self.dashboard.runs.view()[index])
        return run is not None and run.state.type not in TERMINAL_TYPES


def run_row_reads(run: FlowRunInfo) -> tuple[object, ...]:
    """What `run_row` shows of a run: a change elsewhere (attempts, task counts) leaves the row as it is."""
    state = run.state
    return (
        run.name,
        state.name,
        state.type,
        run.deployment,
        run.flow_name,
        run.created,
        run.expected_start_time,
        run.start_time,
        run.end_time,
    )


def run_row(run: FlowRunInfo, clock: Clock, width: int) -> Text:
    colour = state_colour(run.state.type)
    took = duration(run_duration(run.start_time, run.end_time, clock.now()))
    start = clock_time(run.start_time or run.expected_start_time or run.created, clock)
    text = Text(state_glyph(run.state.name, run.state.type) + " ", style=colour)
    fixed = 2 + 9 + 8
    name_width = max(10, min(24, width - fixed - 14))
    text.append(_cell(run.name, name_width) + " ")
    spare = width - 2 - name_width - 1 - fixed
    if spare >= 8:
        text.append(_cell(run.deployment or run.flow_name, min(spare - 1, 18)) + " ", style="dim")
    text.append(_cell(start, 9), style="dim")
    text.append(took.rjust(7), style=colour)
    return text


class AutomationList(NamedRowList):
    """`● cleanup-after-failure  when orc.flow-run.Failed …  fired 2h ago`."""

    empty = "no automations in flows.toml"

    def items(self) -> dict[str, AutomationInfo]:
        return self.dashboard.automations

    def render_row(self, index: int, width: int) -> Text:
        return automation_row(self.dashboard.automations[self._names[index]], self.clock, width)


def automation_row(automation: AutomationInfo, clock: Clock, width: int) -> Text:
    dot = Text("● ", style="green") if automation.enabled else Text("‖ ", style="yellow")
    name_width = max(8, min(24, width - 16))
    text = dot + Text(_cell(automation.name, name_width) + " ")
    fired = relative(automation.last_fired, clock.now()) if automation.last_fired else "never"
    text.append(_cell(fired, 9), style="dim")
    text.append(" " + automation.trigger_text, style="dim")
    return text
