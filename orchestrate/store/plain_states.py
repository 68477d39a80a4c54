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

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.core.records import StateRecord, TaskRunRecord
from orchestrate.core.states import StateType

#: The plain sequence, as `history_shape.PLAIN`: its state types and names, by position.
_TYPES = (StateType.PENDING, StateType.RUNNING, StateType.COMPLETED)
_NAMES = ("Pending", "Running", "Completed")


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
    known: Container[str],
    derived: Mapping[str, int],
) -> Shape:
    """Split `states` (in the order given) into rows to store and states the rows stand for.

    `known` holds the runs this writer stored before (a run new to it may start
    standing for its history); `derived` how many plain states the stored row of
    each of them stands for already. One loop, the test of each state written
    out: it runs in the writer thread for every state, holding the GIL the flow's
    task runs need, and a call per state was a third of its cost.
    """
    found = Shape([])
    kept, counts, broken, pending = found.kept, found.counts, found.broken, found.pending
    run_of, counted, derived_of = task_runs.get, counts.get, derived.get
    for record in states:
        run_id = record.run_id
        if record.is_task and run_id not in broken and (run := run_of(run_id)) is not None:
            count = counted(run_id)
            if count is None:
                count = derived_of(run_id, 0 if run_id not in known else 3)
            state = record.state
            if (
                count < 3
                and state.type is _TYPES[count]
                and state.name == _NAMES[count]
                and state.message is None
                and state.traceback is None
                and record.flow_run_id == run.flow_run_id
                and not isinstance(state.data, BaseException)
                # The Pending time in the row's range (NaN and infinities fail), the others the row's own.
                and (
                    type(state.ts) is float and -1e11 < state.ts < 1e11
                    if count == 0
                    else state.ts == (run.start_time if count == 1 else run.end_time)
                )
            ):
                counts[run_id] = count + 1
                if count == 0:
                    pending[run_id] = state.ts
                continue
        kept.append(record)
        broken.add(run_id)
    return found


__all__ = ["Shape", "no_shape", "shape"]
