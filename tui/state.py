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
from tui.format import TYPE_OF_NAME, run_duration
from tui.sorting import Sorting, SortKey

EVENTS_KEPT = 5000


#: Section headers in the runs view: upcoming runs (Scheduled, soonest first), then the rest.
UPCOMING, RECENT = "§upcoming", "§recent"
SECTIONS = frozenset({UPCOMING, RECENT})
NAME_CAP, DEPLOYMENT_CAP, FLOW_CAP = 24, 20, 16


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

    def matches(self, run: FlowRunInfo, flow_name: str | None = None) -> bool:
        for word in self.text.lower().split():
            field_name, _, wanted = word.rpartition(":")
            if not _field_matches(run, flow_name or run.flow_name, field_name, wanted):
                return False
        return True


def _field_matches(run: FlowRunInfo, flow_name: str, field_name: str, wanted: str) -> bool:
    state = f"{run.state.name} {run.state.type}".lower()
    fields = {
        "state": state,
        "deployment": (run.deployment or "").lower(),
        "flow": flow_name.lower(),
    }
    if field_name in fields:
        return wanted in fields[field_name]
    haystack = " ".join([state, *fields.values(), run.name.lower(), run.id.lower()])
    return wanted in haystack


def due_time(run: FlowRunInfo) -> float:
    """When a scheduled run is due: a retry's own time (its expected start stays when the run
    was first due, as in Prefect), else its expected start."""
    return run.next_scheduled_start_time or run.expected_start_time or run.created


def sort_key(run: FlowRunInfo) -> tuple[int, float]:
    """Upcoming runs first, soonest due first; then the others by (expected) start, newest first."""
    if run.state.type == "SCHEDULED":
        return (0, due_time(run))
    return (1, -(run.start_time or run.expected_start_time or run.created))


RUN_STATE_ORDER = {"RUNNING": 0, "FAILED": 1, "CRASHED": 1, "PENDING": 2, "SCHEDULED": 3}
RUN_SORT_KEYS: tuple[SortKey[FlowRunInfo], ...] = (
    SortKey("start", sort_key),  # natural: upcoming first, then newest start first
    SortKey("name", lambda run: run.name),
    SortKey("deployment", lambda run: (run.deployment or "", sort_key(run))),
    SortKey("state", lambda run: (RUN_STATE_ORDER.get(run.state.type, 4), sort_key(run))),
    SortKey(
        "duration",
        lambda run: -(run_duration(run.start_time, run.end_time, run.end_time or 0.0) or 0.0),
    ),
)


@dataclass
class ColumnWidths:
    """The longest name, deployment and flow among the runs (capped): the runs list's column widths."""

    name: int = 0
    deployment: int = 0
    flow: int = 0

    def grow(self, run: FlowRunInfo, flow_name: str) -> None:
        self.name = max(self.name, min(NAME_CAP, len(run.name)))
        self.deployment = max(self.deployment, min(DEPLOYMENT_CAP, len(run.deployment or "")))
        self.flow = max(self.flow, min(FLOW_CAP, len(flow_name)))


class RunIndex:
    """Flow runs by id in `sort_key` order, with a filtered view recomputed only when needed."""

    def __init__(self) -> None:
        self._runs: dict[str, FlowRunInfo] = {}
        self._keys: dict[str, tuple[int, float]] = {}
        self._order: list[tuple[int, float, str]] = []  # (section, time key, id), ascending
        self._flows: dict[str, str] = {}  # deployment -> its flow's name, from a run that started
        self._filter = RunFilter()
        self._view: list[str] | None = None
        self._positions: dict[str, int] | None = None
        self._running: set[str] = set()  # kept as runs change: the header asks on every batch
        self._waiting: set[str] = set()
        self.widths = ColumnWidths()
        self.sorting: Sorting[FlowRunInfo] = Sorting(RUN_SORT_KEYS)

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, run_id: str) -> FlowRunInfo | None:
        return self._runs.get(run_id)

    def flow_name(self, run: FlowRunInfo) -> str:
        """The flow's name; a run not started yet carries its function's, so a started sibling's wins."""
        if run.state.type in {"SCHEDULED", "PENDING"} and run.deployment in self._flows:
            return self._flows[run.deployment]
        return run.flow_name

    def upsert(self, run: FlowRunInfo) -> bool:
        """Add or replace a run; True if the view's order changed (a new run, or one that moved)."""
        new = run.id not in self._runs
        self._runs[run.id] = run
        self._learn(run)
        key, before = sort_key(run), self._keys.get(run.id)
        moved = key != before
        if moved:
            if before is not None:
                del self._order[bisect.bisect_left(self._order, (*before, run.id))]
            bisect.insort(self._order, (*key, run.id))
            self._keys[run.id] = key
        if moved or self._filter.uses_state or not self.sorting.natural:
            self._view = self._positions = None
        return new or moved

    def remove(self, run_ids: Iterable[str]) -> bool:
        """Drop runs the daemon deleted; True if any was here."""
        gone = {run_id for run_id in run_ids if self._runs.pop(run_id, None) is not None}
        if not gone:
            return False
        for run_id in gone:
            del self._keys[run_id]
        self._order = [entry for entry in self._order if entry[2] not in gone]
        self._running -= gone
        self._waiting -= gone
        self._view = self._positions = None
        return True

    def replace_all(self, runs: Iterable[FlowRunInfo]) -> None:
        self._runs = {run.id: run for run in runs}
        self._running, self._waiting = set(), set()
        for run in self._runs.values():
            self._learn(run)
        self._keys = {run.id: sort_key(run) for run in self._runs.values()}
        self._order = sorted((*key, run_id) for run_id, key in self._keys.items())
        self._view = self._positions = None

    def _learn(self, run: FlowRunInfo) -> None:
        kind = run.state.type
        (self._running.add if kind == "RUNNING" else self._running.discard)(run.id)
        (self._waiting.add if kind in {"SCHEDULED", "PENDING"} else self._waiting.discard)(run.id)
        if run.deployment and run.state.type not in {"SCHEDULED", "PENDING"}:
            self._flows[run.deployment] = run.flow_name
        self.widths.grow(run, self.flow_name(run))

    @property
    def filter(self) -> RunFilter:
        return self._filter

    @filter.setter
    def filter(self, value: RunFilter) -> None:
        self._filter = value
        self._view = self._positions = None

    def sorting_changed(self) -> None:
        self._view = self._positions = None

    def view(self) -> list[str]:
        """Ids of the runs the filter keeps in order, under section headers when some are upcoming.

        Sorted by another key (or reversed), the runs are one list without sections.
        """
        if self._view is None and not self.sorting.natural:
            kept_runs = [
                run
                for run in (self._runs[run_id] for _, _, run_id in self._order)
                if self._filter.empty or self._filter.matches(run, self.flow_name(run))
            ]
            self._view = [run.id for run in self.sorting.apply(kept_runs)]
        if self._view is None:
            kept = [(section, run_id) for section, _, run_id in self._order]
            if not self._filter.empty:
                kept = [
                    (section, run_id)
                    for section, run_id in kept
                    if self._filter.matches(self._runs[run_id], self.flow_name(self._runs[run_id]))
                ]
            upcoming = [run_id for section, run_id in kept if section == 0]
            recent = [run_id for section, run_id in kept if section == 1]
            if upcoming:
                self._view = [UPCOMING, *upcoming, *([RECENT, *recent] if recent else [])]
            else:
                self._view = recent
        return self._view

    def upcoming_count(self) -> int:
        view = self.view()
        return (
            view.index(RECENT) - 1
            if RECENT in view
            else len(view) - 1
            if view[:1] == [UPCOMING]
            else 0
        )

    def position(self, run_id: str) -> int | None:
        """Where the run is in `view()` (None if the filter hides it)."""
        if self._positions is None:
            self._positions = {run_id: i for i, run_id in enumerate(self.view())}
        return self._positions.get(run_id)

    def counts(self) -> tuple[int, int]:
        """How many runs are running, and how many are scheduled to start (as far as loaded)."""
        return len(self._running), len(self._waiting)


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

    def remove_runs(self, run_ids: set[str]) -> bool:
        """Runs the daemon deleted leave the runs and the deployments' latest; True if any was listed."""
        for name, deployment in self.deployments.items():
            if any(brief.id in run_ids for brief in deployment.recent):
                recent = [brief for brief in deployment.recent if brief.id not in run_ids]
                self.deployments[name] = deployment.model_copy(update={"recent": recent})
        return self.runs.remove(run_ids)

    def running_and_queued(self) -> tuple[int, int]:
        """Counts for the header: running from the runs the stream keeps (a status is up to a
        second old), queued (waiting for a slot) from the daemon's status when known."""
        running, waiting = self.runs.counts()
        return running, self.status.queued if self.status is not None else waiting


def state_type_of(name: str) -> str:
    return TYPE_OF_NAME.get(name, "PENDING")
