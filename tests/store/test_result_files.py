"""A pruned run's persisted results leave with it; a cache entry a kept run uses stays."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.engine.results import ResultStore, _filename
from orchestrate.states import Completed
from orchestrate.store import StoreWriter, pruning
from orchestrate.store.connection import connect
from orchestrate.store.result_files import result_filename

DAY = 86400.0
NOW = time.time()
LONG_KEY = "a cache key with spaces and more than a hundred and twenty characters " * 3


@pytest.fixture
def project(tmp_path: Path, build: SimpleNamespace) -> tuple[Path, Path]:
    """An old run and a new one; both cached a task under one key, the old one under its own too."""
    path, results = tmp_path / "orc.duckdb", tmp_path / "results"
    writer = StoreWriter(path)
    for run_id, age in (("old", 40), ("new", 1)):
        ended = NOW - age * DAY
        writer.put(build.flow_run(run_id, Completed(), created=ended - 5, start_time=ended - 5,
                                  end_time=ended))  # fmt: skip
        writer.put(build.task_run(f"{run_id}-shared", run_id, Completed(), cache_key="shared"))
        writer.put(build.task_run(f"{run_id}-own", run_id, Completed(), cache_key=f"{run_id} key"))
        writer.put(build.task_run(f"{run_id}-plain", run_id, Completed()))
    writer.close()
    store = ResultStore(results)
    for key in ("old", "old-plain", "old key", "shared", "new", "new-plain", "new key"):
        store.write(key, key)
    return path, results


def _left(results: Path) -> set[str]:
    store = ResultStore(results)
    keys = ("old", "old-plain", "old key", "shared", "new", "new-plain", "new key")
    return {k for k in keys if store.read(k) is not None}


def test_a_prune_removes_the_results_of_the_runs_it_removes(project: tuple[Path, Path]) -> None:
    path, results = project
    conn = connect(path)
    with conn:
        counts = pruning.prune_file(conn, NOW - 30 * DAY, None, dry_run=False, results=results)
    assert counts.flow_runs == 1
    assert counts.results == 3
    assert _left(results) == {"shared", "new", "new-plain", "new key"}


def test_a_dry_run_counts_results_and_removes_none(project: tuple[Path, Path]) -> None:
    path, results = project
    conn = connect(path)
    with conn:
        counts = pruning.prune_file(conn, NOW - 30 * DAY, None, dry_run=True, results=results)
    assert counts.results == 3
    assert len(_left(results)) == 7


@pytest.mark.parametrize("key", ["plain-key_1.0", LONG_KEY, "slash/and:colon"])
def test_file_names_match_the_engines(key: str) -> None:
    assert result_filename(key) == _filename(key)


def test_a_pruned_run_takes_the_file_its_result_storage_key_named(tmp_path, monkeypatch) -> None:
    """A flow run recorded into a real store, then pruned: its keyed result file goes with it."""
    from orchestrate import flow, task
    from orchestrate.core.project import results_dir, store_path
    from orchestrate.recording import set_sink

    monkeypatch.setenv("ORC_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    @task(result_storage_key="report-{parameters[day]}.pkl")
    def report(day: int) -> str:
        return f"report {day}"

    @flow
    def nightly(day: int) -> str:
        return report(day)

    writer = StoreWriter(store_path(tmp_path))
    previous = set_sink(writer)
    try:
        assert nightly(1) == "report 1"
    finally:
        set_sink(previous)
        writer.close()
    kept = results_dir(tmp_path) / "report-1.pkl"
    assert kept.is_file()
    conn = connect(store_path(tmp_path))
    with conn:
        counts = pruning.prune_file(
            conn, time.time() + DAY, None, dry_run=False, results=results_dir(tmp_path)
        )
    assert counts.flow_runs == 1 and counts.results == 1
    assert not kept.exists()
