"""`orc run --watch` on a run that prints faster than the watch's reader takes it.

The daemon drops a subscriber that has 16 MiB unread (its memory must stay bounded). The
watch used to end there with exit 5, "the daemon closed the connection", while the run
went on; a script waiting on it got "daemon trouble" for a run that Completed.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.daemon.conftest import ORC, Project, wait_for

pytestmark = pytest.mark.timeout(180)

LOUD = """
from orchestrate import flow


@flow(log_prints=True)
def loud(n: int = 120_000) -> int:
    for i in range(n):
        print(f"line {i:06d} " + "x" * 100)
    return n
"""


def test_a_watch_that_falls_behind_follows_the_run_to_its_end_and_exits_by_its_state(
    project: Project,
) -> None:
    project.write("flows.py", LOUD)
    project.write("flows.toml", '[[deployments]]\nname = "loud"\nentrypoint = "flows.py:loud"\n')
    project.up()
    watch = subprocess.Popen(
        [ORC, "run", "loud", "--watch", "--project", str(project.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    # Nothing reads the watch's output yet: it blocks on a full pipe, stops reading its socket,
    # and the daemon's unread backlog for it grows until the daemon drops it.
    wait_for(lambda: "dropped <connection" in project.daemon_log(), 120, "the watch dropped")
    out, err = watch.communicate(timeout=120)
    assert watch.returncode == 0, err[-2000:]
    assert "this watch fell behind the run's output and was dropped" in err
    assert "[Completed]" in out.splitlines()[-1]


def test_a_watch_whose_daemon_is_gone_says_so_not_that_it_fell_behind(project: Project) -> None:
    """Any closed connection was taken for a drop for falling behind."""
    import signal

    from tests.daemon.conftest import FLOWS

    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml", '[[deployments]]\nname = "sleepy"\nentrypoint = "flows.py:sleepy"\n'
    )
    daemon = project.up()
    watch = subprocess.Popen(
        [ORC, "run", "sleepy", "--watch", "--project", str(project.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    wait_for(lambda: project.runs(state="RUNNING"), 30, "the run to be Running")
    daemon.send_signal(signal.SIGKILL)
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 5, err
    assert "fell behind" not in err
