"""Which states a task run's row stands for: the edges of the plain sequence, checked state by state.

The property tests (`test_history_shape`) read the stored history back for
many mixes of runs; these pin the cases they do not draw: odd Pending times,
runs the writer knows, states of another flow run, and what `StoredRuns`
says it stored.
"""

from __future__ import annotations

import math

import pytest

from orchestrate.core.records import StateRecord, TaskRunRecord
from orchestrate.states import State, StateType
from orchestrate.store.batch import StoredRuns
from orchestrate.store.plain_states import shape

P, R, C = StateType.PENDING, StateType.RUNNING, StateType.COMPLETED
BASE = 1_700_000_000.0


def _plain(run_id: str, pending_ts: float = BASE) -> tuple[TaskRunRecord, list[StateRecord]]:
    run = TaskRunRecord(run_id, "f1", "t", "k", 0, State(C, timestamp=BASE + 2), BASE)
    run.start_time, run.end_time = BASE + 1, BASE + 2
    states = [
        StateRecord(run_id, "f1", True, State(P, timestamp=pending_ts)),
        StateRecord(run_id, "f1", True, State(R, timestamp=BASE + 1)),
        StateRecord(run_id, "f1", True, State(C, timestamp=BASE + 2)),
    ]
    return run, states


def test_a_plain_run_new_to_the_writer_keeps_no_rows() -> None:
    run, states = _plain("t1")
    found = shape(states, {"t1": run}, set(), {})
    assert (found.kept, found.counts, found.pending) == ([], {"t1": 3}, {"t1": BASE})
    assert found.computed([run]) == [[BASE], [3]]


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf, 1e12])
def test_a_pending_time_the_row_cannot_hold_keeps_every_state(odd: float) -> None:
    run, states = _plain("t1", pending_ts=odd)
    found = shape(states, {"t1": run}, set(), {})
    assert found.kept == states
    assert found.counts == {}


def test_a_run_the_writer_stored_whole_keeps_its_later_states_as_rows() -> None:
    """Known, with no count: its stored row stands for nothing more, so each state is a row."""
    run, states = _plain("t1")
    assert shape(states, {"t1": run}, {"t1"}, {}).kept == states
    # Known with a count: the row goes on standing for the states after it.
    found = shape(states[1:], {"t1": run}, {"t1"}, {"t1": 1})
    assert (found.kept, found.counts) == ([], {"t1": 3})


def test_a_state_of_another_flow_run_or_a_later_time_breaks_the_sequence() -> None:
    run, states = _plain("t1")
    states[1] = StateRecord("t1", "f2", True, states[1].state)
    found = shape(states, {"t1": run}, set(), {})
    assert found.kept == states[1:]  # once one state is a row, all later ones are
    assert found.counts == {"t1": 1}
    run, states = _plain("t2")
    states[2].state.ts = BASE + 3  # not the end time its row holds
    assert shape(states, {"t2": run}, set(), {}).kept == states[2:]


def test_stored_runs_says_which_of_a_batch_it_stored() -> None:
    stored = StoredRuns()
    first, _ = _plain("t1")
    running = TaskRunRecord("t2", "f1", "t", "k", 0, State(R, timestamp=BASE), BASE)
    stored.update([first, running])
    assert stored.among(["t1", "t2", "t3"]) == {"t1", "t2"}
    stored.update([])  # a finished run leaves after one more write; an open one stays
    assert stored.among({"t1", "t2"}) == {"t2"}
    assert "t2" in stored and "t1" not in stored
