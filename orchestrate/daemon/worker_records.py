"""What a worker has recorded of its flow run, and the records the supervisor adds of its own.

The supervisor must record an end for whatever a worker leaves behind: the
flow run's final state when the worker never recorded one, and a final state
for each task run and subflow run it started but never finished. For that it
follows the worker's records as they pass (`RecordedRun`). Its own lines in
the run's logs and its `orc.worker.*` events are built here too, so every
part of the supervisor words them the same way.
"""

from __future__ import annotations

import time
from typing import Any

from orchestrate.core.records import (
    EventRecord,
    FlowRunRecord,
    LogRecord,
    Record,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.runs import new_id
from orchestrate.core.states import State
from orchestrate.daemon.leftovers import end_leftovers


class RecordBatch(list[Record]):
    """Records collected to be handed on as one batch; `transition` puts into it."""

    def put(self, record: Record) -> None:
        self.append(record)


class RecordedRun:
    """The flow run as the worker's records tell it so far."""

    def __init__(self, flow_run_id: str) -> None:
        self.flow_run_id = flow_run_id
        #: The latest state of the flow run seen in the worker's records.
        self.last_state: State | None = None
        #: The latest record of the flow run itself.
        self.last_run: FlowRunRecord | None = None
        #: Task runs and subflow runs the worker started and has not finished (see `leftovers`).
        self.open: dict[str, TaskRunRecord | FlowRunRecord] = {}
        #: Every task run and subflow run the worker has reported, final or not.
        self.seen: set[str] = set()

    def take(self, records: list[Record]) -> None:
        """Follow the flow run's state and its open task runs and subflow runs in `records`."""
        for r in records:
            if isinstance(r, StateRecord) and r.run_id == self.flow_run_id:
                self.see(r.state)
            elif isinstance(r, FlowRunRecord) and r.id == self.flow_run_id:
                self.last_run = r
                self.see(r.state)
            elif isinstance(r, TaskRunRecord | FlowRunRecord):  # a task run or a subflow run
                self.seen.add(r.id)
                if r.state.is_final():
                    self.open.pop(r.id, None)
                else:
                    self.open[r.id] = r

    def see(self, state: State) -> None:
        # A worker's run never leaves a final state; a snapshot can run ahead of its history.
        if self.last_state is None or not self.last_state.is_final():
            self.last_state = state

    def final_state(self) -> State | None:
        """The final state the worker recorded for its flow run, if it got that far."""
        last = self.last_state
        if last is not None and (last.is_final() or last.is_paused()):
            return last  # a paused run whose worker ends waits for a resume: that is its end
        return None

    def end_leftovers(self, final: State) -> list[Record]:
        """End every run still open now that the flow run ended in `final`; what that records."""
        records = RecordBatch()
        ended = end_leftovers(self.open.values(), final, records)
        self.open.clear()
        return records if ended else []


def note(flow_run_id: str, level: int, message: str) -> LogRecord:
    """A line of the supervisor's own in the run's logs."""
    return LogRecord(flow_run_id, None, time.time(), level, "orc.supervisor", message)


def worker_event(
    flow_run_id: str, deployment: str, pid: int, name: str, payload: dict[str, Any]
) -> EventRecord:
    """An `orc.worker.*` event about worker `pid`, related to its flow run and deployment."""
    related = [
        {"orc.resource.id": f"orc.flow-run.{flow_run_id}", "orc.resource.role": "flow-run"},
        {"orc.resource.id": f"orc.deployment.{deployment}", "orc.resource.role": "deployment"},
    ]
    resource = {"orc.resource.id": f"orc.worker.{pid}"}
    return EventRecord(new_id(), time.time(), name, resource, payload, related)


__all__ = ["RecordBatch", "RecordedRun", "note", "worker_event"]
