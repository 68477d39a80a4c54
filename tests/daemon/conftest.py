"""A real `orc up` in a temp project, driven through `orc` subprocesses and the client.

Every wait is on a condition with a deadline (`wait_for`), never a bare sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from orchestrate.client import Client, DaemonNotRunning, connect

ORC = str(Path(sys.executable).parent / "orc")
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Return the first truthy `check()`; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)  # the interval between checks of a condition, not a wait for a race


@dataclass
class Project:
    root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def orc(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ORC, *args, "--project", str(self.root)], capture_output=True, text=True,
            timeout=timeout, env={**os.environ, **(env or {})},
        )  # fmt: skip

    def up(self, *extra: str, wait: bool = True) -> subprocess.Popen[bytes]:
        with open(self.root / f"daemon-{len(self.processes)}.log", "wb") as log:
            proc = subprocess.Popen([ORC, "up", "--project", str(self.root), *extra],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.processes.append(proc)
        if wait:
            wait_for(lambda: self._ready(proc), 30, "orc up to answer on its socket")
        return proc

    def _ready(self, proc: subprocess.Popen[bytes]) -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"orc up exited with {proc.returncode}:\n{self.daemon_log()}")
        try:
            connect(self.root, timeout=2).close()
        except DaemonNotRunning:
            return False
        return True

    def daemon_log(self, index: int = -1) -> str:
        logs = sorted(self.root.glob("daemon-*.log"))
        return logs[index].read_text(errors="replace") if logs else ""

    def client(self) -> Client:
        return connect(self.root, timeout=10)

    def runs(self, **filters: Any) -> list[Any]:
        with self.client() as client:
            return client.runs(limit=500, **filters)

    def completed(self, deployment: str) -> list[Any]:
        return [r for r in self.runs(deployment=deployment) if r.state.type == "COMPLETED"]

    def stop(self, proc: subprocess.Popen[bytes] | None = None, sig: int = signal.SIGTERM) -> int:
        proc = proc or self.processes[-1]
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(30)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path)
    yield p
    for proc in p.processes:
        if proc.poll() is None:
            with_suppress(lambda proc=proc: os.killpg(proc.pid, signal.SIGKILL))
            proc.wait(10)


def with_suppress(action: Callable[[], object]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        action()


FLOWS = """
    import os
    import subprocess
    import time

    from orchestrate import flow, get_run_logger, task


    @task
    def double(x: int) -> int:
        return x * 2


    @flow
    def tiny(x: int = 1) -> int:
        get_run_logger().info("tiny got x=%s", x)
        return double(x)


    @flow
    def sleepy(seconds: float = 30.0, marker: str = "") -> None:
        if marker:
            child = subprocess.Popen(["sleep", "600"])
            with open(marker, "w") as f:
                f.write(str(child.pid))
        get_run_logger().info("sleeping %s", seconds)
        time.sleep(seconds)


    @flow
    def fails() -> None:
        raise ValueError("this flow always fails")
"""
