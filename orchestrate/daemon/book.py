"""The daemon's memory of live runs: every flow run not yet finished, and its task runs' states.

Finished runs leave the book (the store keeps them); what stays is what the
dispatcher decides on, what `orc status` shows, and what turns a worker's
state records into events with names and labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from orchestrate.core.records import FlowRunRecord, StateRecord, TaskRunRecord
from orchestrate.core.states import StateType

#: How many finished runs' task counts wait for their runs to settle, at most.
KEEP_FINISHED_COUNTS = 1024


@dataclass
class RunBook:
    flow_runs: dict[str, FlowRunRecord] = field(default_factory=dict)
    #: task runs of live flow runs, by flow run id then task run id
    task_runs: dict[str, dict[str, TaskRunRecord]] = field(default_factory=dict)
    #: state records whose task run snapshot has not arrived yet
    orphan_states: dict[str, list[StateRecord]] = field(default_factory=dict)
    #: finished runs' task run counts, for the pushes that follow their final state
    #: (dropped when the run settles; the oldest go past `KEEP_FINISHED_COUNTS`)
    finished_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def get(self, run_id: str) -> FlowRunRecord | None:
        return self.flow_runs.get(run_id)

    def put_flow_run(self, run: FlowRunRecord) -> FlowRunRecord:
        """Keep the newest snapshot; a finished run leaves the book (with its task runs)."""
        if run.state.is_final():
            self.flow_runs.pop(run.id, None)
            task_runs = self.task_runs.pop(run.id, None)
            if task_runs:
                self.finished_counts[run.id] = _counts(task_runs)
                if len(self.finished_counts) > KEEP_FINISHED_COUNTS:
                    del self.finished_counts[next(iter(self.finished_counts))]
        else:
            self.flow_runs[run.id] = run
        return run

    def put_task_run(self, run: TaskRunRecord) -> list[StateRecord]:
        """Keep a task run snapshot; returns state records that were waiting for it."""
        if run.flow_run_id in self.flow_runs:
            self.task_runs.setdefault(run.flow_run_id, {})[run.id] = run
        return self.orphan_states.pop(run.id, [])

    def task_run(self, flow_run_id: str, task_run_id: str) -> TaskRunRecord | None:
        return self.task_runs.get(flow_run_id, {}).get(task_run_id)

    def park(self, record: StateRecord) -> None:
        self.orphan_states.setdefault(record.run_id, []).append(record)

    def task_counts(self, flow_run_id: str) -> dict[str, int]:
        """The run's task runs by state name; a finished run's as they ended."""
        runs = self.task_runs.get(flow_run_id)
        if runs is None:
            return dict(self.finished_counts.get(flow_run_id, {}))
        return _counts(runs)

    def settled(self, flow_run_id: str) -> None:
        """The run's worker is gone and its last push made: forget its counts."""
        self.finished_counts.pop(flow_run_id, None)

    def scheduled(self) -> list[FlowRunRecord]:
        return [r for r in self.flow_runs.values() if r.state.type is StateType.SCHEDULED]

    def future_slots(self, deployment: str, after: float) -> list[FlowRunRecord]:
        """Scheduled (not retrying) runs of `deployment` due after `after`."""
        return [
            r
            for r in self.flow_runs.values()
            if r.deployment == deployment
            and r.state.name in ("Scheduled", "Late")
            and (r.expected_start_time or 0.0) > after
        ]


def _counts(runs: dict[str, TaskRunRecord]) -> dict[str, int]:
    return dict(Counter(r.state.name for r in runs.values()))
