"""`Store` reads: filters, prefixes, task runs with upstreams, logs, subflows, missing files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.errors import RunNotFound
from orchestrate.core.records import EdgeRecord, EventRecord, LogRecord, Record, StateRecord
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


def test_related_by_role_reads_each_resources_related_ids_of_that_role(tmp_path: Path) -> None:
    path = tmp_path / ".orc" / "orc.duckdb"

    def event(n: int, name: str, resource: str, *related: tuple[str, str]) -> EventRecord:
        named = [{"orc.resource.id": rid, "orc.resource.role": role} for rid, role in related]
        return EventRecord(f"e{n}", 1_000.0 + n, name, {"orc.resource.id": resource}, {}, named)

    b, a, flow = ("auto.b", "automation"), ("auto.a", "automation"), ("orc.flow.f", "flow")
    _write(path, [
        event(0, "run.Scheduled", "r1", b, a, flow),
        event(1, "run.Running", "r1", a, flow),
        event(2, "run.Running", "r2", flow),  # names none of that role
        event(3, "other.thing", "r3", a),  # not a `run.*` event
        event(4, "run.Running", "r4", a),  # not asked for
        EventRecord("e5", 1_005.0, "run.Running", {"orc.resource.id": "r5"}, {},
                    [{"orc.resource.role": "automation"}]),  # no id to name
        event(6, "run.Scheduled", "r6", b),  # before `since`
    ])  # fmt: skip
    asked = ["r1", "r2", "r3", "r5", "r6", "r7"]
    with Store(path) as store:
        found = store.related_by_role(asked, "automation", name="run.*", since=1_000.0)
        assert found == {"r1": ("auto.a", "auto.b"), "r6": ("auto.b",)}
        late = store.related_by_role(asked, "automation", name="run.*", since=1_005.5)
        assert late == {"r6": ("auto.b",)}
        assert store.related_by_role([], "automation", name="run.*", since=0.0) == {}


def test_a_missing_file_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / ".orc" / "orc.duckdb"
    with Store(path) as store:
        assert store.list_flow_runs() == []
        assert store.logs("x") == []
        with pytest.raises(RunNotFound):
            store.get_flow_run("x")
    assert not path.exists()
    assert not path.parent.exists()


def test_unanswered_finds_the_latest_firings_with_fewer_outcomes_than_actions(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".orc" / "orc.duckdb"

    def fired(n: int, actions: int) -> EventRecord:
        payload = {"firing_id": f"f{n}", "actions": ["emit-event"] * actions}
        return EventRecord(f"t{n}", 1_000.0 + n, "fired", {"orc.resource.id": "a"}, payload)

    def outcome(n: int, firing: int, index: int, name: str = "done") -> EventRecord:
        payload = {"firing_id": f"f{firing}", "action_index": index}
        return EventRecord(f"o{n}", 1_000.5 + firing, name, {"orc.resource.id": "a"}, payload)

    _write(path, [
        fired(0, 2), outcome(0, 0, 0), outcome(1, 0, 1),  # answered in full
        fired(1, 3), outcome(2, 1, 0),  # one of three
        fired(2, 1),  # none
        fired(3, 1), outcome(3, 3, 0, "failed"),  # answered, by the other name
        EventRecord("t4", 1_004.0, "fired", {"orc.resource.id": "a"}, {"firing_id": "f4"}),
    ])  # fmt: skip
    with Store(path) as store:
        found = store.unanswered("fired", ("done", "failed"), "firing_id", "actions", 10)
        assert [(row.id, told) for row, told in found] == [("t1", [0]), ("t2", [])]
        assert found[0][0].payload["actions"] == ["emit-event"] * 3
        latest = store.unanswered("fired", ("done", "failed"), "firing_id", "actions", 2)
        assert [row.id for row, _ in latest] == []  # only t3 and t4 looked at
        assert [
            row.id for row, _ in store.unanswered("fired", ("done",), "firing_id", "actions", 3)
        ] == ["t2", "t3"]
