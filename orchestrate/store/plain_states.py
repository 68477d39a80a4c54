"""Which of a batch's task-run states their task run's row stands for, instead of a history row.

A task run's row may stand for the start of its history when that start is the
plain Pending -> Running -> Completed sequence (`history_shape`). A state is
left out of the stored rows only when the row written in the same transaction
says everything about it: its run's snapshot is in the batch, and the state
is the next of the plain sequence, with its default name, no message, no
error, and the time the row holds (the Pending time, `start_time`, `end_time`).
Once one of a run's states is stored as a row, every later one is too: the
states a row stands for are always the start of its run's history, so the
view can put them first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.core.records import StateRecord, TaskRunRecord
from orchestrate.core.states import StateType

#: The plain sequence, as `history_shape.PLAIN`, with the state types.
_PLAIN = (
    (StateType.PENDING, "Pending"),
    (StateType.RUNNING, "Running"),
    (StateType.COMPLETED, "Completed"),
)


@dataclass
class Shape:
    """A batch's states split: those stored as rows, and what its task runs' rows stand for."""

    kept: list[StateRecord]
    #: run id -> how many plain states its row stands for now (`history_derived`).
    counts: dict[str, int] = field(default_factory=dict)
    #: run id -> its Pending time, for runs whose row starts to stand for their history.
    pending: dict[str, float] = field(default_factory=dict)
    #: Runs with a state stored as a row here: their rows stand for no more than they do now.
    broken: set[str] = field(default_factory=set)

    def computed(self, runs: list[TaskRunRecord]) -> list[list[Any]]:
        """The task run rows' computed columns (`columns.TASK_RUNS.computed`), in `runs` order."""
        pending, counts = self.pending.get, self.counts.get
        return [[pending(run.id) for run in runs], [counts(run.id, 0) for run in runs]]


def no_shape(states: list[StateRecord]) -> Shape:
    """Every state stored as a row (a write that knows nothing of the runs before it)."""
    return Shape(states)


def shape(
    states: list[StateRecord],
    task_runs: Mapping[str, TaskRunRecord],
    known: set[str] | Any,
    derived: Mapping[str, int],
) -> Shape:
    """Split `states` (in the order given) into rows to store and states the rows stand for.

    `known` holds the runs this writer stored before (a run new to it may start
    standing for its history); `derived` how many plain states the stored row of
    each of them stands for already.
    """
    found = Shape([])
    kept, counts, broken = found.kept, found.counts, found.broken
    for record in states:
        run_id = record.run_id
        run = task_runs.get(run_id) if record.is_task else None
        if run is not None and run_id not in broken:
            count = counts.get(run_id)
            if count is None:
                count = derived.get(run_id, 0 if run_id not in known else None)
            if count is not None and count < 3 and _is_next(record, run, count):
                counts[run_id] = count + 1
                if count == 0:
                    found.pending[run_id] = record.state.ts
                continue
        kept.append(record)
        broken.add(run_id)
    return found


def _is_next(record: StateRecord, run: TaskRunRecord, count: int) -> bool:
    """Whether `record` is state `count` of the plain sequence, all of it in `run`'s row."""
    state = record.state
    kind, name = _PLAIN[count]
    if (
        state.type is not kind
        or state.name != name
        or state.message is not None
        or state.traceback is not None
        or isinstance(state.data, BaseException)
        or record.flow_run_id != run.flow_run_id
    ):
        return False
    ts = state.ts
    if count == 0:
        return type(ts) is float and math.isfinite(ts) and abs(ts) < 1e11
    return ts == (run.start_time if count == 1 else run.end_time)


__all__ = ["Shape", "no_shape", "shape"]
