"""Warm zygotes: the daemon's side of `orchestrate.worker.zygote`, and their lifetime.

One zygote per interpreter (the daemon's, or a deployment's `python`/`venv`), project folder and `preload` list, started on the
first run that could use it (that run, and any while it warms, start cold) and
kept until the daemon stops. A zygote is not used, and is replaced, when:

- it has exited, or does not answer a ping after being idle (`HEALTH_IDLE`);
- a file of a module it preloaded has changed (its code would be stale);
- a fork does not report its child within `FORK_TIMEOUT`;
- (never used) it speaks another protocol than the daemon (another orc in that venv).

Each of these is logged, and the run starts cold instead: a warm start is an
optimisation, never a reason for a run not to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from orchestrate._version import __version__
from orchestrate.daemon.outcome import Outcome
from orchestrate.daemon.scope import RunScopes
from orchestrate.daemon.spares import Spare, fork_spares
from orchestrate.worker.code_cache import MAX_FILES
from orchestrate.worker.handshake import PROTOCOL, install_hint
from orchestrate.worker.zygote import EXITED, MAX_MESSAGE, STARTED, STATUS

log = logging.getLogger("orc.daemon.zygotes")

#: How long a zygote may take to import orchestrate and the preload list.
READY_TIMEOUT = 60.0
#: How long a fork may take before the zygote is taken for hung.
FORK_TIMEOUT = 5.0
#: A zygote idle for longer than this is pinged before it is used.
HEALTH_IDLE = 10.0
PING_TIMEOUT = 1.0
#: After a zygote failed to start, how long runs of its kind start cold before it is tried again.
RETRY_AFTER = 30.0
#: How many spares (see `daemon.spares`) each zygote keeps ready. One is enough for a run
#: now and then; when runs come quickly, each would wait for the one being forked and moved
#: into its cgroup (~10-20 ms on a loaded machine), which capped warm starts at ~50/s.
SPARES = 4
#: While a zygote still has spares, the next are forked this long after one is taken: forking
#: and moving them at once competed for the CPU with the start of the run that took it.
REFILL_AFTER = 0.5

Key = tuple[str, str, tuple[str, ...]]


class ZygoteError(Exception):
    """A zygote did not start, answer or fork."""


class ForkedProcess:
    """A worker forked by a zygote: its pid, and its exit code from the status pipe.

    The child is the zygote's to reap, so its exit code comes from the zygote.
    If the zygote dies first, the exit is still seen (a pidfd), but its code is
    lost: `returncode` is then None and the run's own records decide its end.
    """

    def __init__(self, pid: int, status_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_fd = status_fd
        self._buffer = b""
        self._exited: Outcome[int | None] = Outcome()
        asyncio.get_running_loop().add_reader(status_fd, self._on_status)

    async def wait(self) -> int | None:
        return await self._exited.wait()

    def done(self) -> bool:
        """Whether it has exited."""
        return self._exited.done()

    def _on_status(self) -> None:
        try:
            chunk = os.read(self._status_fd, 64)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        self._buffer += chunk
        while len(self._buffer) >= STATUS.size:
            kind, value = STATUS.unpack_from(self._buffer)
            self._buffer = self._buffer[STATUS.size :]
            if kind == EXITED:
                self._close_status()
                self._finish(value)
                return
        if not chunk:  # the zygote died before its child: watch the child itself
            self._close_status()
            self._watch_pidfd()

    def _watch_pidfd(self) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:  # already gone
            self._finish(None)
            return
        loop = asyncio.get_running_loop()

        def exited() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            self._finish(None)

        loop.add_reader(pidfd, exited)

    def _close_status(self) -> None:
        asyncio.get_running_loop().remove_reader(self._status_fd)
        os.close(self._status_fd)

    def _finish(self, code: int | None) -> None:
        self.returncode = code
        self._exited.set(code)


class Zygote:
    """One running `python -m orchestrate.worker.zygote` and the daemon's control socket to it."""

    def __init__(
        self, proc: asyncio.subprocess.Process, control: socket.socket, files: Sequence[str]
    ) -> None:
        self.proc = proc
        self.control = control
        self.files = {path: _mtime(path) for path in files}
        self.last_used = time.monotonic()
        #: When it started (seconds since the epoch), and how many workers it has forked.
        self.started = time.time()
        self.forks = 0
        #: The pids of its latest children (spares included), newest last.
        self.children: deque[int] = deque(maxlen=64)
        #: Its runs' entrypoint files, compiled by it before each fork (`worker.code_cache`).
        self.sources: dict[str, None] = {}
        self._asking = asyncio.Lock()

    @classmethod
    async def start(cls, python: str, cwd: str, preload: Sequence[str]) -> Zygote:
        """Start one and wait until it has imported everything; `ZygoteError` if it cannot."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = await asyncio.create_subprocess_exec(
                python,
                "-P",  # no folder of the project before the standard library (see worker.run)
                "-m",
                "orchestrate.worker.zygote",
                "--fd",
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a Ctrl-C meant for `orc up` is the daemon's to handle
                cwd=cwd,
            )
        except OSError as exc:
            ours.close()
            raise ZygoteError(f"cannot start {python} -m orchestrate.worker.zygote: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        zygote = cls(proc, ours, ())
        try:
            await zygote._tell({"preload": list(preload)})
            ready = await asyncio.wait_for(zygote._hear(), READY_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            await zygote.stop()
            raise ZygoteError(f"the zygote did not start: {exc!r}") from exc
        except BaseException:  # cancelled (the daemon is stopping): it must not outlive us
            await asyncio.shield(zygote.stop())
            raise
        if ready.get("protocol") != PROTOCOL:
            await zygote.stop()
            theirs = ready.get("protocol", 0)
            raise ZygoteError(
                f"the zygote of {python} speaks protocol v{theirs}, the daemon v{PROTOCOL}: "
                f"install orc {__version__} there ({install_hint(python)})"
            )
        if ready.get("error"):
            await zygote.stop()
            raise ZygoteError(f"preloading {list(preload)} failed: {ready['error']}")
        zygote.files = {path: _mtime(path) for path in ready.get("files", [])}
        return zygote

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.returncode is None

    def compile_ahead(self, source: str | None) -> None:
        """Have it compile `source` (a run's entrypoint file) before its next forks."""
        if source is not None and source not in self.sources and len(self.sources) < MAX_FILES:
            self.sources[source] = None

    def changed(self) -> list[str]:
        """The preloaded files that changed since it started."""
        return [path for path, mtime in self.files.items() if _mtime(path) != mtime]

    async def ping(self) -> bool:
        """Whether it answers within `PING_TIMEOUT`."""
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                async with self._asking:
                    await self._tell({"op": "ping"})
                    return (await self._hear()).get("op") == "pong"
        except (OSError, TimeoutError, ValueError):
            return False

    async def fork(
        self, env: dict[str, str] | None, cwd: str | None, fds: Sequence[int], status: int
    ) -> ForkedProcess:
        """A child with `fds` (worker socket, stdout, stderr, status pipe's write end), in a
        session of its own, in `cwd` with `env`; returns once the child has said, on the
        `status` read end, that it exists. `fds` are closed here once sent: then a zygote
        that dies before forking closes the status pipe, and the run goes cold at once.
        Without `env` and `cwd` it is a spare (see `daemon.spares`): a fifth fd is the pipe
        they come through later."""
        self.last_used = time.monotonic()
        request: dict[str, Any] = (
            {"op": "fork", "env": env, "cwd": cwd}
            if env is not None
            else {"op": "fork", "spare": True}
        )
        if self.sources:
            request["sources"] = list(self.sources)
        message = json.dumps(request).encode()
        try:
            socket.send_fds(self.control, [message], list(fds))
        except OSError as exc:  # a full socket (a stuck zygote) included
            raise ZygoteError(f"the zygote {self.pid} does not take requests: {exc}") from exc
        finally:
            for fd in fds:
                os.close(fd)
        async with asyncio.timeout(FORK_TIMEOUT):  # not wait_for: no task of its own a fork
            child = await _started(status)
        self.children.append(child.pid)
        return child

    async def stop(self) -> None:
        """Close its socket (it exits on that), and kill it if it does not."""
        self.control.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()

    async def _tell(self, message: dict[str, Any]) -> None:
        await asyncio.get_running_loop().sock_sendall(self.control, json.dumps(message).encode())

    async def _hear(self) -> dict[str, Any]:
        data = await asyncio.get_running_loop().sock_recv(self.control, MAX_MESSAGE)
        if not data:
            raise ValueError("the zygote closed its socket")
        message = json.loads(data)
        if not isinstance(message, dict):
            raise ValueError(f"not a zygote message: {data[:200]!r}")
        return message


class Zygotes:
    """The daemon's zygotes, by (interpreter, project folder, preload list)."""

    def __init__(
        self, python: str = sys.executable, scopes: RunScopes | None = None, spares: bool = True
    ) -> None:
        self.python = python
        self.scopes = scopes
        self.spares = spares
        self._spares: dict[Key, list[Spare]] = {}  # oldest first
        self._refilling: set[asyncio.Task[None]] = set()
        #: spares being forked, by kind (`_refill_later` counts them as on their way)
        self._forking: dict[Key, int] = {}
        #: what runs waiting for a spare of that kind wait on: the next round's arrival
        self._arrivals: dict[Key, Outcome[None]] = {}
        self._dropping: set[asyncio.Task[None]] = set()
        self._ready: dict[Key, Zygote] = {}
        self._starting: dict[Key, asyncio.Task[None]] = {}
        self._failed: dict[Key, float] = {}
        self._fallbacks: dict[Key, str] = {}  # why a run of that kind last started cold

    async def fork(
        self,
        python: str,
        cwd: str,
        preload: Sequence[str],
        env: dict[str, str],
        fds: Sequence[int],
        status: int,
        source: str | None = None,
    ) -> ForkedProcess | None:
        """A warm child of `python`'s zygote, or None when none can be had now (start cold; the
        reason is logged). `fds` are closed here either way (see `Zygote.fork`). `source`, the
        run's entrypoint file, is compiled by the zygote from now on."""
        key = (python, cwd, tuple(preload))
        zygote = await self._usable(key)
        if zygote is None:
            for fd in fds:
                os.close(fd)
            return None
        zygote.compile_ahead(source)
        try:
            forked = await zygote.fork(env, cwd, fds, status)
        except (ZygoteError, TimeoutError, OSError) as exc:
            log.warning("zygote %d failed to fork (%r); starting the run cold", zygote.pid, exc)
            self._cold(key, f"zygote {zygote.pid} failed to fork ({exc!r})")
            await self._retire(key, zygote)
            self._warm_later(key)
            return None
        zygote.forks += 1
        return forked

    async def spare(
        self, python: str, cwd: str, preload: Sequence[str], source: str | None = None
    ) -> Spare | None:
        """The waiting spare of that kind if its zygote is fit (it reaps the spare and reports
        its exit; else None, and `fork` checks again, says why and replaces it); the next
        spare is forked meanwhile, with `source` (the run's entrypoint file) compiled."""
        key = (python, cwd, tuple(preload))
        if not self._spares.get(key) and self._forking.get(key):
            # one is being forked: waiting for it is never slower than forking another
            arrival = self._arrivals.setdefault(key, Outcome())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FORK_TIMEOUT):
                    await arrival.wait()
        spare = self._take(key)
        if spare is None:
            return None
        zygote = self._ready.get(key)
        fit = zygote is spare.zygote and _unfit(spare.zygote) is None and spare.alive()
        if fit and time.monotonic() - spare.zygote.last_used > HEALTH_IDLE:
            fit = await spare.zygote.ping()
        if not fit or zygote is None:
            self._drop(spare)
            return None
        zygote.last_used = time.monotonic()
        zygote.forks += 1
        zygote.compile_ahead(source)
        if len(self._spares.get(key, ())) >= 2:  # not short: fork after this run has started
            asyncio.get_running_loop().call_later(REFILL_AFTER, self._refill_later, key)
        else:
            self._refill_later(key)
        return spare

    def keep_only(self, kinds: Iterable[tuple[str | None, str, Sequence[str]]]) -> None:
        """Stop, in the background, the zygotes (and their spares) of kinds no deployment uses
        any more: each edit of a `preload`, `python` or `venv` would otherwise leave one more
        set of processes until orc up stops. Runs they forked are not touched."""
        keep = {(python or self.python, cwd, tuple(preload)) for python, cwd, preload in kinds}
        for key in [key for key in self._ready if key not in keep]:
            log.info("zygote %d is stopped: no deployment uses it now", self._ready[key].pid)
            task = asyncio.create_task(self._retire(key, self._ready[key]))
            self._dropping.add(task)
            task.add_done_callback(self._dropping.discard)
        for key in [key for key in self._fallbacks if key not in keep]:
            del self._fallbacks[key]
        for key in [key for key in self._failed if key not in keep]:
            del self._failed[key]

    async def warm(self, cwd: str, preload: Sequence[str] = (), python: str | None = None) -> bool:
        """Start the zygote for (`python`, `cwd`, `preload`) and wait for it; whether it is ready."""
        key = (python or self.python, cwd, tuple(preload))
        self._failed.pop(key, None)
        if key not in self._ready:
            self._warm_later(key)
            await asyncio.shield(self._starting[key])
        return key in self._ready

    def prewarm(self, cwd: str, preload: Sequence[str] = (), python: str | None = None) -> None:
        """Start the zygote for (`python`, `cwd`, `preload`) in the background, so a first run
        is warm too."""
        self._warm_later((python or self.python, cwd, tuple(preload)))

    def zygote(
        self, cwd: str, preload: Sequence[str] = (), python: str | None = None
    ) -> Zygote | None:
        """The ready zygote for (`python`, `cwd`, `preload`), if there is one."""
        return self._ready.get((python or self.python, cwd, tuple(preload)))

    def report(self) -> list[dict[str, Any]]:
        """Each zygote for `orc status`: its interpreter, pid, start, forks served, and why its
        runs last started cold (one starting or failed has no pid)."""
        keys = sorted({*self._ready, *self._starting, *self._failed, *self._fallbacks})
        rows = []
        for key in keys:
            zygote = self._ready.get(key)
            condition = "ready" if zygote else "starting" if key in self._starting else "down"
            rows.append(
                {
                    "python": key[0],
                    "folder": key[1],
                    "preload": list(key[2]),
                    "state": condition,
                    "pid": zygote.pid if zygote else None,
                    "up_since": zygote.started if zygote else None,
                    "forks": zygote.forks if zygote else 0,
                    "last_cold_reason": self._fallbacks.get(key),
                    "spare": bool(self._spares.get(key)),
                }
            )
        return rows

    async def close(self) -> None:
        """Stop every zygote (the daemon is stopping); runs they forked are not touched."""
        for task in self._starting.values():
            task.cancel()
        await asyncio.gather(*self._starting.values(), return_exceptions=True)
        # a spare being forked is let finish (a cancel could leave its cgroup behind), then
        # dropped by its round, which starts no other
        self.spares = False
        await asyncio.gather(*self._refilling, *self._dropping, return_exceptions=True)
        spares = [s for pool in self._spares.values() for s in pool]
        self._spares = {}
        await asyncio.gather(*(s.drop(self.scopes) for s in spares), return_exceptions=True)
        zygotes, self._ready = list(self._ready.values()), {}
        await asyncio.gather(*(z.stop() for z in zygotes), return_exceptions=True)

    async def _usable(self, key: Key) -> Zygote | None:
        zygote = self._ready.get(key)
        if zygote is None:
            if key not in self._failed:  # else the reason it failed stands
                self._cold(key, "its zygote was still starting")
            self._warm_later(key)
            return None
        reason = _unfit(zygote)
        idle = time.monotonic() - zygote.last_used > HEALTH_IDLE
        if reason is None and idle and not await zygote.ping():
            reason = "it did not answer a ping"
        if reason is None:
            return zygote
        log.warning("zygote %d is replaced: %s; this run starts cold", zygote.pid, reason)
        self._cold(key, f"zygote {zygote.pid} was replaced: {reason}")
        await self._retire(key, zygote)
        self._warm_later(key)
        return None

    def _cold(self, key: Key, reason: str) -> None:
        self._fallbacks[key] = f"{reason} (at {time.strftime('%Y-%m-%dT%H:%M:%S%z')})"

    def _warm_later(self, key: Key) -> None:
        failed = self._failed.get(key)
        if key in self._starting or (failed and time.monotonic() - failed < RETRY_AFTER):
            return
        self._starting[key] = asyncio.create_task(self._start(key))

    async def _start(self, key: Key) -> None:
        python, cwd, preload = key
        try:
            self._ready[key] = await Zygote.start(python, cwd, preload)
            self._failed.pop(key, None)
            self._refill_later(key)
            log.info(
                "zygote %d ready for %s (preload %s)", self._ready[key].pid, cwd, list(preload)
            )
        except ZygoteError as exc:
            self._failed[key] = time.monotonic()
            self._fallbacks[key] = f"{exc} (at {time.strftime('%Y-%m-%dT%H:%M:%S%z')})"
            log.warning("%s; runs start cold for %gs before it is tried again", exc, RETRY_AFTER)
        finally:
            self._starting.pop(key, None)

    async def _retire(self, key: Key, zygote: Zygote) -> None:
        if self._ready.get(key) is zygote:
            del self._ready[key]
        pool = self._spares.pop(key, [])
        kept = [s for s in pool if s.zygote is not zygote]
        if kept:
            self._spares[key] = kept
        await asyncio.gather(*(s.drop(self.scopes) for s in pool if s.zygote is zygote))
        await zygote.stop()

    def _take(self, key: Key) -> Spare | None:
        """The oldest spare of `key`, taken out of its pool."""
        pool = self._spares.get(key)
        if not pool:
            return None
        spare = pool.pop(0)
        if not pool:
            del self._spares[key]
        return spare

    def _refill_later(self, key: Key) -> None:
        """Fork what `key`'s pool lacks, counting the spares being forked already: one alone
        while none is ready or coming (a run may be waiting for it), else the rest together.
        A round does not wait for the one before it: when runs take spares faster than one
        round makes them, the next round is under way as soon as a spare is taken."""
        coming = self._forking.get(key, 0)
        missing = SPARES - len(self._spares.get(key, ())) - coming
        if not self.spares or missing <= 0 or key not in self._ready:
            return
        count = missing if self._spares.get(key) or coming else 1
        self._forking[key] = coming + count
        task = asyncio.create_task(self._refill(key, count))
        self._refilling.add(task)
        task.add_done_callback(self._refilling.discard)

    async def _refill(self, key: Key, count: int) -> None:
        """Fork `count` spares of `key`'s zygote, in the background; then the next round if
        the pool still lacks some."""
        zygote = self._ready.get(key)
        forked = False  # then the next round, if one is lacking; never after a failed fork
        try:
            if zygote is None or not zygote.alive():
                return
            try:
                spares = await fork_spares(zygote, self.scopes, count)
            except (ZygoteError, TimeoutError, OSError) as exc:
                log.warning("zygote %d failed to fork a spare (%r)", zygote.pid, exc)
                return
            forked = bool(spares)
            if self._ready.get(key) is not zygote or not self.spares:  # replaced meanwhile
                await asyncio.gather(*(s.drop(self.scopes) for s in spares))
            else:
                self._spares.setdefault(key, []).extend(spares)
        finally:
            self._forking[key] -= count
            if not self._forking[key]:
                del self._forking[key]
            self._arrived(key)  # a run waiting takes this round's, not a later round's
        if forked:
            self._refill_later(key)  # a replacing zygote's pool counted this round as coming

    def _arrived(self, key: Key) -> None:
        """Wake the runs waiting for a spare of `key` (to one, or to none if refilling ended)."""
        arrival = self._arrivals.pop(key, None)
        if arrival is not None:
            arrival.set(None)

    def _drop(self, spare: Spare) -> None:
        task = asyncio.create_task(spare.drop(self.scopes))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)


def _unfit(zygote: Zygote) -> str | None:
    if not zygote.alive():
        return f"it exited with code {zygote.proc.returncode}"
    changed = zygote.changed()
    if changed:
        return f"{changed[0]} changed" + (f" (and {len(changed) - 1} more)" if changed[1:] else "")
    return None


async def _started(status_fd: int) -> ForkedProcess:
    """Wait for the child's STARTED record on its status pipe."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[int] = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(status_fd, STATUS.size)  # the child writes it in one piece
        except BlockingIOError:
            return
        loop.remove_reader(status_fd)
        if len(data) == STATUS.size and STATUS.unpack(data)[0] == STARTED:
            ready.set_result(STATUS.unpack(data)[1])
        else:
            ready.set_exception(ZygoteError(f"the zygote did not report its child ({data!r})"))

    os.set_blocking(status_fd, False)
    loop.add_reader(status_fd, readable)
    try:
        pid = await ready
    finally:
        loop.remove_reader(status_fd)
    return ForkedProcess(pid, status_fd)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


__all__ = ["ForkedProcess", "Zygote", "ZygoteError", "Zygotes"]
