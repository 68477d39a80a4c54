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


WAITS = """
    import time
    from pathlib import Path

    from orchestrate import flow, get_run_logger, task


    @task
    def late() -> None:
        get_run_logger().info("from the late task")


    @flow
    def waits(marker: str) -> None:
        get_run_logger().info("started")
        while not Path(marker).exists():  # the test says when to go on
            time.sleep(0.02)
        late()
"""


def test_orc_logs_follow_json_prints_an_object_a_line_with_late_task_names(
    project: Project,
) -> None:
    """`-f --json` printed text (json.tool failed on it), a task run that began after the
    follow started had no name, and `-f` of an ended run with orc up down exited 5."""
    project.write("flows.py", WAITS)
    project.write("flows.toml", '[[deployments]]\nname = "waits"\nentrypoint = "flows.py:waits"\n')
    project.up()
    marker = project.root / "go"
    with project.client() as client:
        run_id = client.create_run("waits", {"marker": str(marker)}).id
    wait_for(lambda: [r for r in project.runs(state="RUNNING") if r.id == run_id], 30, "Running")
    follower = subprocess.Popen(
        [ORC, "logs", run_id, "-f", "--json", "--project", str(project.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert follower.stdout is not None
    first = [json.loads(follower.stdout.readline())]
    while first[-1]["message"] != "started":
        first.append(json.loads(follower.stdout.readline()))
    marker.write_text("go")
    rest, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    lines = first + [json.loads(text) for text in rest.splitlines()]
    (late,) = [line for line in lines if line["message"] == "from the late task"]
    assert late["task_run_name"] == "late-0"
    assert project.orc("down").returncode == 0
    ended = project.orc("logs", run_id, "-f")
    assert ended.returncode == 0, ended.stderr
    assert "from the late task" in ended.stdout


def test_a_follow_that_starts_after_the_run_ended_prints_the_lines_since_it_last_printed(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """`orc logs -f` prints what the store holds, then subscribes: a run that logged and
    ended in between left the follow with nothing more to print. The follow is called
    here as the command calls it, once the run ended, with the time of the line the first
    read printed last."""
    from orchestrate.cli.logs import _follow

    project.write("flows.py", WAITS)
    project.write("flows.toml", '[[deployments]]\nname = "waits"\nentrypoint = "flows.py:waits"\n')
    project.up()
    marker = project.root / "go"
    marker.write_text("go")
    with project.client() as client:
        run_id = client.create_run("waits", {"marker": str(marker)}).id
        wait_for(lambda: client.run(run_id).run.settled, 30, "the run settled")
        lines = client.logs(run_id)
    started = next(line.ts for line in lines if line.message == "started")
    _follow(project.root, run_id, json_output=True, since=started)
    printed = [json.loads(text)["message"] for text in capsys.readouterr().out.splitlines()]
    after = [line.message for line in lines if line.ts > started]
    assert "from the late task" in after
    assert printed == after
