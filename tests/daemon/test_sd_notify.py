"""`orc up` speaks systemd's notify protocol: READY once it answers, WATCHDOG while alive, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project

pytestmark = pytest.mark.timeout(60)


def _messages(sock: socket.socket, until: bytes, timeout: float) -> list[bytes]:
    """Datagrams received until one holds `until`; fails after `timeout` seconds."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while not any(until in m for m in got):
        left = deadline - time.monotonic()
        assert left > 0, f"no {until!r} within {timeout}s; got {got}"
        sock.settimeout(left)
        got.append(sock.recv(4096))
    return got


def test_ready_watchdog_and_stopping_reach_the_notify_socket(
    project: Project, tmp_path: Path
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", '[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n')
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000"}
        proc = subprocess.Popen([ORC, "up", "--project", str(project.root)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip
        project.processes.append(proc)
        ready = _messages(sock, b"READY=1", 30)
        assert any(f"MAINPID={proc.pid}".encode() in m for m in ready)
        _messages(sock, b"WATCHDOG=1", 5)
        _messages(sock, b"WATCHDOG=1", 5)  # again: it keeps petting
        proc.send_signal(signal.SIGTERM)
        _messages(sock, b"STOPPING=1", 10)
    assert proc.wait(30) == 0
