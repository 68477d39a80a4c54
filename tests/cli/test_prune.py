"""`orc prune` with no daemon: old finished runs go with everything they left; others stay."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.project import store_path
from orchestrate.core.records import EdgeRecord, LogRecord, StateRecord
from orchestrate.states import Completed, Failed, Running
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json

DAY = 86400.0

ORPHANS = """SELECT
    (SELECT count(*) FROM task_runs WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
  + (SELECT count(*) FROM states WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
  + (SELECT count(*) FROM edges WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
  + (SELECT count(*) FROM logs WHERE flow_run_id NOT IN (SELECT id FROM flow_runs)) AS orphans"""


def put_history(
    root: Path, build: SimpleNamespace, runs: dict[str, tuple[object, str, float]]
) -> None:
    """Each run `id: (state, deployment, age in days)` with a task run, edge, states and a log line."""
    now = time.time()
    writer = StoreWriter(store_path(root))
    for run_id, (state, deployment, age) in runs.items():
        ended = now - age * DAY
        final = state.is_final()  # type: ignore[attr-defined]
        writer.put(build.flow_run(run_id, state, deployment=deployment, created=ended - 5,
                                  start_time=ended - 5, end_time=ended if final else None))  # fmt: skip
        writer.put(build.task_run(f"{run_id}-t", run_id, Completed()))
        writer.put(EdgeRecord(run_id, f"{run_id}-t", f"{run_id}-u", "data"))
        writer.put(StateRecord(run_id, run_id, False, state))  # type: ignore[arg-type]
        writer.put(LogRecord(run_id, f"{run_id}-t", ended, 20, "orc.task", "a line"))
    writer.close()


@pytest.fixture
def history(tmp_path: Path, build: SimpleNamespace) -> Path:
    put_history(tmp_path, build, {
        "old-etl": (Completed(), "etl", 40), "old-report": (Failed(), "report", 40),
        "old-running": (Running(), "etl", 40), "new-etl": (Completed(), "etl", 1),
    })  # fmt: skip
    return tmp_path


def _ids(orc: Orc) -> set[str]:
    return {row["id"] for row in parse_json(orc("sql", "--json", "SELECT id FROM flow_runs"))}


def test_a_dry_run_says_what_would_go_and_removes_nothing(history: Path, orc: Orc) -> None:
    said = orc("prune", "--older-than", "30d", "--dry-run")
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith(
        "Would remove 2 flow runs, 2 task runs, 2 states, 2 edges, 2 logs"
    )
    assert len(_ids(orc)) == 4


def test_prune_removes_old_finished_runs_keeps_unfinished_and_leaves_no_orphans(
    history: Path, orc: Orc
) -> None:
    said = orc("prune", "--older-than", "30d")
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith("Removed 2 flow runs, 2 task runs")
    assert _ids(orc) == {"old-running", "new-etl"}
    assert parse_json(orc("sql", "--json", ORPHANS)) == [{"orphans": 0}]
    again = orc("prune", "--older-than", "30d")
    assert "nothing removed" in again.stdout


def test_prune_of_one_deployment(history: Path, orc: Orc) -> None:
    counts = parse_json(orc("prune", "--older-than", "30d", "--deployment", "report", "--json"))
    assert counts["flow_runs"] == 1
    assert "old-report" not in _ids(orc) and "old-etl" in _ids(orc)


def test_a_bad_duration_is_a_usage_error(history: Path, orc: Orc) -> None:
    refused = orc("prune", "--older-than", "soon")
    assert refused.returncode == 2
    assert "--older-than" in refused.stderr


@pytest.mark.parametrize("none", ["0", "0s"])
def test_an_age_of_nothing_is_refused_as_the_daemon_refuses_it(
    history: Path, orc: Orc, none: str
) -> None:
    """With orc up down, `--older-than 0` went ahead and would prune every finished run."""
    refused = orc("prune", "--older-than", none, "--dry-run")
    assert refused.returncode == 2
    assert "no time at all" in refused.stderr
