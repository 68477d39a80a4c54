"""A flow run the zygote makes before it forks, so its workers start from a used interpreter.

A forked worker pays ~3 µs of kernel time for each page of the zygote it
writes to, and in CPython 3.11 running code writes to pages besides the
objects it uses: a function counts its first calls and is then rewritten
in place (quickened), and an attribute or method looked up for the first
time is written into the interpreter's type cache (touching the names it
evicts). A zygote that had only imported the engine left all of that to
every child. One rehearsal, this file's one-task flow served as a forked
worker serves a user's (its channel over a socket pair, the handshake, the
spec, a journal in memory, the record sink and its thread), makes those
writes once, in the zygote, where every child shares them: ~150 fewer pages
copied and ~1.5 ms less CPU for each forked run of a one-task flow
(bench/daemon_rates.py).

What it sets up is undone: its module, the sink, the logging (a worker sets
its own from its run's level), the import path, the environment and folder,
SIGTERM's handler, the masker, the pause gate and stdout's buffering; its
threads have ended before it returns.
`ORC_NO_REHEARSAL=1` leaves it out, for measuring.
"""

from __future__ import annotations

import _signal
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrate import flow, task
from orchestrate.core.runs import new_id

#: Runs made: a function is quickened on its eighth call.
TIMES = 10


@task
def rehearsal_step(i: int) -> int:
    return i


@flow
def rehearsal(i: int = 0) -> int:
    return rehearsal_step(i)


def rehearse(times: int = TIMES) -> bool:
    """Serve this file's flow `times` times as a forked worker would, then undo what that set
    up; False if it failed (reported on stderr: it costs the zygote's children speed only)."""
    try:
        with _left_as_found():
            for i in range(times):
                _serve_once(i)
    except Exception as exc:
        print(f"orc zygote: the rehearsal failed ({exc!r}); workers start slower", file=sys.stderr)
        return False
    return True


@contextmanager
def _left_as_found() -> Iterator[None]:
    """Undo on the way out what a run sets up in a process: the sink, the run's module, the
    import path, the environment and folder, the logging (configured once per process, by its
    run), SIGTERM's handler, the secrets' masker, the pause gate and stdout's buffering."""
    from orchestrate.core import secrets
    from orchestrate.engine import logs, pauses
    from orchestrate.recording import set_sink

    orc_logger = logging.getLogger(logs.ROOT_LOGGER)
    handlers, level, configured = list(orc_logger.handlers), orc_logger.level, logs._configured
    modules, path, environ, folder = set(sys.modules), list(sys.path), dict(os.environ), os.getcwd()
    on_sigterm, masker, gate = _signal.getsignal(signal.SIGTERM), secrets.current(), pauses._gate
    line_buffering = getattr(sys.stdout, "line_buffering", None)
    previous = set_sink(None)
    try:
        yield
    finally:
        set_sink(previous)
        _signal.signal(signal.SIGTERM, on_sigterm)
        secrets.use(masker)
        pauses.install_resume_gate(gate)
        if line_buffering is not None and hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(line_buffering=line_buffering)
        for name in set(sys.modules) - modules:
            if name.startswith("orc_entrypoint_"):
                del sys.modules[name]
        sys.path[:] = path
        os.chdir(folder)
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
        orc_logger.handlers[:] = handlers
        orc_logger.setLevel(level)
        logs._configured = configured


def _serve_once(i: int) -> None:
    """One run through the worker's own path (`worker.__main__.prepare` and `serve`): its
    channel over a socket pair whose other end already holds the hello and the spec, the
    record sink and its thread, a journal in memory; the records are read and dropped."""
    from orchestrate.worker import __main__ as worker
    from orchestrate.worker import handshake
    from orchestrate.worker.channel import RUN, notification

    journal = os.memfd_create("orc-rehearsal-journal") if hasattr(os, "memfd_create") else None
    supervisor, ours = socket.socketpair()
    try:
        spec = {**_spec(i), "journal": None if journal is None else f"/proc/self/fd/{journal}"}
        supervisor.sendall(handshake.our_line() + notification(RUN, spec))
        ready = worker.prepare(os.dup(ours.fileno()))
        try:
            code = worker.serve(ready)
        finally:
            ready.channel.close()
        if code != worker.EXIT_COMPLETED:
            raise RuntimeError(f"the rehearsal's run exited {code}")
    finally:
        for sock in (ours, supervisor):
            sock.close()
        if journal is not None:
            os.close(journal)


def _spec(i: int) -> dict[str, Any]:
    return {
        "flow_run_id": new_id(),  # not `uuid`, which would load `platform` into every zygote
        "deployment": "rehearsal",
        "entrypoint": f"{os.path.basename(__file__)}:rehearsal",
        "project_root": os.path.dirname(os.path.abspath(__file__)),
        "parameters": {"i": i},
        "pending_recorded": True,
    }


__all__ = ["TIMES", "rehearse"]
