"""A task called outside any flow, from plain Python while `orc up` runs: recorded as Prefect records it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.daemon.conftest import Project, wait_for

SCRIPT = """
from orchestrate import task

@task
def double(x: int) -> int:
    return 2 * x

print(double(21))
"""


def test_a_standalone_task_run_is_stored_through_the_daemon_and_the_daemon_goes_on(
    project: Project,
) -> None:
    project.write("flows.toml", "")
    project.write("standalone.py", SCRIPT)
    project.up()
    out = subprocess.run([sys.executable, "standalone.py"], cwd=project.root, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "ORC_HOME": str(project.root)})  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "42", out.stderr

    def stored() -> str:
        query = "SELECT name, state_name FROM task_runs WHERE flow_run_id = ''"
        found = project.orc("sql", query, "--json")
        return found.stdout if "double" in found.stdout else ""

    rows = wait_for(stored, 20, "the standalone task run in the store")
    assert "Completed" in rows
    with project.client() as client:
        assert client.status().pid  # the daemon took the run with no flow run in its stride
    assert "left out record" not in project.daemon_log()
