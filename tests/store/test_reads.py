"""`Store` reads: filters, prefixes, task runs with upstreams, logs, subflows, missing files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.errors import RunNotFound
from orchestrate.core.records import EdgeRecord, LogRecord, Record, StateRecord
from orchestrate.states import Completed, Failed, Pending, Running, State
from orchestrate.store import Store, StoreWriter


def _write(path: Path, records: list[Record]) -> None:
    writer = StoreWriter(path)
    for record in records:
        writer.put(record)
    assert writer.flush(10)
    writer.close()


def _at(state: State, ts: float) -> State:
    """States stamp themselves with now; tests pin the time."""
    state.ts = ts
    return state


@pytest.fixture
def store_file(tmp_path: Path, build: SimpleNamespace) -> Path:
    """Three runs of two flows; run `abc1` has three task runs, logs and a subflow run."""
    path = tmp_path / ".orc" / "orc.duckdb"
    base = 1_700_000_000.0
    records: list[Record] = [
        build.flow_run("abc1", Failed(message="boom"), created=base, flow_name="etl"),
        build.flow_run("abc2", Completed(), created=base + 10, flow_name="etl"),
        build.flow_run("xyz9", Running(), created=base + 20, flow_name="report", end_time=None),
        build.task_run("t-extract", "abc1", Completed(), start_time=base + 1, name="extract"),
        build.task_run(
            "t-load",
            "abc1",
            Failed(),
            start_time=base + 2,
            end_time=base + 2.25,
            name="load",
            run_count=3,
        ),
        build.task_run("t-sub", "abc1", Completed(), start_time=base + 3, kind="subflow"),
        build.flow_run("child", Completed(), created=base + 4, parent_task_run_id="t-sub"),
        EdgeRecord("abc1", "t-load", "t-extract", "data"),
        LogRecord("abc1", "t-load", base + 2.5, 40, "orc.task", "load failed"),
        LogRecord("abc1", None, base + 0.5, 20, "orc.flow", "starting"),
        StateRecord("abc1", "abc1", False, _at(Pending(), base)),
        StateRecord("abc1", "abc1", False, _at(Running(), base + 0.1)),
        StateRecord("abc1", "abc1", False, _at(Failed(message="boom"), base + 3)),
    ]
    _write(path, records)
    return path


def test_lists_newest_first_with_task_run_counts(store_file: Path) -> None:
    with Store(store_file) as store:
        runs = store.list_flow_runs()
    assert [r.id for r in runs] == ["xyz9", "abc2", "child", "abc1"]
    assert runs[-1].task_run_counts == {"Completed": 2, "Failed": 1}
    assert runs[-1].duration_seconds == pytest.approx(1.5)


def test_filters_by_state_name_or_type_and_by_flow(store_file: Path) -> None:
    with Store(store_file) as store:
        assert [r.id for r in store.list_flow_runs(state="failed")] == ["abc1"]
        assert [r.id for r in store.list_flow_runs(state="COMPLETED", limit=1)] == ["abc2"]
        assert [r.id for r in store.list_flow_runs(flow="report")] == ["xyz9"]


def test_resolves_unique_prefixes_and_names_ambiguous_ones(store_file: Path) -> None:
    with Store(store_file) as store:
        assert store.get_flow_run("xy").id == "xyz9"
        assert store.get_flow_run("abc1").id == "abc1"
        with pytest.raises(RunNotFound, match=r"abc1.*abc2|abc2.*abc1"):
            store.get_flow_run("abc")
        with pytest.raises(RunNotFound, match=r"No flow run matches 'nope'.*orc runs ls"):
            store.get_flow_run("nope")


def test_task_runs_carry_upstreams_attempts_and_order(store_file: Path) -> None:
    with Store(store_file) as store:
        task_runs = store.task_runs("abc1")
    assert [t.name for t in task_runs] == ["extract", "load", "task-t-sub"]
    load = task_runs[1]
    assert load.upstream == [("t-extract", "data")]
    assert load.run_count == 3
    assert load.duration_seconds == pytest.approx(0.25)


def test_logs_come_in_time_order_with_task_run_names(store_file: Path) -> None:
    with Store(store_file) as store:
        lines = store.logs("abc1")
    assert [(line.message, line.task_run_name) for line in lines] == [
        ("starting", None),
        ("load failed", "load"),
    ]


def test_state_history_and_subflows(store_file: Path) -> None:
    with Store(store_file) as store:
        assert [e.state.name for e in store.state_history("abc1")] == [
            "Pending",
            "Running",
            "Failed",
        ]
        assert [r.id for r in store.child_flow_runs("abc1")] == ["child"]


def test_a_missing_file_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / ".orc" / "orc.duckdb"
    with Store(path) as store:
        assert store.list_flow_runs() == []
        assert store.logs("x") == []
        with pytest.raises(RunNotFound):
            store.get_flow_run("x")
    assert not path.exists()
    assert not path.parent.exists()
