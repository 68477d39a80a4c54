"""The seed example from Prefect's docs, with only its import changed, end to end.

A real Python process runs the file and records into a real DuckDB file; a
real `orc` process then reads it back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(args: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORC_HOME": str(project)}
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=60)


def orc(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "orchestrate.cli", *args], project)


def test_the_seed_example_prints_three_hellos_and_records_one_run_with_three_tasks(
    tmp_path: Path,
) -> None:
    source = (EXAMPLES / "hello.py").read_text()
    assert "from orchestrate import flow, task" in source
    (tmp_path / "my_flow.py").write_text(source)

    result = run([sys.executable, "my_flow.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Hello, Marvin", "Hello, Arthur", "Hello, Ford"]

    listed = orc("runs", "ls", "--json", project=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (flow_run,) = json.loads(listed.stdout)
    assert flow_run["flow_name"] == "say-hello"
    assert flow_run["state_name"] == "Completed"
    assert flow_run["task_runs"] == {"Completed": 3}

    shown = orc("runs", "show", flow_run["id"][:6], "--json", project=tmp_path)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert sorted(t["name"] for t in detail["task_run_details"]) == [
        "hello-0",
        "hello-1",
        "hello-2",
    ]


def test_a_failing_task_out_of_retries_is_shown_with_type_message_and_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "flaky.py").write_text(
        "from orchestrate import flow, task\n"
        "attempts = []\n"
        "@task(retries=1)\n"
        "def flaky():\n"
        "    attempts.append(1)\n"
        "    if len(attempts) <= 2:\n"
        "        raise ConnectionError(f'attempt {len(attempts)} refused')\n"
        "@flow\n"
        "def pipeline():\n"
        "    flaky()\n"
    )
    result = orc("flow", "run", "flaky.py:pipeline", project=tmp_path)
    assert result.returncode == 1, result.stderr
    listed = json.loads(orc("runs", "ls", "--json", project=tmp_path).stdout)
    assert listed[0]["state_name"] == "Failed"
    shown = orc("runs", "show", listed[0]["id"], project=tmp_path)
    assert shown.returncode == 0
    assert "ConnectionError" in shown.stdout and "attempt 2 refused" in shown.stdout
    assert "line 7, in flaky" in shown.stdout  # the traceback points into the user's file
    detail = json.loads(orc("runs", "show", listed[0]["id"], "--json", project=tmp_path).stdout)
    (task_run,) = detail["task_run_details"]
    assert task_run["run_count"] == 2 and task_run["state_name"] == "Failed"


def test_a_task_that_recovers_records_three_attempts(tmp_path: Path) -> None:
    (tmp_path / "recovers.py").write_text(
        "from orchestrate import flow, task\n"
        "attempts = []\n"
        "@task(retries=2)\n"
        "def flaky():\n"
        "    attempts.append(1)\n"
        "    if len(attempts) <= 2:\n"
        "        raise ConnectionError('refused')\n"
        "@flow\n"
        "def pipeline():\n"
        "    flaky()\n"
    )
    assert orc("flow", "run", "recovers.py:pipeline", project=tmp_path).returncode == 0
    listed = json.loads(orc("runs", "ls", "--json", project=tmp_path).stdout)
    detail = json.loads(orc("runs", "show", listed[0]["id"], "--json", project=tmp_path).stdout)
    (task_run,) = detail["task_run_details"]
    assert task_run["run_count"] == 3 and task_run["state_name"] == "Completed"
    assert [s["name"] for s in detail["state_history"]] == ["Pending", "Running", "Completed"]
