"""Ctrl-C on an `orc` command waiting for a daemon that does not answer: no traceback, exit 130.

A stopped (SIGSTOP) `orc up` accepts the connection and never answers, which is what a
busy or stuck daemon looks like to a command. The command gets SIGINT once it holds its
socket, on both paths a command can take (the quick one, and click's: `ORC_LEAN_CLI=0`).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project, wait_for


def _holds_a_socket(pid: int) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd).startswith("socket:") for fd in fds.iterdir())
    except OSError:  # a descriptor closed while we looked
        return False


@pytest.mark.parametrize("lean", ["1", "0"], ids=["quick path", "full path"])
def test_ctrl_c_while_a_command_waits_on_the_daemon_exits_130_without_a_traceback(
    project: Project, lean: str
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", '[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n')
    daemon = project.up()
    os.kill(daemon.pid, signal.SIGSTOP)
    try:
        command = subprocess.Popen(
            [ORC, "status", "--project", str(project.root)],
            env={**os.environ, "ORC_LEAN_CLI": lean}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(lambda: _holds_a_socket(command.pid), 30, "orc status to connect")
        command.send_signal(signal.SIGINT)
        _, stderr = command.communicate(timeout=30)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
    assert command.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
