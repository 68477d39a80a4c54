"""Value records (states, edges, logs, events) compare and hash by value, as when they were frozen."""

from __future__ import annotations

import dataclasses

import pytest

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
