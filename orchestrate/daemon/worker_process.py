"""A worker's processes: forking it from a warm zygote or starting `python -m orchestrate.worker`
cold, and reaching all that it starts.

Each worker runs in a session (so a process group) of its own, and with run
scopes (see `daemon.scope`) in a cgroup or under a subreaper too, so a signal
reaches whatever the flow started, detached processes included. The
supervisor's channels to it are made here: one end of a socket pair (passed
as `--fd N`) and a pipe each for stdout and stderr. A forked worker gets the
same ends, its own session and the same environment and folder (see
`daemon.zygotes`), so nothing after its start can tell the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from signal import SIGKILL
from typing import Protocol

from orchestrate.daemon.scope import MARK, RunScopes
from orchestrate.daemon.zygotes import Zygotes
from orchestrate.worker.spec import RunSpec

log = logging.getLogger("orc.daemon.supervisor")


class WorkerProcess(Protocol):
    """A started worker: a cold subprocess, or a child forked by a zygote."""

    @property
    def pid(self) -> int: ...

    async def wait(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Spawned:
    """A started worker and the daemon's ends of its socket and output pipes."""

    proc: WorkerProcess
    sock: socket.socket
    stdout: int
    stderr: int
    #: The cgroup a spare already waits in (see `daemon.spares`), which becomes the run's.
    scope: str | None = None
    #: Forked from a zygote that said it speaks our protocol: its hello need not be awaited.
    agreed: bool = False
    #: A spare's: hands it its run's env and folder, which wakes it. Called once its hello
    #: and spec are in its socket, so it reads them at once instead of waking twice.
    setup: Callable[[], None] | None = None


async def start_worker(
    python: str, spec: RunSpec, env: dict[str, str] | None, zygotes: Zygotes | None
) -> Spawned:
    """Fork a worker for `spec` from a warm zygote if one is ready, else spawn it cold."""
    if zygotes is not None:
        forked = await fork_worker(zygotes, python, spec, env)
        if forked is not None:
            return forked
    return await spawn_worker(python, spec, env)


async def fork_worker(
    zygotes: Zygotes, python: str, spec: RunSpec, env: dict[str, str] | None
) -> Spawned | None:
    """A worker forked from `python`'s zygote for `spec`, or None (start it cold; the zygote
    said why)."""
    environ = environment() if env is None else env
    source = entrypoint_file(spec.project_root, spec.entrypoint)
    spare = await zygotes.spare(python, spec.project_root, spec.preload, source)
    if spare is not None:
        setup = functools.partial(spare.give, environ, spec.project_root)
        return Spawned(spare.proc, spare.sock, spare.stdout, spare.stderr, spare.scope, True, setup)
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    status_read, status_write = os.pipe()
    proc = None
    try:
        fds = (theirs.detach(), out_write, err_write, status_write)  # closed by `fork`
        proc = await zygotes.fork(
            python, spec.project_root, spec.preload, environ, fds, status_read, source
        )
    finally:
        if proc is None:
            for fd in (out_read, err_read, status_read):
                os.close(fd)
            ours.close()
    return None if proc is None else Spawned(proc, ours, out_read, err_read, agreed=True)


def environment() -> dict[str, str]:
    """A copy of the daemon's environment for a worker. Copying `os.environ` decodes every
    variable (~16 µs a run for 35 of them), so the decoded copy is kept and made again only
    when the raw environment differs from the one it was made of (a comparison: ~0.3 µs)."""
    global _environment
    raw: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
    if _environment is None or _environment[0] != raw:
        _environment = (dict(raw), dict(os.environ))
    return dict(_environment[1])


#: The raw environment the kept copy was decoded from, and that copy.
_environment: tuple[dict[bytes, bytes], dict[str, str]] | None = None


@functools.lru_cache(maxsize=256)
def entrypoint_file(root: str, entrypoint: str) -> str | None:
    """The real path of the entrypoint's file, as a worker resolves it (None if the entrypoint
    is malformed: its worker says so). Remembered: a stale answer only costs a compile."""
    file_part = entrypoint.rpartition(":")[0]
    return os.path.realpath(os.path.join(root, file_part)) if file_part else None


async def spawn_worker(python: str, spec: RunSpec, env: dict[str, str] | None) -> Spawned:
    """Start a worker for `spec` in a session of its own; an OSError closes every end first."""
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            python,
            "-P",  # no folder of the project before the standard library (see worker.run)
            "-m",
            "orchestrate.worker",
            "--fd",
            str(theirs.fileno()),
            stdin=subprocess.DEVNULL,
            stdout=out_write,
            stderr=err_write,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            cwd=spec.project_root,
            env=env,
        )
    except OSError:
        for fd in (out_read, err_read):
            os.close(fd)
        ours.close()
        raise
    finally:
        theirs.close()
        os.close(out_write)
        os.close(err_write)
    return Spawned(proc, ours, out_read, err_read)


class RunProcesses:
    """Every process of one flow run: the worker's group, or with `scopes` the run's scope."""

    def __init__(self, flow_run_id: str, scopes: RunScopes | None) -> None:
        self.flow_run_id = flow_run_id
        self.scopes = scopes
        #: The worker's pid (and its process group's), once it started.
        self.pid: int | None = None

    def prepare(self, spec: RunSpec) -> tuple[RunSpec, dict[str, str] | None]:
        """The spec and environment to start the worker with, so that it lands in the scope."""
        if self.scopes is None:
            return spec, None
        env = {**environment(), MARK: self.scopes.mark(self.flow_run_id)}
        return dataclasses.replace(spec, subreaper=not self.scopes.uses_cgroup), env

    def adopt(self, pid: int, scope: str | None = None) -> None:
        """Take the started worker into the run's scope (before it runs any user code); a
        spare is in a `scope` of its own already, which becomes the run's."""
        self.pid = pid
        if self.scopes is not None and scope is not None:
            self.scopes.bind(self.flow_run_id, scope)
        elif self.scopes is not None:
            self.scopes.adopt(self.flow_run_id, pid)

    def signal(self, signum: int) -> None:
        """`signum` to the whole run: the worker's group, and with scopes every process of it."""
        if self.scopes is not None:
            self.scopes.signal(self.flow_run_id, self.pid, signum)
        elif self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)

    async def release(self) -> int:
        """The worker is gone: stop whatever of the run is still running (detached ones too);
        how many processes were left (0 if that is not known)."""
        if self.scopes is None:
            self.signal(SIGKILL)
            return 0
        try:
            return await asyncio.to_thread(self.scopes.release, self.flow_run_id, self.pid)
        except Exception:
            log.exception("Stopping what flow run %s left running failed", self.flow_run_id)
            return 0


__all__ = [
    "RunProcesses",
    "Spawned",
    "WorkerProcess",
    "fork_worker",
    "spawn_worker",
    "start_worker",
]
