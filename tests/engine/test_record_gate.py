"""The gate of a task runner's threads: after `cut_off` their runs record nothing, not even a change under way."""

from __future__ import annotations

import signal
import threading
import time

from orchestrate.core.records import Record, StateRecord, TaskRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import Completed, Pending, Running
from orchestrate.engine.record_gate import RecordGate
from orchestrate.exceptions import TerminationSignal

WAIT = 30  # seconds: every wait below ends on a condition long before this
REASON = "Execution was aborted by a termination signal (SIGTERM)."


class HeldSink:
    """Keeps what is put; holds the thread that puts a Completed state until `release` is set."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def put(self, record: Record) -> None:
        if isinstance(record, StateRecord) and record.state.name == "Completed":
            self.holding.set()
            assert self.release.wait(WAIT)
        self.records.append(record)

    def states(self, run: TaskRunRecord) -> list[str]:
        states = [r for r in self.records if isinstance(r, StateRecord) and r.run_id == run.id]
        return [r.state.name for r in states]


def _running_run(sink: HeldSink) -> TaskRunRecord:
    run = TaskRunRecord(new_id(), "flow-run", "task-0", "task", 0, Pending(), time.time())
    transition(run, run.state, sink, initial=True)
    transition(run, Running(), sink)
    return run


def test_cut_off_records_unfinished_runs_crashed_and_refuses_every_later_change() -> None:
    sink = HeldSink()
    gate = RecordGate()
    run = _running_run(sink)
    gate.admit(run, sink)
    gate.cut_off(TerminationSignal(signal.SIGTERM))
    assert (run.state.name, run.state.message) == ("Crashed", REASON)
    assert gate.record(run, Completed(), sink) is False
    assert sink.states(run) == ["Pending", "Running", "Crashed"]


def test_a_change_under_way_ends_before_the_cut_off_records_anything() -> None:
    sink = HeldSink()
    gate = RecordGate()
    run = _running_run(sink)
    gate.admit(run, sink)
    waiting = threading.Event()

    class Watched(threading.Condition):
        def wait_for(self, predicate, timeout=None):  # type: ignore[no-untyped-def]
            waiting.set()
            return super().wait_for(predicate, timeout)

    gate._done = Watched()  # type: ignore[misc]
    finishing = threading.Thread(target=gate.record, args=(run, Completed(), sink))
    finishing.start()
    assert sink.holding.wait(WAIT)  # its Completed is on its way into the sink
    failures: list[BaseException] = []

    def cut_off() -> None:
        try:
            gate.cut_off(TerminationSignal(signal.SIGTERM))
        except BaseException as exc:
            failures.append(exc)

    cutting = threading.Thread(target=cut_off)
    cutting.start()
    assert waiting.wait(WAIT)  # the cut-off waits for the change under way
    sink.release.set()
    finishing.join(WAIT)
    cutting.join(WAIT)
    assert failures == []
    assert sink.states(run) == ["Pending", "Running", "Completed"]  # it finished: nothing after
    assert run.state.name == "Completed"


def test_the_gate_of_a_runner_entered_on_a_gated_thread_is_cut_off_with_it() -> None:
    sink = HeldSink()
    outer = RecordGate()
    inner = RecordGate(outer)
    run = _running_run(sink)
    inner.admit(run, sink)
    outer.cut_off(TerminationSignal(signal.SIGTERM))
    assert inner.shut and run.state.name == "Crashed"
