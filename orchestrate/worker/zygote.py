"""`python -m orchestrate.worker.zygote --fd N`: a warm, single-threaded fork server for workers.

It imports the worker (and a deployment's `preload` modules) once, then forks
one child per flow run when the daemon asks; the child becomes an ordinary
worker (`orchestrate.worker.__main__.main`) that reads its spec over its own
socket and imports the flow's module only then, so the next run sees a source
edit. The model is `multiprocessing.forkserver`, not Gunicorn's arbiter:

- Gunicorn forks workers from its arbiter, the process that also supervises
  them, and with `preload_app` imports the app there (`Arbiter.setup` calls
  `app.wsgi()`). orc's supervisor is the daemon, which has threads (the store
  writer) and an event loop, and must not fork. Like forkserver, the forking
  is done by a separate, single-threaded server started from a clean
  interpreter, which only hands out processes;
- like forkserver, the daemon passes the child's file descriptors over a Unix
  socket (`SCM_RIGHTS`); the server's select loop is woken by `SIGCHLD`
  through `set_wakeup_fd`, and it reaps its children and writes each exit code to the
  child's own pipe, since the child is the server's, not the daemon's, to reap.
  One difference: the child, not the server, writes its pid, once it has its
  own session, so a signal to its group can never miss it;
- before its first fork it rehearses a worker's run, so that what running
  code writes (quickened functions, the type cache) is written once, here,
  not in every child (`orchestrate.worker.rehearsal`);
- like Gunicorn's `preload_app`, modules named in `preload` are imported
  before forking (shared copy-on-write, after `gc.freeze`) and cannot be
  reloaded in place: a change to one of their files restarts the server (the
  daemon checks the files it reports before each fork). A preload that fails to import is
  reported, not skipped as forkserver does, and runs start cold;
- unlike forkserver, which clears the server's `atexit` handlers in a child,
  a child runs them on exit, as a cold worker that imported the same modules
  would.

Each child starts a session of its own, takes its env and working dir from the
request, and runs with signal handlers reset, before it tells the daemon it
exists; the daemon then puts it into the run's scope before sending the spec,
exactly as for a cold worker.

Control messages (`SOCK_SEQPACKET`, one JSON object each):
- daemon → zygote: `{"preload": [...]}` once at start, then `{"op": "fork", "env": {...}, "cwd": "..."}` with four fds
  (worker socket, stdout, stderr, status pipe), or `{"op": "fork", "spare": true}` with a
  fifth, a pipe the child reads its `{"env", "cwd"}` from once the daemon has a run for it
  (a spare, forked ahead so a run need not wait for the fork and for its move into a
  cgroup), or `{"op": "ping"}`; a fork may name `"sources"`, its runs' entrypoint files,
  which the server compiles before it forks (`orchestrate.worker.code_cache`);
- zygote → daemon: `{"op": "ready", "pid", "files", "error", "protocol"}` once at start
  (`protocol`: see `orchestrate.worker.handshake`; the daemon uses no zygote of another),
  `{"op": "pong"}` for a ping.
Status pipe (per child), 8-byte records `(kind, value)`: `STARTED` with the
pid (written by the child after `setsid`), then `EXITED` with the exit code
(negative: killed by that signal), written by the zygote when it reaps it.
"""

from __future__ import annotations

import _signal  # `signal`'s functions without its enum wrappers (see `worker.run.Stopper`)
import gc
import hashlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import traceback
from typing import Any

from orchestrate.worker import code_cache, start_trace
from orchestrate.worker.entrypoints import add_import_folder, entrypoint_module_name
from orchestrate.worker.handshake import PROTOCOL

STATUS = struct.Struct("<ii")
STARTED = 1
EXITED = 2
#: The fds a fork request carries: worker socket, stdout, stderr, status pipe
#: (and for a spare, the pipe its run's env and folder come through).
FORK_FDS = 4
MAX_MESSAGE = 1 << 20
#: What every worker imports before its flow: loaded once here, shared by every child.
WARM_MODULES = (
    "orchestrate",
    "orchestrate.flows",
    "orchestrate.tasks",
    "orchestrate.engine.params",
    # loaded on a run's first task run: ~10 ms of CPU in each worker when loaded after the fork
    "orchestrate.engine.task_engine",
    "orchestrate.logging",
    "orchestrate.worker.__main__",
    "orchestrate.worker.entrypoints",
    "orchestrate.worker.runners",
    "asyncio",
)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--fd" or not argv[1].isdigit():
        print("usage: python -m orchestrate.worker.zygote --fd N", file=sys.stderr)
        return 2
    control = socket.socket(fileno=int(argv[1]))
    os.set_inheritable(control.fileno(), False)
    hello = _receive(control)
    preload = [str(m) for m in (hello or {}).get("preload", [])]
    add_import_folder(os.getcwd())  # the project's folder, for its preloaded modules
    error = _preload(preload)
    files = _module_files(preload)
    try:
        ready = {"op": "ready", "pid": os.getpid(), "files": files, "error": error}
        _send(control, {**ready, "protocol": PROTOCOL})
    except OSError:  # the daemon stopped while this one was starting
        return 0
    if error is not None:
        return 1
    return Server(control).serve()


def _preload(preload: list[str]) -> str | None:
    """Import what every run shares; the first import error as text, else None."""
    gc.disable()
    try:
        for name in (*WARM_MODULES, *preload):
            importlib.import_module(name)
        hashlib.sha1(b"").digest()  # OpenSSL's first use sets up what every worker's would
        if os.environ.get("ORC_NO_REHEARSAL") != "1":
            from orchestrate.worker import rehearsal

            rehearsal.rehearse()  # a run made here is not made again in every child
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        gc.freeze()  # what is loaded now lives as long as the server: never collect it (CoW)
        gc.enable()
    return None


def _module_files(preload: list[str]) -> list[str]:
    """The source files of the preloaded modules and their submodules (what the daemon watches)."""
    files = set()
    for name, module in list(sys.modules.items()):
        if any(name == p or name.startswith(p + ".") for p in preload):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                files.add(os.path.abspath(path))
    return sorted(files)


class Server:
    """The loop: fork on request, reap children and report their exit, stop when the daemon goes."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: dict[int, int] = {}  # pid -> its status pipe's write end
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)

    def serve(self) -> int:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, _ignore)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon stops us by closing the socket
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ)
        selector.register(self.wake_r, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fd == self.wake_r:
                    _drain(self.wake_r)
                    self.reap()
                elif not self.handle():
                    return 0

    def handle(self) -> bool:
        """Serve one control message; False when the daemon has closed its end."""
        try:
            data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, FORK_FDS + 1)
        except OSError:
            return False
        if not data:
            return False
        try:
            message = json.loads(data)
            if message.get("op") == "ping":
                _send(self.control, {"op": "pong", "children": len(self.children)})
            elif message.get("op") == "fork" and len(fds) == FORK_FDS + bool(message.get("spare")):
                self.fork(message, fds)
        finally:
            for fd in fds:
                os.close(fd)
        return True

    def fork(self, message: dict[str, Any], fds: list[int]) -> None:
        sources = [p for p in message.get("sources") or () if isinstance(p, str)]
        code_cache.warm(sources)
        for path in sources:
            entrypoint_module_name(path)
        status_w = os.dup(fds[3])
        pid = os.fork()
        if pid == 0:
            inherited = [self.control.fileno(), self.wake_r, self.wake_w, status_w]
            _child(message, fds, [*inherited, *self.children.values()])
        self.children[pid] = status_w

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            status_w = self.children.pop(pid, None)
            if status_w is not None:
                try:
                    os.write(status_w, STATUS.pack(EXITED, os.waitstatus_to_exitcode(status)))
                except OSError:
                    pass  # the daemon no longer listens for this one
                finally:
                    os.close(status_w)


def _child(message: dict[str, Any], fds: list[int], inherited: list[int]) -> None:
    """In the forked child: become a worker for one run, then exit; never returns."""
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        _signal.signal(signal.SIGCHLD, _signal.SIG_DFL)
        _signal.signal(signal.SIGTERM, _signal.SIG_DFL)
        _signal.signal(signal.SIGINT, _signal.default_int_handler)  # as a fresh interpreter has
        for fd in inherited:
            os.close(fd)
        os.setsid()
        sock_fd, out_fd, err_fd, status_fd = fds[:FORK_FDS]
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        worker_fd = os.dup(sock_fd)
        for fd in (sock_fd, out_fd, err_fd):
            os.close(fd)
        from orchestrate.worker import __main__ as worker

        ready = None
        if message.get("spare"):  # exist now, set up what needs no run, and be given one later
            os.write(status_fd, STATUS.pack(STARTED, os.getpid()))
            ready = worker.prepare(worker_fd)
            start_trace.mark("spare: ready")
            message = _run_setup(fds[FORK_FDS])
            start_trace.mark("spare: setup read")
        _set_environ(message["env"])
        os.chdir(message["cwd"])  # the project folder goes on sys.path with the run's spec
        if "spare" not in message:
            os.write(status_fd, STATUS.pack(STARTED, os.getpid()))
        os.close(status_fd)
        code = worker.main(["--fd", str(worker_fd)]) if ready is None else worker.serve(ready)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        _exit_like_python(code)


def _set_environ(env: dict[str, str]) -> None:
    """Make `os.environ` equal `env`, touching only what differs: the run's env is mostly the
    zygote's own, and each change is a `putenv` or `unsetenv` (clearing and refilling ~40
    variables cost a forked worker ~0.5 ms of CPU)."""
    for key in [key for key in os.environ if key not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _run_setup(fd: int) -> dict[str, Any]:
    """A spare's run: `{"env", "cwd"}` read to the end of its pipe; no run (the daemon
    dropped the spare, or went away) ends this child."""
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    if not data:
        os._exit(0)
    setup: dict[str, Any] = json.loads(data)
    return {**setup, "spare": True}


def _exit_like_python(code: int) -> None:
    """End the child as an interpreter would (threads joined, atexit run, streams flushed),
    without running the server's own `finally` blocks."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]  # as multiprocessing's children do
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        start_trace.mark("worker: exiting")
    finally:
        os._exit(code)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode())


def _receive(sock: socket.socket) -> dict[str, Any] | None:
    data = sock.recv(MAX_MESSAGE)
    if not data:
        return None
    message = json.loads(data)
    return message if isinstance(message, dict) else None


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _ignore(signum: int, frame: Any) -> None:
    """SIGCHLD only wakes the loop (through the wakeup fd); `reap` does the work."""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
