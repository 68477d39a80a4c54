"""`orc logs` of a long run through a real `orc up`: every line, in order, printed page by page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest

from orchestrate.cli.log_print import FIRST_PAGE, PAGE
from tests.daemon.conftest import ORC, Project, wait_for

pytestmark = pytest.mark.timeout(180)

#: Four pages: the first (small), two full ones, and a few lines more.
LINES = FIRST_PAGE + 2 * PAGE + 7

FLOWS = """
    from orchestrate import flow, get_run_logger, task


    @task
    def noisy() -> None:
        get_run_logger().warning("from the task")


    @flow
    def chatty(lines: int) -> None:
        logger = get_run_logger()
        for n in range(lines):
            logger.info("line %d", n)
        noisy()
"""

TOML = """
    [[deployments]]
    name = "chatty"
    entrypoint = "flows.py:chatty"
"""


def _chatty_run(project: Project) -> str:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client:
        run = client.create_run("chatty", {"lines": LINES})
        wait_for(lambda: client.run(run.id).run.state.type == "COMPLETED", 120, "the run")
    return run.id


def test_orc_logs_prints_every_line_of_a_long_run_in_order(project: Project) -> None:
    run_id = _chatty_run(project)
    done = project.orc("logs", run_id)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    numbered = [line.split(" | ", 1)[1] for line in printed if " | line " in line]
    assert numbered == [f"line {n}" for n in range(LINES)]
    assert any(" WARNING  noisy-" in line and line.endswith("| from the task") for line in printed)


def test_orc_logs_prints_its_first_page_before_the_last_is_read(project: Project) -> None:
    """With the daemon stopped right after the first line came out, the command has printed at
    most the pages it had by then (a whole-log read would print every line); once the daemon
    goes on, the rest follows."""
    run_id = _chatty_run(project)
    daemon = project.processes[-1]
    with subprocess.Popen(
        [ORC, "logs", run_id, "--project", str(project.root)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as cli:  # fmt: skip
        assert cli.stdout is not None
        printed = [cli.stdout.readline()]
        os.kill(daemon.pid, signal.SIGSTOP)
        try:
            reader = threading.Thread(target=lambda: printed.extend(cli.stdout or ()), daemon=True)
            reader.start()
            reader.join(2.0)  # bounded: the command now waits on the stopped daemon for a page
            assert reader.is_alive()
            assert len(printed) < LINES
        finally:
            os.kill(daemon.pid, signal.SIGCONT)
        reader.join(60)
        assert cli.wait(60) == 0
    assert sum(" | line " in line for line in printed) == LINES


@pytest.mark.parametrize("lean", ["1", "0"], ids=["quick path", "full path"])
def test_orc_logs_json_gives_every_line_of_a_long_run_page_by_page(
    project: Project, lean: str
) -> None:
    """`--json` asked for the whole log in one answer: a run with 70,000 long lines went past
    the reply's 5 s and the client's 64 MiB line limit (exit 5). It is read a page at a time."""
    run_id = _chatty_run(project)
    done = project.orc("logs", run_id, "--json", env={"ORC_LEAN_CLI": lean})
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)
    numbered = [line["message"] for line in lines if line["message"].startswith("line ")]
    assert numbered == [f"line {n}" for n in range(LINES)]
    (warning,) = [line for line in lines if line["level"] == "WARNING"]
    assert warning["task_run_name"] == "noisy-0" and warning["timestamp"].endswith("+00:00")
