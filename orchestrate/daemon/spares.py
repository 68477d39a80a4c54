"""Spare workers: children of a zygote, forked and put into a cgroup before their run exists.

Forking (~3 ms) and above all moving a process into a cgroup (the kernel waits
for an RCU grace period: 0.1-20 ms, measured on the loaded 2-core machine) were
most of a warm start. A spare has done both while the daemon was idle: it has
its own session and scope, its channels, and waits on a pipe for its run's env
and folder; it has imported nothing of the user's, so a source edit is still
seen by the next run. It has started the threads a worker needs before its run
(`orchestrate.worker.__main__.prepare`). The daemon gives it the next run of its
kind and forks the next spares in the background, several at a time when runs
come quickly (see `daemon.zygotes`); a spare of a zygote being replaced is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrate.daemon.scope import RunScopes
    from orchestrate.daemon.zygotes import ForkedProcess, Zygote

log = logging.getLogger("orc.daemon.zygotes")


@dataclass
class Spare:
    """A forked child waiting for its run, and the daemon's ends of its channels."""

    zygote: Zygote
    proc: ForkedProcess
    sock: socket.socket
    stdout: int
    stderr: int
    setup: int  # the write end of the pipe its run's env and folder go through
    scope: str | None  # its cgroup's name for `RunScopes.bind`; None without cgroups

    def alive(self) -> bool:
        return not self.proc.done()

    def give(self, env: dict[str, str], cwd: str) -> None:
        """Hand it its run's environment and folder, which wakes it: the daemon has put its
        hello and spec in its socket first, so it reads them without waiting again."""
        try:
            data = json.dumps({"env": env, "cwd": cwd}).encode()
            view = memoryview(data)
            while view:  # the pipe holds 64 KiB; the child reads as we write
                view = view[os.write(self.setup, view) :]
        finally:
            os.close(self.setup)

    async def drop(self, scopes: RunScopes | None) -> None:
        """Kill it (it never ran anything of a run), and close our ends."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for fd in (self.setup, self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.sock.close()
        if scopes is not None and self.scope is not None:
            await asyncio.to_thread(scopes.release, self.scope, None)


async def fork_spares(zygote: Zygote, scopes: RunScopes | None, count: int) -> list[Spare]:
    """Up to `count` new spares from `zygote`, forked together and moved into their cgroups in
    one thread, one after the other: the kernel's wait before a move is shared by moves that
    follow each other closely, and one thread hop serves them all. The ones that failed are
    logged and left out."""
    forked = await asyncio.gather(*(_fork(zygote) for _ in range(count)), return_exceptions=True)
    spares = [s for s in forked if isinstance(s, Spare)]
    for failed in (f for f in forked if not isinstance(f, Spare)):
        if not isinstance(failed, Exception):
            raise failed
        log.warning("zygote %d failed to fork a spare (%r)", zygote.pid, failed)
    if scopes is None or not spares:
        return spares
    try:
        scopes_of = await asyncio.to_thread(lambda: [scopes.spare(s.proc.pid) for s in spares])
    except BaseException:
        await asyncio.gather(*(s.drop(scopes) for s in spares), return_exceptions=True)
        raise
    for spare, scope in zip(spares, scopes_of, strict=True):
        spare.scope = scope
    return spares


async def _fork(zygote: Zygote) -> Spare:
    """A spare forked from `zygote`, not yet in a cgroup."""
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    status_read, status_write = os.pipe()
    setup_read, setup_write = os.pipe()
    fds = (theirs.detach(), out_write, err_write, status_write, setup_read)  # closed by `fork`
    try:
        proc = await zygote.fork(None, None, fds, status_read)
    except BaseException:
        for fd in (out_read, err_read, status_read, setup_write):
            os.close(fd)
        ours.close()
        raise
    return Spare(zygote, proc, ours, out_read, err_read, setup_write, None)


__all__ = ["Spare", "fork_spares"]
