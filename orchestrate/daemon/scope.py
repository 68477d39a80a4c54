"""Every process of a flow run, found and stopped together, detached children included.

Two mechanisms, the better one where the daemon may use it (`orc status` says
which is active):

- **cgroup v2**: each run's worker goes into a cgroup of its own under one
  made for this project, before it runs any user code. Nothing it starts can
  leave it (without privileges), and `cgroup.kill` ends them all at once.
- **subreaper + mark**: the worker makes itself a child subreaper, so what it
  starts stays its descendant even after a double fork, and every process of
  the run inherits `ORC_RUN_SCOPE` in its environment, which still finds a
  process that detached itself and outlived the worker.

In both, the worker's process group is signalled too. A run's scope ends with
the run: whatever is left of it when its worker exits is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("orc.daemon.scope")

#: The environment variable that marks every process of a run: "<project key>/<flow run id>".
MARK = "ORC_RUN_SCOPE"
_PROC = Path("/proc")


class RunScopes:
    """Finds and stops the processes of this project's runs."""

    def __init__(self, project_root: Path, cgroup_root: Path | None = None) -> None:
        self.key = hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:12]
        self.base = _make_base(cgroup_root or _own_cgroup(), f"orc-{self.key}")
        #: Runs whose worker was a spare, waiting in a cgroup named before the run was known.
        self._groups: dict[str, Path] = {}

    @property
    def mechanism(self) -> str:
        """What `orc status` shows."""
        if self.base is not None:
            return f"cgroup v2 ({self.base})"
        return "subreaper + environment mark (no writable cgroup v2)"

    @property
    def uses_cgroup(self) -> bool:
        return self.base is not None

    def mark(self, flow_run_id: str) -> str:
        return f"{self.key}/{flow_run_id}"

    def spare(self, pid: int) -> str | None:
        """Put a spare worker (forked before its run is known) into a cgroup of its own, whose
        name `bind` gives to the run it will take; None without cgroups. Blocking: the move
        waits for the kernel (up to ~20 ms), so the daemon does it in a thread, ahead of time."""
        if self.base is None:
            return None
        name = f"spare-{pid}-{time.monotonic_ns()}"
        self.adopt(name, pid)
        return name

    def bind(self, flow_run_id: str, spare: str) -> None:
        """The run's processes are those of the spare's cgroup."""
        if self.base is not None:
            self._groups[flow_run_id] = self._group(spare)

    def _group(self, flow_run_id: str) -> Path:
        assert self.base is not None
        return self._groups.get(flow_run_id) or self.base / f"run-{flow_run_id}"

    def adopt(self, flow_run_id: str, pid: int) -> None:
        """Put a just-started worker (still waiting for its spec) into the run's cgroup."""
        if self.base is None:
            return
        group = self._group(flow_run_id)
        try:  # `parents`: the project's cgroup comes back if something removed it while empty
            group.mkdir(parents=True, exist_ok=True)
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            log.warning(
                "run %s: cannot use cgroup %s (%s); falling back to the mark",
                flow_run_id[:8],
                group,
                exc,
            )

    def signal(self, flow_run_id: str, worker_pid: int | None, signum: int) -> int:
        """Send `signum` to every process of the run; how many there were."""
        pids = self.processes(flow_run_id, worker_pid)
        if signum == signal.SIGKILL and self.base is not None:
            with contextlib.suppress(OSError):
                (self._group(flow_run_id) / "cgroup.kill").write_text("1")
        if worker_pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(worker_pid, signum)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)
        return len(pids)

    def processes(self, flow_run_id: str, worker_pid: int | None) -> set[int]:
        """The live processes of a run: its cgroup, else the worker's descendants and the
        marked ones (a scan of /proc, ~2 ms; a cgroup needs only its list)."""
        if self.base is not None:
            pids = set(self._cgroup_pids(flow_run_id))
        else:
            pids = _marked(self.mark(flow_run_id))
            if worker_pid is not None:
                pids |= _descendants(worker_pid)
        pids.discard(os.getpid())
        return pids

    def release(self, flow_run_id: str, worker_pid: int | None) -> int:
        """The run is over: kill what is left of it and remove its cgroup; how many were left."""
        left = self.processes(flow_run_id, worker_pid) - ({worker_pid} if worker_pid else set())
        if left or self._cgroup_pids(flow_run_id):
            self.signal(flow_run_id, None, signal.SIGKILL)
        if self.base is not None:
            self._remove(self._group(flow_run_id))
            self._groups.pop(flow_run_id, None)
        return len(left)

    @staticmethod
    def _remove(group: Path, wait: float = 2.0) -> None:
        """Remove a run's cgroup once the kernel has emptied it (killed processes leave it
        a moment after the kill); runs in a thread, never on the daemon's loop."""
        if not group.exists():
            return
        deadline = time.monotonic() + wait
        while True:
            try:
                group.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    log.warning("cgroup %s is still busy; it is removed at the next start", group)
                    return
                _wait_empty(group, deadline)

    def leftovers(self) -> int:
        """At start: stop every process a killed daemon's runs left behind; how many.

        The marks are read even with a cgroup: a daemon before it may have had none.
        """
        count = 0
        for pid, mark in _marks():
            if mark.startswith(self.key + "/"):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                count += 1
        if self.base is not None:
            for group in self.base.glob("run-*"):
                count += self.release(group.name.removeprefix("run-"), None)
        return count

    def close(self) -> None:
        """`orc up` is stopping with every run ended: remove the project's cgroup if it is empty
        (a run's group still busy keeps it, for the next start to clean up)."""
        if self.base is None:
            return
        for group in self.base.glob("run-*"):
            with contextlib.suppress(OSError):
                group.rmdir()
        with contextlib.suppress(OSError):
            self.base.rmdir()

    def _cgroup_pids(self, flow_run_id: str) -> list[int]:
        if self.base is None:
            return []
        try:
            text = (self._group(flow_run_id) / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]


def _wait_empty(group: Path, deadline: float) -> None:
    """Block until `cgroup.events` says the group has no process left, or `deadline`."""
    import select

    try:
        events = (group / "cgroup.events").open("rb", buffering=0)
    except OSError:
        return
    with events:
        poller = select.poll()
        poller.register(events, select.POLLPRI)
        while b"populated 0" not in events.read() and time.monotonic() < deadline:
            poller.poll(max(1, int((deadline - time.monotonic()) * 1000)))
            events.seek(0)


def _own_cgroup() -> Path | None:
    """This process's cgroup v2 folder, if the unified hierarchy is mounted."""
    mount = _cgroup2_mount()
    if mount is None:
        return None
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return mount / line[3:].lstrip("/")
    return None


def _cgroup2_mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _make_base(parent: Path | None, name: str) -> Path | None:
    """A cgroup of our own under `parent` where runs can go; None if that is not allowed here."""
    if parent is None or os.environ.get("ORC_NO_CGROUP"):
        return None
    base = parent / name
    try:
        base.mkdir(exist_ok=True)
        probe = base / "probe"
        probe.mkdir(exist_ok=True)
        (probe / "cgroup.procs").read_text()
        probe.rmdir()
        if not (base / "cgroup.kill").exists():
            return None  # a kernel older than 5.14: no way to end a cgroup at once
    except OSError:
        return None
    return base


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _parents() -> Iterable[tuple[int, int]]:
    for entry in _pids():
        try:
            stat = (_PROC / str(entry) / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        yield entry, int(fields[1])


def _marked(mark: str) -> set[int]:
    return {pid for pid, value in _marks() if value == mark}


def _marks() -> Iterable[tuple[int, str]]:
    prefix = MARK.encode() + b"="
    me = os.getpid()
    for pid in _pids():
        if pid == me:
            continue
        try:
            environ = (_PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        if prefix not in environ:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(prefix):
                yield pid, item[len(prefix) :].decode(errors="replace")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir(_PROC) if name.isdigit()]


def kill_orphan(pid_file: Path) -> None:
    """Stop a worker left behind by a daemon that died, if it is still running."""
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"orchestrate.worker" in cmdline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


__all__ = ["MARK", "RunScopes", "kill_orphan"]
