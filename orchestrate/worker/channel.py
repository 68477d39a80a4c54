"""The socket between a worker and its supervisor, and the lines that cross it.

The supervisor hands the worker one end of a socket pair (its number on the
command line); stdin, stdout and stderr stay the user's. Both ways it carries
newline-delimited JSON-RPC notifications:

- both ways, first: `hello` (see `orchestrate.worker.handshake`), the
  supervisor's before the worker's; the worker goes on only if they agree;
- supervisor → worker: `run` (params: the `RunSpec`), once; later
  perhaps `stop` (params: `state`, `message`), sent just before SIGTERM so
  the worker knows whether it is being cancelled or timed out, and `resume`
  (params: `key`, `run_input`) for a flow run paused in `pause_flow_run`;
- worker → supervisor: `records` (see `orchestrate.recording.stream`).

The supervisor never closes its end while the worker runs, so end-of-file
means the daemon is gone (killed, or crashed): nothing the run records can
be stored any more and the next `orc up` will mark it Crashed, so the worker
stops itself rather than run on as an orphan (`watch_for_hangup`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from orchestrate.worker import handshake

RUN = "run"
STOP = "stop"
RESUME = "resume"
RECORDS = "records"

#: How long a worker waits for its spec before giving up.
SPEC_TIMEOUT = 30.0


def notification(method: str, params: dict[str, Any]) -> bytes:
    """One JSON-RPC notification as a line; a value JSON lacks (a TOML date) goes as its text."""
    message = {"jsonrpc": "2.0", "method": method, "params": params}
    return json.dumps(message, default=str).encode() + b"\n"


class ChannelError(Exception):
    """The supervisor's socket did not deliver a spec."""


class Channel:
    """The worker's end: read the spec, hand out a stream for records, peek for a stop reason."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._pending = b""  # bytes read past the spec line
        self._reading = threading.Lock()  # the hang-up watch and `stop_reason` both read
        self._scanned = 0  # how far `_pending` was searched for `resume` notices
        self._resumed = threading.Condition(self._reading)
        #: the params of each `resume` notice received, by pause key
        self.resumes: dict[str, dict[str, Any]] = {}
        #: What the record sink's thread waits on; it serves this socket's input meanwhile.
        self.wake = InputWake()
        self._on_hangup: Callable[[], None] | None = None

    @classmethod
    def from_fd(cls, fd: int) -> Channel:
        os.set_inheritable(fd, False)  # the flow's own subprocesses must not hold it open
        return cls(socket.socket(fileno=fd))

    def greet(self) -> None:
        """Answer the supervisor's `hello` with ours; `ChannelError` if we speak different protocols.

        Ours is sent either way, so the supervisor can say what to install where.
        """
        line = self._read_line_within("no hello arrived")
        theirs = handshake.parse(line)
        if theirs is None:
            raise ChannelError(
                f"expected a {handshake.HELLO!r} notification first, got {line[:200]!r}"
            )
        self.sock.sendall(handshake.our_line())
        if theirs.protocol != handshake.PROTOCOL:
            raise ChannelError(
                f"the daemon speaks protocol v{theirs.protocol} (orc {theirs.orc}), this worker "
                f"v{handshake.PROTOCOL} (orc {handshake.ours().orc}, {handshake.ours().python})"
            )

    def read_spec(self) -> dict[str, Any]:
        """The params of the `run` notification the supervisor sends after the hellos."""
        line = self._read_line_within("no run spec arrived")
        message = _parse(line)
        if (
            message is None
            or message.get("method") != RUN
            or not isinstance(message.get("params"), dict)
        ):
            raise ChannelError(f"expected a {RUN!r} notification first, got {line[:200]!r}")
        params: dict[str, Any] = message["params"]
        return params

    def writer(self) -> IO[bytes]:
        return self.sock.makefile("wb")

    def close(self) -> None:
        """Close the socket and the wake's pipe (a worker leaves that to its exit)."""
        self.sock.close()
        self.wake.close()

    def watch_for_hangup(self, on_hangup: Callable[[], None]) -> None:
        """From now on, call `on_hangup` when the supervisor's end closes.

        The thread that waits on `wake` (the record sink's) reads what arrives
        while it waits, under the read lock and only what is there, so a `stop`
        notice is either still in the socket or already in `_pending` when the
        SIGTERM handler asks for it, never in between. Nothing is read before
        this is called, so the hello and the spec are the main thread's to read.
        """
        self._on_hangup = on_hangup
        self.wake.watch(self.sock.fileno(), self._read_input)

    def _read_input(self) -> bool:
        """Take in what the supervisor sent; False once its end has closed (`on_hangup`
        called) or ours has."""
        with self._reading:
            try:
                chunk = self.sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True  # `stop_reason` took it first
            except ConnectionError:  # reset: it died with our records unread
                chunk = b""
            except OSError:
                return False  # our own end closed: the worker is finishing
            if chunk:
                self._pending += chunk
                self._scan_resumes()
                return True
        if self._on_hangup is not None:
            self._on_hangup()
        return False

    def wait_for_resume(self, key: str, timeout: float | None) -> dict[str, Any] | None:
        """The params of the `resume` notice for pause `key`, or None if none came in `timeout`."""
        with self._resumed:
            self._resumed.wait_for(lambda: key in self.resumes, timeout)
            return self.resumes.get(key)

    def _scan_resumes(self) -> None:
        """Note the `resume` notices in the complete lines read so far (under the read lock)."""
        end = self._pending.rfind(b"\n") + 1
        if end <= self._scanned:
            return
        for line in self._pending[self._scanned : end].split(b"\n"):
            message = _parse(line) if b'"resume"' in line else None
            params = message.get("params") if message and message.get("method") == RESUME else None
            if isinstance(params, dict):
                self.resumes[str(params.get("key"))] = params
        self._scanned = end
        self._resumed.notify_all()

    def stop_reason(self) -> tuple[str, str | None] | None:
        """The (state name, message) of the last `stop` notice received, without waiting."""
        with self._reading:
            try:
                while True:
                    chunk = self.sock.recv(65536, socket.MSG_DONTWAIT)
                    if not chunk:
                        break
                    self._pending += chunk
            except OSError:  # nothing more to read now (or the socket is gone)
                pass
            self._scan_resumes()
            pending = self._pending
        reason = None
        for line in pending.split(b"\n"):
            message = _parse(line)
            if (
                message
                and message.get("method") == STOP
                and isinstance(message.get("params"), dict)
            ):
                params = message["params"]
                reason = (str(params.get("state") or "Cancelled"), params.get("message"))
        return reason

    def _read_line_within(self, what: str) -> bytes:
        self.sock.settimeout(SPEC_TIMEOUT)
        try:
            return self._read_line()
        except TimeoutError as exc:
            raise ChannelError(f"{what} within {SPEC_TIMEOUT:g}s") from exc
        finally:
            self.sock.settimeout(None)

    def _read_line(self) -> bytes:
        buffer, self._pending = self._pending, b""
        while b"\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ChannelError("the supervisor closed the socket before sending a run spec")
            buffer += chunk
        line, _, self._pending = buffer.partition(b"\n")
        return line


class InputWake:
    """A `threading.Event` for one waiting thread that, while it waits, also serves input on
    a watched file descriptor.

    The record sink's thread waits on it between batches, so the same thread
    notices the supervisor hanging up: a worker needs no second thread (each
    costs a forked worker ~0.1 ms of CPU and ~15 copied pages of its zygote).
    `set` writes a byte to a pipe only when the flag was clear.
    """

    def __init__(self) -> None:
        self._read_end, self._write_end = os.pipe()
        for fd in (self._read_end, self._write_end):
            os.set_blocking(fd, False)
        self._poller = select.poll()
        self._poller.register(self._read_end, select.POLLIN)
        self._flag = False
        self._input: tuple[int, Callable[[], bool]] | None = None
        self._watching: int | None = None

    def watch(self, fd: int, on_input: Callable[[], bool]) -> None:
        """Call `on_input` (in the waiting thread) whenever `fd` is readable, until it returns False."""
        self._input = (fd, on_input)
        self._poke()

    def set(self) -> None:
        if not self._flag:
            self._flag = True
            self._poke()

    def clear(self) -> None:
        self._flag = False
        self._drain()

    def wait(self, timeout: float | None = None) -> bool:
        """Until set or `timeout` (seconds) passed; the flag."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._flag:
            self._take_watch()
            wait_ms = None if deadline is None else (deadline - time.monotonic()) * 1000
            if wait_ms is not None and wait_ms <= 0:
                break
            for fd, _ in self._poller.poll(wait_ms):  # a fraction of a ms rounds up
                self._serve(fd)
        return self._flag

    def _serve(self, fd: int) -> None:
        if fd == self._read_end:
            self._drain()
        elif self._input is not None and not self._input[1]():
            self._poller.unregister(fd)
            self._input = self._watching = None

    def _take_watch(self) -> None:
        """Poll the watched fd from here on (registered by the waiting thread itself)."""
        if self._input is not None and self._watching != self._input[0]:
            self._watching = self._input[0]
            self._poller.register(self._watching, select.POLLIN)

    def close(self) -> None:
        """Close its pipe, once nothing waits on it or sets it any more."""
        ends, self._read_end, self._write_end = (self._read_end, self._write_end), -1, -1
        for fd in ends:
            if fd >= 0:
                os.close(fd)

    def _poke(self) -> None:
        with contextlib.suppress(OSError):  # full: it wakes anyway; closed: no one waits
            os.write(self._write_end, b"\0")

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read_end, 512):
                pass


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


__all__ = [
    "RECORDS",
    "RESUME",
    "RUN",
    "STOP",
    "Channel",
    "ChannelError",
    "InputWake",
    "notification",
]
