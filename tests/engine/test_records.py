"""Records hold what they say: value records compare and hash by value, as when they were
frozen, and a new task run's record has each value in its own field."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.core.records import EdgeRecord, EventRecord, LogRecord, StateRecord
from orchestrate.states import Completed


def test_state_edge_and_log_records_are_equal_and_hash_alike_by_value() -> None:
    state = Completed()
    pairs = [
        (StateRecord("t1", "f1", True, state), StateRecord("t1", "f1", True, state)),
        (EdgeRecord("f1", "t1", "t0", "data"), EdgeRecord("f1", "t1", "t0", "data")),
        (LogRecord("f1", None, 1.5, 20, "x", "hi"), LogRecord("f1", None, 1.5, 20, "x", "hi")),
    ]
    for one, other in pairs:
        assert one == other and one is not other
        assert hash(one) == hash(other)
        assert len({one, other}) == 1
    assert StateRecord("t1", "f1", True, state) != StateRecord("t2", "f1", True, state)


def test_an_event_compares_by_value_and_replace_still_copies() -> None:
    event = EventRecord("e1", 1.0, "orc.test", {"id": "r"}, {"n": 1})
    assert event == EventRecord("e1", 1.0, "orc.test", {"id": "r"}, {"n": 1})
    with pytest.raises(TypeError):
        hash(event)  # its payload is a dict: unhashable, as it was when frozen
    copy = dataclasses.replace(event, event="orc.other")
    assert (copy.event, event.event) == ("orc.other", "orc.test")


def test_a_new_task_runs_record_has_each_value_in_its_own_field(recorded: Any) -> None:
    # The engine builds the record positionally (keywords cost ~0.4 us of every task run):
    # a field moved in `TaskRunRecord` must fail here, not swap two columns of the store.
    @task(tags=["b", "a"])
    def child(x: int) -> int:
        return x

    @task
    def parent() -> int:
        return child(1) + child(2)

    @flow
    def family() -> int:
        return parent()

    before = time.time()
    assert family() == 3
    after = time.time()
    run = recorded.task_run("child-1")
    assert uuid.UUID(run.id).version == 4
    assert recorded.history(run.id) == ["Pending", "Running", "Completed"]
    assert run.flow_run_id == recorded.flow_runs()[0].id
    assert (run.name, run.task_key, run.dynamic_key) == ("child-1", child.task_key, 1)
    assert run.state.name == "Completed"
    assert isinstance(run.created, float) and before <= run.created <= after
    assert (run.kind, run.tags) == ("task", ("a", "b"))
    assert run.parent_task_run_id == recorded.task_run("parent-0").id
