"""A worker's last batch holds its task runs' states and its flow run's end: every task-run
state still becomes its event.

A real `Daemon` with no worker started; the batch is built with the engine's own
`transition`, in the order a worker sends it (the flow's end after its tasks').
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrate.core.records import EventRecord, FlowRunRecord, Record, TaskRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.recorder import record_batch
from orchestrate.daemon.service import Daemon
from tests.daemon.test_memory_per_run import _daemon


class KeepingWriter:
    def __init__(self) -> None:
        self.records: list[Any] = []

    def put(self, record: Any) -> None:
        self.records.append(record)


def test_task_run_states_in_the_batch_that_ends_the_flow_run_become_events(
    tmp_path: Path,
) -> None:
    daemon: Daemon = _daemon(tmp_path)
    writer = KeepingWriter()
    daemon.writer = writer  # type: ignore[assignment]
    run = daemon.create_manual("tiny", {})
    transition(run, State(StateType.PENDING, "Pending"), daemon)  # the dispatch
    batch: list[Record] = []
    sink = type("Sink", (), {"put": lambda self, record: batch.append(record)})()
    worker_run = daemon.book.get(run.id)
    assert worker_run is not None
    flow = replace(worker_run)  # the worker's own copy of the run
    transition(flow, State(StateType.RUNNING, "Running"), sink)
    record_batch(daemon, _as_sent(batch))  # the first record goes at once, alone
    batch.clear()
    task = TaskRunRecord(
        id="task-1", flow_run_id=run.id, name="one-0", task_key="one", dynamic_key=0,
        state=State(StateType.PENDING, "Pending"), created=time.time(),
    )  # fmt: skip
    transition(task, task.state, sink, initial=True)
    for kind, name in ((StateType.RUNNING, "Running"), (StateType.COMPLETED, "Completed")):
        transition(task, State(kind, name), sink)
    transition(flow, State(StateType.COMPLETED, "Completed"), sink)
    record_batch(daemon, _as_sent(batch))
    events = [r.event for r in writer.records if isinstance(r, EventRecord)]
    assert events == [
        "orc.flow-run.Pending",
        "orc.flow-run.Running",
        "orc.task-run.Pending",
        "orc.task-run.Running",
        "orc.task-run.Completed",
        "orc.flow-run.Completed",
    ]


def test_a_subflow_run_begun_and_ended_in_one_batch_has_its_events(tmp_path: Path) -> None:
    """A quick subflow's only snapshot comes last, after its own and its task runs' states
    (and a nested subflow's before its parent's): those became no events at all, so an
    automation on the subflow's `Completed` missed it whenever the worker was quick."""
    daemon: Daemon = _daemon(tmp_path)
    writer = KeepingWriter()
    daemon.writer = writer  # type: ignore[assignment]
    _nested_subflows_in_one_batch(daemon, daemon.create_manual("tiny", {}))
    assert _told(writer, "outer", "inner", "one-0") == [
        ("outer", "Pending", False),
        ("outer", "Running", False),
        ("inner", "Pending", False),
        ("inner", "Running", False),
        ("one-0", "Pending", False),
        ("one-0", "Completed", False),
        ("inner", "Completed", False),
        ("outer", "Completed", False),
    ]
    assert daemon.known_run("outer") is not None and daemon.book.get("outer") is None


def test_a_subflow_runs_events_name_the_automations_that_made_the_run_it_is_part_of(
    tmp_path: Path,
) -> None:
    """However deep: its task runs' events too. Else an automation that runs a deployment
    on its subflow's `Completed` runs it again on the subflow of the run it made."""
    daemon: Daemon = _daemon(tmp_path)
    writer = KeepingWriter()
    daemon.writer = writer  # type: ignore[assignment]
    run = daemon.create_manual("tiny", {}, caused_by=["orc.automation.again"])
    _nested_subflows_in_one_batch(daemon, run)
    told = _told(writer, "outer", "inner", "one-0")
    assert len(told) == 8 and all(named for _, _, named in told)


def test_an_event_a_subflow_run_emits_names_the_automations_that_made_the_run_it_is_part_of(
    tmp_path: Path,
) -> None:
    """Even one begun in the batch that holds the event, whose snapshot comes after it:
    else an automation on that event makes a run whose subflow emits it again."""
    daemon: Daemon = _daemon(tmp_path)
    writer = KeepingWriter()
    daemon.writer = writer  # type: ignore[assignment]
    run = daemon.create_manual("tiny", {}, caused_by=["orc.automation.again"])
    _nested_subflows_in_one_batch(daemon, run)
    (event,) = [r for r in writer.records if isinstance(r, EventRecord) and r.id == "e-1"]
    assert event.related == [
        {"orc.resource.id": "orc.flow-run.inner", "orc.resource.role": "flow-run"},
        {"orc.resource.id": "orc.automation.again", "orc.resource.role": "automation"},
    ]


def test_a_subflow_run_that_names_itself_its_parent_is_no_loop_in_the_daemon(
    tmp_path: Path,
) -> None:
    """A worker's records are not trusted: a parent link that comes back round ends the
    search for the run's chain rather than the daemon."""
    daemon: Daemon = _daemon(tmp_path)
    writer = KeepingWriter()
    daemon.writer = writer  # type: ignore[assignment]
    daemon.create_manual("tiny", {}, caused_by=["orc.automation.again"])
    batch: list[Record] = []
    sink = type("Sink", (), {"put": lambda self, record: batch.append(record)})()
    _subflow("odd", "odd", sink)
    record_batch(daemon, _as_sent(batch))
    assert _told(writer, "odd") == [("odd", "Pending", False), ("odd", "Running", False)]


def _nested_subflows_in_one_batch(daemon: Daemon, run: FlowRunRecord) -> None:
    """`run` starts; then, in one batch, subflow `outer` runs subflow `inner`, which runs a
    task and emits `acme.thing.done` (`emit_event`)."""
    transition(run, State(StateType.PENDING, "Pending"), daemon)  # the dispatch
    batch: list[Record] = []
    sink = type("Sink", (), {"put": lambda self, record: batch.append(record)})()
    flow = replace(run)  # the worker's own copy of the run
    transition(flow, State(StateType.RUNNING, "Running"), sink)
    record_batch(daemon, _as_sent(batch))
    batch.clear()
    outer = _subflow("outer", run.id, sink)
    inner = _subflow("inner", outer.id, sink)
    task = TaskRunRecord(
        id="task-1", flow_run_id=inner.id, name="one-0", task_key="one", dynamic_key=0,
        state=State(StateType.PENDING, "Pending"), created=time.time(),
    )  # fmt: skip
    transition(task, task.state, sink, initial=True)
    transition(task, State(StateType.COMPLETED, "Completed"), sink)
    sink.put(EventRecord("e-1", time.time(), "acme.thing.done", {"orc.resource.id": "acme.thing"},
                         related=[{"orc.resource.id": "orc.flow-run.inner", "orc.resource.role": "flow-run"}]))  # fmt: skip
    transition(inner, State(StateType.COMPLETED, "Completed"), sink)
    transition(outer, State(StateType.COMPLETED, "Completed"), sink)
    record_batch(daemon, _as_sent(batch))


def _told(writer: KeepingWriter, *names: str) -> list[tuple[str, str, bool]]:
    """The events of the runs named `names`: run, state, and whether they name `again`."""
    again = {"orc.resource.id": "orc.automation.again", "orc.resource.role": "automation"}
    return [
        (r.resource["orc.resource.name"], r.event.rsplit(".", 1)[1], again in r.related)
        for r in writer.records
        if isinstance(r, EventRecord) and r.resource.get("orc.resource.name") in names
    ]


def _subflow(name: str, parent_id: str, sink: Any) -> FlowRunRecord:
    """A subflow run as the engine starts one: Pending, then Running."""
    sub = FlowRunRecord(
        id=name, name=name, flow_name=name, parameters={}, state=State(StateType.PENDING, "Pending"),
        created=time.time(), parent_flow_run_id=parent_id,
    )  # fmt: skip
    transition(sub, sub.state, sink, initial=True)
    transition(sub, State(StateType.RUNNING, "Running"), sink)
    return sub


def _as_sent(batch: list[Record]) -> list[Record]:
    """As a worker's sink sends a batch: each run's snapshot once, at its last place, as it is
    then (`recording.stream`), decoded by the daemon into objects of their own."""
    last = {id(r): n for n, r in enumerate(batch) if isinstance(r, FlowRunRecord | TaskRunRecord)}
    return [
        replace(r) if isinstance(r, FlowRunRecord | TaskRunRecord) else r
        for n, r in enumerate(batch)
        if not isinstance(r, FlowRunRecord | TaskRunRecord) or last[id(r)] == n
    ]
