"""The dashboard's in-memory picture of the daemon, updated from notifications.

Handlers apply what workers report (a list loaded, a run changed, log lines
arrived); widgets draw from here. Every update touches only what changed:
runs keep a sorted order updated by insertion, filtered views are recomputed
lazily once per change, logs append to the lines a filter shows.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from orchestrate.client.protocol import (
    AutomationInfo,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    LogInfo,
    Status,
)
from tui.format import TYPE_OF_NAME

EVENTS_KEPT = 5000


@dataclass(frozen=True)
class RunFilter:
    """What `/` typed: words that must all match; `state:`, `deployment:` and `flow:` narrow a field.

    `failed etl` keeps runs whose state, deployment, flow or name contain both
    words; `state:running` keeps runs in that state type or name.
    """

    text: str = ""

    @property
    def empty(self) -> bool:
        return not self.text.strip()

    @property
    def uses_state(self) -> bool:
        return not self.empty

    def matches(self, run: FlowRunInfo) -> bool:
        for word in self.text.lower().split():
            field_name, _, wanted = word.rpartition(":")
            if not _field_matches(run, field_name, wanted):
                return False
        return True


def _field_matches(run: FlowRunInfo, field_name: str, wanted: str) -> bool:
    state = f"{run.state.name} {run.state.type}".lower()
    fields = {
        "state": state,
        "deployment": (run.deployment or "").lower(),
        "flow": run.flow_name.lower(),
    }
    if field_name in fields:
        return wanted in fields[field_name]
    haystack = " ".join([state, *fields.values(), run.name.lower(), run.id.lower()])
    return wanted in haystack


class RunIndex:
    """Flow runs by id, newest first, with a filtered view recomputed only when needed."""

    def __init__(self) -> None:
        self._runs: dict[str, FlowRunInfo] = {}
        self._order: list[tuple[float, str]] = []  # (-created, id), ascending = newest first
        self._filter = RunFilter()
        self._view: list[str] | None = None
        self._positions: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, run_id: str) -> FlowRunInfo | None:
        return self._runs.get(run_id)

    def upsert(self, run: FlowRunInfo) -> bool:
        """Add or replace a run; True if it was new."""
        new = run.id not in self._runs
        self._runs[run.id] = run
        if new:
            bisect.insort(self._order, (-run.created, run.id))
        if new or self._filter.uses_state:
            self._view = self._positions = None
        return new

    def replace_all(self, runs: Iterable[FlowRunInfo]) -> None:
        self._runs = {run.id: run for run in runs}
        self._order = sorted((-run.created, run.id) for run in self._runs.values())
        self._view = self._positions = None

    @property
    def filter(self) -> RunFilter:
        return self._filter

    @filter.setter
    def filter(self, value: RunFilter) -> None:
        self._filter = value
        self._view = self._positions = None

    def view(self) -> list[str]:
        """Ids of the runs the filter keeps, newest first."""
        if self._view is None:
            ids = [run_id for _, run_id in self._order]
            if not self._filter.empty:
                ids = [run_id for run_id in ids if self._filter.matches(self._runs[run_id])]
            self._view = ids
        return self._view

    def position(self, run_id: str) -> int | None:
        """Where the run is in `view()` (None if the filter hides it)."""
        if self._positions is None:
            self._positions = {run_id: i for i, run_id in enumerate(self.view())}
        return self._positions.get(run_id)

    def counts(self) -> tuple[int, int]:
        """How many runs are running, and how many are scheduled to start (as far as loaded)."""
        running = sum(1 for run in self._runs.values() if run.state.type == "RUNNING")
        waiting = sum(
            1 for run in self._runs.values() if run.state.type in {"SCHEDULED", "PENDING"}
        )
        return running, waiting


@dataclass(frozen=True)
class LogFilter:
    level: int = 0
    search: str = ""

    def matches(self, line: LogInfo) -> bool:
        if line.level < self.level:
            return False
        return not self.search or self.search.lower() in line.message.lower()


class LogBuffer:
    """A run's log lines, and the indexes of the ones the filter shows."""

    def __init__(self, flow_run_id: str | None = None) -> None:
        self.flow_run_id = flow_run_id
        self.lines: list[LogInfo] = []
        self.shown: list[int] = []
        self._filter = LogFilter()
        self._seen: set[tuple[float, str, str | None]] = set()
        self._by_task: dict[str, list[LogInfo]] = {}

    def extend(self, lines: Iterable[LogInfo]) -> int:
        """Append new lines (duplicates from a reload are dropped); returns how many are shown."""
        added = 0
        for line in lines:
            key = (line.ts, line.message, line.task_run_id)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.lines.append(line)
            if line.task_run_id:
                self._by_task.setdefault(line.task_run_id, []).append(line)
            if self._filter.matches(line):
                self.shown.append(len(self.lines) - 1)
                added += 1
        return added

    def of_task(self, task_run_id: str) -> list[LogInfo]:
        """The lines a task run logged, oldest first."""
        return self._by_task.get(task_run_id, [])

    @property
    def filter(self) -> LogFilter:
        return self._filter

    @filter.setter
    def filter(self, value: LogFilter) -> None:
        self._filter = value
        self.shown = [i for i, line in enumerate(self.lines) if value.matches(line)]


@dataclass
class Dashboard:
    """Everything the main screen shows, as last reported by the daemon."""

    status: Status | None = None
    deployments: dict[str, DeploymentInfo] = field(default_factory=dict)
    automations: dict[str, AutomationInfo] = field(default_factory=dict)
    runs: RunIndex = field(default_factory=RunIndex)
    events: deque[EventInfo] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))

    def set_deployments(self, deployments: Iterable[DeploymentInfo]) -> None:
        self.deployments = {d.name: d for d in sorted(deployments, key=lambda d: d.name)}

    def set_automations(self, automations: Iterable[AutomationInfo]) -> None:
        self.automations = {a.name: a for a in sorted(automations, key=lambda a: a.name)}

    def upsert_deployment(self, deployment: DeploymentInfo) -> None:
        if deployment.name in self.deployments:
            self.deployments[deployment.name] = deployment
        else:
            self.set_deployments([*self.deployments.values(), deployment])

    def upsert_automation(self, automation: AutomationInfo) -> None:
        if automation.name in self.automations:
            self.automations[automation.name] = automation
        else:
            self.set_automations([*self.automations.values(), automation])

    def running_and_queued(self) -> tuple[int, int]:
        """Counts for the header: from the daemon's status when known, else from the runs loaded."""
        if self.status is not None:
            return len(self.status.running), self.status.queued
        return self.runs.counts()


def state_type_of(name: str) -> str:
    return TYPE_OF_NAME.get(name, "PENDING")
