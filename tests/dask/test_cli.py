"""End to end: `orc flow run` of a flow file whose tasks run on the cluster, then `orc logs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.dask.conftest import needs_distributed

needs_distributed()

ROOT = Path(__file__).resolve().parents[2]

FLOW_FILE = """
from orchestrate import flow, get_run_logger, task
from orchestrate.runtime import task_run
from orchestrate.integrations.dask import DaskTaskRunner


@task(retries=1)
def shout(word: str) -> str:
    if word == "flaky" and task_run.run_count == 1:
        raise ConnectionError("first try fails")
    get_run_logger().info("shouting %s", word)
    print(f"printed {{word}}")
    return word.upper()


@flow(task_runner=DaskTaskRunner({address!r}), log_prints=True)
def loud(words: list[str]) -> list[str]:
    return shout.map(words).result()
"""


def orc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORC_HOME": str(project), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_flow_file_run_by_orc_on_a_cluster_keeps_remote_logs_and_retries_in_the_store(
    tmp_path: Path, dask_address: str
) -> None:
    (tmp_path / "loud.py").write_text(FLOW_FILE.format(address=dask_address))

    result = orc(tmp_path, "flow", "run", "loud.py:loud", "-p", 'words=["hi", "flaky"]')

    assert result.returncode == 0, result.stderr
    assert "shouting hi" in result.stderr  # worker lines show on the orc host's console
    [run] = json.loads(orc(tmp_path, "runs", "ls", "--json").stdout)
    assert run["state_name"] == "Completed" and run["task_runs"] == {"Completed": 2}
    lines = json.loads(orc(tmp_path, "logs", run["id"], "--json").stdout)
    messages = {line["message"] for line in lines}
    assert {"shouting hi", "printed hi", "shouting flaky", "printed flaky"} <= messages
    assert any("ConnectionError: first try fails" in m and "Retry 1/1" in m for m in messages)


def test_runs_show_prints_the_dashboard_of_the_cluster_the_run_used(
    tmp_path: Path, dask_cluster: Any, dask_address: str
) -> None:
    (tmp_path / "loud.py").write_text(FLOW_FILE.format(address=dask_address))
    assert orc(tmp_path, "flow", "run", "loud.py:loud", "-p", 'words=["hi"]').returncode == 0
    [run] = json.loads(orc(tmp_path, "runs", "ls", "--json").stdout)

    shown = orc(tmp_path, "runs", "show", run["id"])

    link = dask_cluster.dashboard_link
    assert link and f"dask dashboard  {link}" in shown.stdout, shown.stdout
    detail = json.loads(orc(tmp_path, "runs", "show", run["id"], "--json").stdout)
    assert detail["dask_dashboards"] == [link]
