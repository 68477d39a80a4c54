"""A temp orc project built to be hurt: six deployments whose bodies leave markers.

Every flow body and task body appends one JSON line per event (start, end,
raise, a child started) to `markers.log` with a single `O_APPEND` write, so
lines never interleave and survive any kill of the writer. The daemon is the
real `orc up`, started and killed as a user (or the kernel) would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from orchestrate.client import Client, DaemonNotRunning, connect

ORC = str(Path(sys.executable).parent / "orc")
T = TypeVar("T")

#: name -> (flow, interval, retries, retry delay); the checks read retries from here.
DEPLOYMENTS: dict[str, tuple[str, str, int, float]] = {
    "quick": ("quick", "1s", 0, 0.0),
    "slow": ("slow", "2s", 0, 0.0),
    "slow-retried": ("slow", "3s", 2, 1.0),
    "fails": ("always_fails", "3s", 2, 1.0),
    "fan-out": ("fan_out", "3s", 1, 1.0),
    "detached": ("detached", "3s", 0, 0.0),
}

FLOWS = '''\
"""Flows for orc's fault-injection suite: each body appends what it did to markers.log."""

import atexit
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from orchestrate import flow, task
from orchestrate.runtime import flow_run, task_run

MARKERS = Path(__file__).with_name("markers.log")
ROOT = str(Path(__file__).parent)


def mark(kind: str, phase: str, **extra: object) -> None:
    line = {"kind": kind, "phase": phase, "pid": os.getpid(), "t": time.time(),
            "flow_run": flow_run.id, "attempt": flow_run.run_count,
            "deployment": flow_run.deployment_name,
            "slot": flow_run.scheduled_start_time.timestamp(), **extra}
    if kind == "task":
        line["task_run"] = task_run.id
    fd = os.open(MARKERS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\\n").encode())
    finally:
        os.close(fd)


@flow
def quick() -> None:
    mark("flow", "start")
    mark("flow", "end")


@flow
def slow() -> None:
    mark("flow", "start")
    time.sleep(random.uniform(0.5, 2.0))
    mark("flow", "end")


@flow
def always_fails() -> None:
    mark("flow", "start")
    mark("flow", "raise")
    # The worker lingers after its failure is recorded (as one flushing its own buffers
    # would), so a kill of orc up can land before the daemon has handled its exit.
    atexit.register(time.sleep, 0.5)
    raise RuntimeError("this flow always fails")


@task
def item(i: int) -> int:
    mark("task", "start")
    time.sleep(0.02)
    mark("task", "end")
    return i


@flow
def fan_out(n: int = 20) -> int:
    mark("flow", "start")
    total = sum(f.result() for f in [item.submit(i) for i in range(n)])
    mark("flow", "end")
    return total


@flow
def detached() -> None:
    mark("flow", "start")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", ROOT],
                             start_new_session=True)
    mark("flow", "child", child=child.pid)
    time.sleep(1.0)
    child.kill()
    child.wait()
    mark("flow", "end")
'''


def flows_toml(quick_interval: str = "1s") -> str:
    """The project's config; the reload fault flips `quick_interval` to make a real diff."""
    parts = ['[project]\nname = "fault"\n']
    for name, (flow, interval, retries, delay) in DEPLOYMENTS.items():
        every = quick_interval if name == "quick" else interval
        parts.append(
            f'[[deployments]]\nname = "{name}"\nentrypoint = "flows.py:{flow}"\n'
            f'schedules = [{{ interval = "{every}" }}]\n'
            f"retries = {retries}\nretry_delay_seconds = {delay}\n"
        )
    return "\n".join(parts)


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 0.02) -> T:
    """Return the first truthy `check()`; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)  # the interval between checks of a condition


@dataclass
class FaultProject:
    """One project folder and the `orc up` processes run on it, one after another."""

    root: Path
    daemons: list[subprocess.Popen[bytes]] = field(default_factory=list)
    quick_interval: str = "1s"

    @classmethod
    def create(cls, root: Path) -> FaultProject:
        root.mkdir(parents=True, exist_ok=True)
        (root / "flows.py").write_text(FLOWS)
        (root / "flows.toml").write_text(flows_toml())
        return cls(root.resolve())

    @property
    def markers(self) -> Path:
        return self.root / "markers.log"

    @property
    def store(self) -> Path:
        return self.root / ".orc" / "orc.duckdb"

    @property
    def daemon(self) -> subprocess.Popen[bytes] | None:
        """The last `orc up` started, if it still runs."""
        if self.daemons and self.daemons[-1].poll() is None:
            return self.daemons[-1]
        return None

    def log_path(self, index: int = -1) -> Path:
        return self.root / f"daemon-{index % max(len(self.daemons), 1)}.log"

    def up(self, timeout: float = 30) -> subprocess.Popen[bytes]:
        """Start `orc up` and wait until it answers on its socket."""
        with open(self.root / f"daemon-{len(self.daemons)}.log", "wb") as log:
            proc = subprocess.Popen(
                [ORC, "up", "--project", str(self.root), "--grace", "3"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.daemons.append(proc)
        wait_for(lambda: self._ready(proc), timeout, "orc up to answer on its socket")
        return proc

    def _ready(self, proc: subprocess.Popen[bytes]) -> bool:
        if proc.poll() is not None:
            log = self.log_path().read_text(errors="replace")
            raise RuntimeError(f"orc up exited with {proc.returncode}:\n{log[-3000:]}")
        try:
            connect(self.root, timeout=2).close()
        except (DaemonNotRunning, ConnectionError):
            return False  # not listening yet, or listening but not yet answering
        return True

    def client(self) -> Client:
        return connect(self.root, timeout=10)

    def kill_daemon(self, sig: int = signal.SIGKILL) -> None:
        """Signal `orc up` itself (not its group: its workers are the product's to handle)."""
        proc = self.daemon
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            if sig == signal.SIGKILL:
                proc.wait(10)

    def stop(self, timeout: float = 60) -> int | None:
        """Stop the daemon as a user does (SIGTERM) and wait for it to exit."""
        proc = self.daemon
        if proc is None:
            return None
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def rewrite_config(self) -> None:
        """Flip the interval of `quick`: a valid edit the daemon applies as a diff."""
        self.quick_interval = "2s" if self.quick_interval == "1s" else "1s"
        path = self.root / "flows.toml"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(flows_toml(self.quick_interval))
        tmp.replace(path)

    def new_log_lines(self, since: int) -> tuple[list[str], int]:
        """Lines the current daemon logged after byte offset `since`, and the new offset."""
        try:
            with open(self.log_path(), "rb") as f:
                f.seek(since)
                data = f.read()
        except OSError:
            return [], since
        end = data.rfind(b"\n") + 1
        return data[:end].decode(errors="replace").splitlines(), since + end

    def workers(self) -> list[int]:
        """Pids of this project's worker processes."""
        return [pid for pid, cmd in processes_of(self.root) if b"orchestrate.worker" in cmd]

    def kill_everything(self) -> None:
        """Leave nothing running: daemons, and any process still in the project folder."""
        for proc in self.daemons:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(10)
        for pid, _ in processes_of(self.root):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def processes_of(root: Path) -> Iterator[tuple[int, bytes]]:
    """(pid, cmdline) of every live process working in `root` or naming it on its command line.

    Workers run with the project as their working folder; the detached
    children the flows start name it as an argument. Zombies are skipped:
    they run nothing.
    """
    own = os.getpid()
    needle = str(root).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        info = _process_info(entry)
        if info is None:
            continue
        cwd, cmd, zombie = info
        if zombie:
            continue
        if cwd == str(root) or cwd.startswith(f"{root}/") or needle in cmd:
            yield int(entry.name), cmd


def _process_info(entry: Path) -> tuple[str, bytes, bool] | None:
    try:
        cmd = (entry / "cmdline").read_bytes()
        cwd = os.readlink(entry / "cwd")
        stat = (entry / "stat").read_text()
    except OSError:
        return None
    zombie = stat.rpartition(")")[2].split()[0] == "Z"
    return cwd, cmd, zombie


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count: it has already stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def describe(cmd: bytes) -> str:
    return cmd.replace(b"\0", b" ").decode(errors="replace").strip()


__all__ = ["DEPLOYMENTS", "FaultProject", "describe", "pid_alive", "processes_of", "wait_for"]
