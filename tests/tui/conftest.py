"""Fixtures for the dashboard tests: the app over a stand-in daemon, and a real `orc up`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import pytest

from orchestrate.core.errors import ConnectionLost
from tests.tui.fake_daemon import NOW, FakeDaemon
from tui.app import OrcApp
from tui.client import DashboardClient
from tui.format import Clock

ROOT = Path(__file__).resolve().parents[2]
FROZEN = Clock(now=lambda: NOW, zone=UTC)
COLOUR_TERMINAL = {"TERM": "xterm-256color"}  # snapshots the same whatever terminal runs the tests


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon.canned()


def make_app(daemon: FakeDaemon, *, readonly: bool = False) -> OrcApp:
    """The dashboard over the stand-in daemon, with the clock frozen."""

    async def connect() -> DashboardClient:
        if daemon.down:
            raise ConnectionLost("the orc daemon for /srv/demo closed the connection")
        return daemon.client()  # type: ignore[return-value]

    return OrcApp(
        connect, "/srv/demo", clock=FROZEN, readonly=readonly, retry_seconds=0.05,
        environ=COLOUR_TERMINAL,
    )  # fmt: skip


FLOWS_TOML = """
[project]
name = "livetest"

[[deployments]]
name = "fan"
entrypoint = "flows.py:fan"
parameters = { n = 4 }

[[deployments]]
name = "slow"
entrypoint = "flows.py:slow"

[[deployments]]
name = "nested"
entrypoint = "flows.py:outer"
"""

GATE = "gate.flag"  # in the project folder: the subflow of `nested` holds until it exists

FLOWS_PY = """
import time
from pathlib import Path
from orchestrate import flow, task


@task
def start() -> int:
    return 1


@task
def square(x: int, base: int) -> int:
    return x * x + base


@task
def total(values: list[int]) -> int:
    return sum(values)


@flow
def fan(n: int = 4) -> int:
    base = start.submit()
    return total(square.map(list(range(n)), base=base))


@flow
def slow(seconds: float = 60.0) -> None:
    time.sleep(seconds)


@task
def step(i: int) -> int:
    return i


@task
def hold(gate: str) -> None:
    while not Path(gate).exists():  # the test lets it go on
        time.sleep(0.05)


@flow
def inner(gate: str) -> int:
    first = step(1)
    hold(gate)
    return first


@flow
def outer(gate: str = "gate.flag") -> int:
    return inner(gate)
"""


@contextmanager
def orc_up(root: Path, flows_toml: str, flows_py: str) -> Iterator[Path]:
    """A real `orc up` on a project in `root` with these two files, stopped on leaving."""
    (root / "flows.toml").write_text(flows_toml)
    (root / "flows.py").write_text(flows_py)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORC_HOME": str(root)}
    log = (root / "daemon.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrate.cli", "up", "--project", str(root)],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_daemon(root, process, timeout=20.0)
        yield root
    finally:
        _stop(process)
        log.close()


@pytest.fixture
def live_daemon(tmp_path: Path) -> Iterator[Path]:
    """A real `orc up` on a project in `tmp_path` (deployments `fan`, `slow`, `nested`); yields its root."""
    with orc_up(tmp_path, FLOWS_TOML, FLOWS_PY) as root:
        yield root


def _wait_for_daemon(root: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    from orchestrate.client import AsyncClient
    from orchestrate.core.errors import ClientError

    async def try_once() -> bool:
        try:
            client = await AsyncClient.connect(root, timeout=1.0)
        except (ClientError, OSError):
            return False
        await client.close()
        return True

    deadline = time.monotonic() + timeout
    while not asyncio.run(try_once()):
        if process.poll() is not None:
            raise AssertionError(
                f"orc up exited with {process.returncode}:\n{(root / 'daemon.log').read_text()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(
                f"orc up did not answer within {timeout}s:\n{(root / 'daemon.log').read_text()}"
            )
        time.sleep(0.1)  # between connection attempts to a daemon still starting


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
