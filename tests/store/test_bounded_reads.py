"""Newest-first reads scan a widening time window and still answer what a full scan would."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from orchestrate.core.records import Record
from orchestrate.states import Completed, Scheduled
from orchestrate.store import Store, StoreWriter
from orchestrate.store.windows import first_span

DAY = 86_400.0
NOW = 1_700_000_000.0


def _write(path: Path, records: list[Record]) -> None:
    writer = StoreWriter(path)
    for record in records:
        writer.put(record)
    assert writer.flush(10)
    writer.close()


def _spread(build: SimpleNamespace, deployment: str, count: int, gap: float) -> list[Record]:
    """`count` finished runs of one deployment, one every `gap` seconds back from NOW."""
    return [
        build.flow_run(
            f"{deployment}-{i:03d}", Completed(), created=NOW - i * gap, deployment=deployment
        )
        for i in range(count)
    ]


def test_a_listing_reaches_past_the_first_window_for_old_runs(
    tmp_path: Path, build: SimpleNamespace
) -> None:
    path = tmp_path / "orc.duckdb"
    _write(path, _spread(build, "busy", 5, 60) + _spread(build, "yearly", 4, 90 * DAY)[1:])
    with Store(path) as store:
        listed = [r.id for r in store.list_flow_runs(limit=8)]
    assert listed == [f"busy-{i:03d}" for i in range(5)] + [
        "yearly-001",
        "yearly-002",
        "yearly-003",
    ]


def test_a_run_sorts_by_its_slot_not_by_when_it_was_created(
    tmp_path: Path, build: SimpleNamespace
) -> None:
    """A backfilled run is created now for a slot of last month: it lists with last month."""
    path = tmp_path / "orc.duckdb"
    backfilled = build.flow_run(
        "backfilled", Completed(), created=NOW, expected_start_time=NOW - 30 * DAY
    )
    _write(path, [*_spread(build, "busy", 3, 3 * first_span()), backfilled])
    with Store(path) as store:
        listed = [r.id for r in store.list_flow_runs(limit=4)]
    assert listed == ["busy-000", "busy-001", "busy-002", "backfilled"]


def test_upcoming_runs_far_ahead_are_still_found(tmp_path: Path, build: SimpleNamespace) -> None:
    path = tmp_path / "orc.duckdb"
    ahead = build.flow_run(
        "ahead",
        Scheduled(),
        created=NOW,
        expected_start_time=4e9,
        start_time=None,
        end_time=None,
        run_count=0,
    )
    _write(path, [*_spread(build, "busy", 3, 60), ahead])
    with Store(path) as store:
        assert [r.id for r in store.list_flow_runs(scheduled=True)] == ["ahead"]
        assert [r.id for r in store.list_flow_runs(limit=2)] == ["busy-000", "busy-001"]


def test_the_dashboard_keeps_ten_runs_of_every_deployment_however_old(
    tmp_path: Path, build: SimpleNamespace
) -> None:
    path = tmp_path / "orc.duckdb"
    _write(path, _spread(build, "hourly", 30, 3600) + _spread(build, "monthly", 12, 30 * DAY))
    with Store(path) as store:
        recent = store.recent_by_deployment(10)
    assert [r.id for r in recent["hourly"]] == [f"hourly-{i:03d}" for i in range(10)]
    assert [r.id for r in recent["monthly"]] == [f"monthly-{i:03d}" for i in range(10)]


def test_subflow_runs_are_found_by_either_parent_in_creation_order(
    tmp_path: Path, build: SimpleNamespace
) -> None:
    path = tmp_path / "orc.duckdb"
    _write(path, [
        build.flow_run("parent", Completed(), created=NOW),
        build.task_run("parent-t", "parent", Completed()),
        build.flow_run("by-task", Completed(), created=NOW + 2, parent_task_run_id="parent-t"),
        build.flow_run("by-flow", Completed(), created=NOW + 1, parent_flow_run_id="parent"),
        build.flow_run("other", Completed(), created=NOW + 3),
    ])  # fmt: skip
    with Store(path) as store:
        assert [r.id for r in store.child_flow_runs("parent")] == ["by-flow", "by-task"]


def test_the_parent_columns_are_indexed(tmp_path: Path, build: SimpleNamespace) -> None:
    import duckdb

    path = tmp_path / "orc.duckdb"
    _write(path, [build.flow_run("one", Completed())])
    conn = duckdb.connect(str(path), read_only=True)
    with conn:
        names = {
            row[0] for row in conn.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
        }
    assert {"flow_runs_by_parent_flow_run", "flow_runs_by_parent_task_run"} <= names
