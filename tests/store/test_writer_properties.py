"""The writer against a reference model: any sequence of records, flushes and failed writes stores the same.

Hypothesis draws sequences of every record the writer takes, with flushes
between them and writes that fail (an I/O error at their first statement, or a
commit DuckDB made durable before failing). After `close`, the DuckDB file
must hold exactly what a plain in-memory model holds after applying the same
records one by one: the runs with their latest state, the history in order,
logs, events, edges and schedule slots. The short form runs in the normal
suite; `ORC_PROPERTY_LONG=1` runs many more examples.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.states import State, StateType
from orchestrate.store import health
from orchestrate.store.batch import EventPruning, RunDeletion, SlotRecord
from orchestrate.store.migrations import migrate
from orchestrate.store.writer import StoreWriter
from tests.store.faulty import Faults

LONG = os.environ.get("ORC_PROPERTY_LONG") == "1"
EXAMPLES = 1_000 if LONG else 30
BASE = 1_700_000_000.0

FLOW_IDS = ["f0", "f1", "f2", "f3"]
TASK_IDS = ["t0", "t1", "t2"]
STATES = [
    (StateType.SCHEDULED, "Scheduled"),
    (StateType.PENDING, "Pending"),
    (StateType.RUNNING, "Running"),
    (StateType.COMPLETED, "Completed"),
    (StateType.FAILED, "Failed"),
    (StateType.CRASHED, "Crashed"),
]

#: One step: a record to put (drawn as a tuple, built with its sequence number), a flush, or a fault.
steps = st.one_of(
    st.tuples(st.just("flow_run"), st.sampled_from(FLOW_IDS), st.sampled_from(STATES)),
    st.tuples(st.just("task_run"), st.sampled_from(TASK_IDS), st.sampled_from(STATES)),
    st.tuples(st.just("state"), st.sampled_from(FLOW_IDS + TASK_IDS), st.sampled_from(STATES)),
    st.tuples(st.just("log"), st.sampled_from(FLOW_IDS), st.sampled_from([None, *TASK_IDS])),
    st.tuples(st.just("event"), st.sampled_from(FLOW_IDS)),
    st.tuples(st.just("edge"), st.sampled_from(TASK_IDS), st.sampled_from(TASK_IDS)),
    st.tuples(st.just("slot"), st.sampled_from(["k0", "k1", "k2"]), st.sampled_from(FLOW_IDS)),
    st.tuples(st.just("delete"), st.sets(st.sampled_from(FLOW_IDS), min_size=1, max_size=2)),
    st.tuples(st.just("prune"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flush")),
    st.tuples(st.just("fail"), st.integers(1, 3)),
    st.tuples(st.just("durable")),
)


@dataclass
class Model:
    """What the store must hold: each record applied in order, as plainly as possible."""

    flow_runs: dict[str, str] = field(default_factory=dict)
    task_runs: dict[str, str] = field(default_factory=dict)
    history: list[tuple[str, str, float]] = field(default_factory=list)
    logs: list[tuple[str, float]] = field(default_factory=list)
    events: list[tuple[str, float]] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)

    def apply(self, record: Any) -> None:
        if isinstance(record, FlowRunRecord):
            self.flow_runs[record.id] = record.state.name
        elif isinstance(record, TaskRunRecord):
            self.task_runs[record.id] = record.state.name
        elif isinstance(record, StateRecord):
            self.history.append((record.run_id, record.state.name, record.state.ts))
        elif isinstance(record, LogRecord):
            self.logs.append((record.message, record.ts))
        elif isinstance(record, EventRecord):
            self.events.append((record.id, record.occurred))
        elif isinstance(record, EdgeRecord):
            self.edges.append((record.task_run_id, record.upstream_id))
        elif isinstance(record, SlotRecord):
            self.slots[record.key] = record.flow_run_id
        elif isinstance(record, RunDeletion):
            self._delete(set(record.flow_run_ids))
        elif isinstance(record, EventPruning):
            self.events = [e for e in self.events if e[1] >= record.before]

    def _delete(self, gone: set[str]) -> None:
        self.flow_runs = {k: v for k, v in self.flow_runs.items() if k not in gone}
        self.history = [h for h in self.history if h[0] not in gone]
        self.slots = {k: v for k, v in self.slots.items() if v not in gone}


def _state(kind: tuple[StateType, str], ts: float) -> State:
    data = ValueError("boom") if kind[0] is StateType.FAILED else None
    return State(kind[0], kind[1], message=f"at {ts}", data=data, timestamp=ts)


def _record(step: tuple[Any, ...], seq: int, last_event: float) -> Any:
    """The record a step puts; `seq` makes every time and text unique and increasing."""
    ts = BASE + seq
    kind = step[0]
    if kind == "flow_run":
        return FlowRunRecord(step[1], f"run-{seq}", "etl", {"seq": seq}, _state(step[2], ts), ts)
    if kind == "task_run":
        return TaskRunRecord(step[1], "f0", "task", "key", seq, _state(step[2], ts), ts)
    if kind == "state":
        return StateRecord(step[1], "f0", step[1].startswith("t"), _state(step[2], ts))
    if kind == "log":
        return LogRecord(step[1], step[2], ts, 20, "orc", f"line {seq}")
    if kind == "event":
        return EventRecord(f"e{seq}", ts, "orc.flow-run.Running", {"orc.resource.id": step[1]})
    if kind == "edge":
        return EdgeRecord("f0", step[1], f"{step[2]}-{seq}", "data")
    if kind == "slot":
        return SlotRecord(step[1], step[2], "d", "s", ts)
    if kind == "delete":
        return RunDeletion(tuple(sorted(step[1])))
    # Retention prunes the past: never past the newest event, so order within a flush can't matter.
    return EventPruning(before=BASE + round(step[1] * (last_event - BASE)))


def _stored(conn: duckdb.DuckDBPyConnection) -> Model:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql).fetchall()

    epoch = "epoch(ts)"
    return Model(
        flow_runs=dict(rows("SELECT id, state_name FROM flow_runs")),
        task_runs=dict(rows("SELECT id, state_name FROM task_runs")),
        history=rows(f"SELECT run_id, state_name, {epoch} FROM state_history ORDER BY ts, rowid"),
        logs=rows(f"SELECT message, {epoch} FROM logs ORDER BY ts, rowid"),
        events=rows("SELECT id, epoch(occurred) FROM events ORDER BY occurred, rowid"),
        edges=sorted(rows("SELECT task_run_id, upstream_id FROM task_run_edges")),
        slots=dict(rows("SELECT key, flow_run_id FROM schedule_slots")),
    )


@contextmanager
def _quick_backoff() -> Iterator[None]:
    """Failed writes pause 1 ms, not 0.1 s and up: the pauses have their own test."""
    with (
        mock.patch.object(health, "FIRST_BACKOFF", 0.001),
        mock.patch.object(health, "MAX_BACKOFF", 0.004),
    ):
        yield


def _run(writer: StoreWriter, faults: Faults | None, plan: list[Any]) -> Model:
    model = Model()
    last_event = BASE
    for seq, step in enumerate(plan):
        if step[0] == "flush":
            assert writer.flush(30)
        elif step[0] == "fail":
            if faults is not None:
                faults.fail_writes += step[1]
        elif step[0] == "durable":
            if faults is not None:
                faults.fatal_after_commit = True
        else:
            record = _record(step, seq, last_event)
            last_event = record.occurred if isinstance(record, EventRecord) else last_event
            model.apply(record)
            writer.put(record)
    if faults is not None:
        faults.fail_writes = 0  # the disk is back before the process ends: close's one try works
    writer.close()
    assert writer.set_aside == []
    model.edges.sort()
    return model


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=st.lists(steps, max_size=60), shared=st.booleans())
def test_the_store_holds_what_the_model_holds(plan: list[Any], shared: bool) -> None:
    with tempfile.TemporaryDirectory() as folder, _quick_backoff():
        path = Path(folder) / "orc.duckdb"
        if shared:  # the daemon's way: one connection it owns, writes that can fail
            conn = duckdb.connect(str(path))
            migrate(conn, path)
            faults = Faults(conn)
            writer = StoreWriter(path, connection=faults)  # type: ignore[arg-type]
            model = _run(writer, faults, plan)
            stored = _stored(conn)
            conn.close()
        else:  # a flow run from plain Python: the writer opens the file and lets go when idle
            model = _run(StoreWriter(path), None, plan)
            if not path.exists():
                assert model == Model()
                return
            with duckdb.connect(str(path)) as conn:
                stored = _stored(conn)
    assert stored == model
