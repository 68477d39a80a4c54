"""Run retention in a real `orc up`: `orc prune` through the daemon, and `run_retention` on start."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from orchestrate.states import Completed, Failed, Running
from tests.cli.test_prune import ORPHANS, put_history
from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)


def _sql(project: Project, query: str) -> list[dict[str, object]]:
    result = project.orc("sql", "--json", query)
    assert result.returncode == 0, result.stderr + project.daemon_log()
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _ids(project: Project) -> set[str]:
    return {str(row["id"]) for row in _sql(project, "SELECT id FROM flow_runs")}


def test_orc_prune_through_the_daemon(project: Project, build: SimpleNamespace) -> None:
    project.write("flows.toml", '[project]\nname = "kept"\n')
    put_history(project.root, build, {
        "old-etl": (Completed(), "etl", 40), "old-running": (Running(), "etl", 40),
        "new-etl": (Completed(), "etl", 1),
    })  # fmt: skip
    project.up()
    dry = project.orc("prune", "--older-than", "30d", "--dry-run")
    assert dry.stdout.startswith("Would remove 1 flow runs"), dry.stdout + dry.stderr
    said = project.orc("prune", "--older-than", "30d")
    assert said.stdout.startswith("Removed 1 flow runs, 1 task runs"), said.stdout + said.stderr
    assert _ids(project) == {"old-running", "new-etl"}
    assert _sql(project, ORPHANS) == [{"orphans": 0}]


def test_run_retention_on_start_with_a_per_deployment_override(
    project: Project, build: SimpleNamespace
) -> None:
    project.write(
        "flows.py", "from orchestrate import flow\n\n@flow\ndef tiny() -> None:\n    pass\n"
    )
    project.write(
        "flows.toml",
        """
        [project]
        run_retention = "30d"

        [[deployments]]
        name = "short"
        entrypoint = "flows.py:tiny"
        run_retention = "5d"
    """,
    )
    put_history(project.root, build, {
        "old-plain": (Completed(), "gone-deployment", 40), "week-plain": (Failed(), "gone-deployment", 7),
        "week-short": (Completed(), "short", 7), "new-short": (Completed(), "short", 1),
    })  # fmt: skip
    project.up()
    wait_for(lambda: _ids(project) == {"week-plain", "new-short"}, 30,
             "runs past their retention to leave the store")  # fmt: skip
    assert _sql(project, ORPHANS) == [{"orphans": 0}]
    assert "run retention removed 2 flow runs" in project.daemon_log()


def test_orc_prune_through_the_daemon_removes_persisted_results(
    project: Project, build: SimpleNamespace
) -> None:
    from orchestrate.core.project import results_dir
    from orchestrate.engine.results import ResultStore

    project.write("flows.toml", '[project]\nname = "kept"\n')
    put_history(project.root, build, {
        "old-etl": (Completed(), "etl", 40), "new-etl": (Completed(), "etl", 1),
    })  # fmt: skip
    results = ResultStore(results_dir(project.root))
    for key in ("old-etl", "old-etl-t", "new-etl", "new-etl-t"):
        results.write(key, key)
    project.up()
    said = project.orc("prune", "--older-than", "30d")
    assert said.stdout.startswith("Removed 1 flow runs"), said.stdout + said.stderr
    assert "2 results" in said.stdout
    left = {k for k in ("old-etl", "old-etl-t", "new-etl", "new-etl-t") if results.read(k)}
    assert left == {"new-etl", "new-etl-t"}


def test_orc_prune_through_the_daemon_removes_old_task_runs_of_no_flow_run(
    project: Project, build: SimpleNamespace
) -> None:
    """A script's task calls (stored with no flow run) go with the project's retention."""
    import time

    from orchestrate.core.project import store_path
    from orchestrate.core.records import LogRecord, StateRecord
    from orchestrate.store import StoreWriter

    project.write("flows.toml", '[project]\nname = "kept"\n')
    writer = StoreWriter(store_path(project.root))
    for task_id, age in (("old-call", 40), ("new-call", 1)):
        ended = time.time() - age * 86400
        writer.put(build.task_run(task_id, "", Completed(), created=ended - 1, end_time=ended))
        writer.put(StateRecord(task_id, "", True, Completed()))
        writer.put(LogRecord("", task_id, ended, 20, "orc.task_runs", "a line"))
    writer.close()
    project.up()
    dry = project.orc("prune", "--older-than", "30d", "--dry-run")
    assert "1 task runs" in dry.stdout, dry.stdout + dry.stderr
    said = project.orc("prune", "--older-than", "30d")
    assert said.stdout.startswith("Removed 0 flow runs, 1 task runs"), said.stdout + said.stderr
    rows = _sql(project, "SELECT id FROM task_runs WHERE flow_run_id = ''")
    assert rows == [{"id": "new-call"}]
    assert _sql(project, "SELECT count(*) AS n FROM logs WHERE task_run_id = 'old-call'") == [
        {"n": 0}
    ]
