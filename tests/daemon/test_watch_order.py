"""`orc run --watch` prints each attempt's states before the lines that attempt logged."""

from __future__ import annotations

import pytest

from tests.daemon.conftest import Project

pytestmark = pytest.mark.timeout(120)

FLAKY = """
from pathlib import Path
from orchestrate import flow, get_run_logger


@flow
def flaky() -> None:
    tries = Path("tries")
    tries.write_text(tries.read_text() + "x" if tries.exists() else "x")
    get_run_logger().info("attempt %d begins", len(tries.read_text()))
    if len(tries.read_text()) < 3:
        raise RuntimeError("not yet")
"""


def test_a_retry_s_states_come_before_the_lines_it_logged(project: Project) -> None:
    project.write("flows.py", FLAKY)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "flaky"
        entrypoint = "flows.py:flaky"
        retries = 2
    """,
    )
    project.up()
    watched = project.orc("run", "flaky", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    lines = watched.stdout.splitlines()
    # a retry runs as Retrying, Prefect's name for a Running state after the first attempt
    runnings = [n for n, line in enumerate(lines) if line.startswith(("[Running]", "[Retrying]"))]
    begins = [n for n, line in enumerate(lines) if "attempt" in line and "begins" in line]
    assert len(runnings) == len(begins) == 3, watched.stdout
    for attempt, (running, begun) in enumerate(zip(runnings, begins, strict=True), 1):
        assert f"attempt {attempt} begins" in lines[begun]
        assert running < begun, (
            f"attempt {attempt}'s line came before its [Running]:\n{watched.stdout}"
        )
    assert [line for line in lines if line.startswith("[")][-1] == "[Completed]", watched.stdout
