"""Records survive the trip through JSON: what the store keeps, and nothing it must not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from orchestrate.core.record_codec import RecordedError, decode_records, encode_records
from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    LogRecord,
    StateRecord,
)
from orchestrate.states import (
    Completed,
    Crashed,
    Failed,
    Running,
    State,
    TimedOut,
    format_exception,
)
from orchestrate.store.encode import state_columns


def trip(records: list[Any]) -> list[Any]:
    return decode_records(json.loads(json.dumps(encode_records(records))))


def failed_state() -> State:
    try:
        raise KeyError("row 7")
    except KeyError as exc:
        state = Failed(message="KeyError: 'row 7'", data=exc)
        state.traceback = format_exception(exc)
    return state


def test_every_kind_of_record_comes_back_equal(build: Any) -> None:
    flow_run = build.flow_run("f1", Running(), tags=("a", "b"), deployment="etl", entrypoint="x.py:f",
                              parameters={"n": 3}, expected_start_time=1.5, flow_version="v1")  # fmt: skip
    task_run = build.task_run(
        "t1", "f1", Completed(), tags=("a",), cache_key="k", parent_task_run_id="t0"
    )
    records = [
        flow_run,
        task_run,
        StateRecord("t1", "f1", True, task_run.state),
        EdgeRecord("f1", "t1", "t0", "wait_for"),
        LogRecord("f1", "t1", 12.5, 20, "orc.task_runs", "héllo\nworld"),
        EventRecord("e1", 3.0, "shop.order", {"orc.resource.id": "o.1"}, {"n": 1}, [{"a": "b"}]),
    ]
    back = trip(records)
    assert [type(r) for r in back] == [type(r) for r in records]
    for original, copy in zip(records, back, strict=True):
        assert _fields(copy) == _fields(original)


def _fields(record: Any) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in record.__slots__}
    if "state" in values:
        values["state"] = state_columns(values["state"])
    return values


def test_a_failure_keeps_type_message_and_traceback_as_the_store_writes_them() -> None:
    state = failed_state()
    (record,) = trip([StateRecord("r", "r", False, state)])
    assert state_columns(record.state) == state_columns(state)
    assert state_columns(record.state)[4:6] == ("KeyError", "'row 7'")
    assert isinstance(record.state.exception, RecordedError)
    with pytest.raises(RecordedError, match="row 7"):
        record.state.result()


def test_an_error_outside_builtins_keeps_its_module() -> None:
    class LocalError(Exception):
        pass

    state = Crashed(message="boom", data=LocalError("boom"))
    (record,) = trip([StateRecord("r", "r", False, state)])
    assert state_columns(record.state)[4] == f"{__name__}.{LocalError.__qualname__}"


def test_results_never_travel() -> None:
    secret = object()
    (record,) = trip([StateRecord("r", "r", False, Completed(data=secret))])
    assert record.state.data is None
    assert "object at" not in json.dumps(
        encode_records([StateRecord("r", "r", False, Completed(data=secret))])
    )


@dataclass
class Window:
    start: date


def test_parameters_that_are_not_json_become_their_nearest_json(build: Any) -> None:
    run = build.flow_run(
        "f1", parameters={"window": Window(date(2026, 1, 2)), "ids": {3}, "obj": object()}
    )
    (back,) = trip([run])
    assert back.parameters["window"] == {"start": "2026-01-02"}
    assert back.parameters["ids"] == [3]
    assert back.parameters["obj"].startswith("<object object at")


def test_a_timed_out_state_keeps_its_name_and_type() -> None:
    (record,) = trip([StateRecord("r", "r", False, TimedOut(message="after 5s"))])
    assert (record.state.name, record.state.type.value, record.state.message) == (
        "TimedOut",
        "FAILED",
        "after 5s",
    )


def test_kinds_from_a_newer_version_are_skipped_and_extra_fields_ignored() -> None:
    items = [["metric", {"x": 1}], ["edge", {"flow_run_id": "f", "task_run_id": "t", "upstream_id": "u",
                                             "kind": "data", "weight": 2}]]  # fmt: skip
    assert decode_records(items) == [EdgeRecord("f", "t", "u", "data")]


@pytest.mark.parametrize(
    "items", [[["log", {"flow_run_id": "f"}]], [["log"]], ["log"], [[1, 2, 3]]]
)
def test_malformed_items_raise_a_value_error_naming_the_item(items: list[Any]) -> None:
    with pytest.raises(ValueError, match="Record 0"):
        decode_records(items)
