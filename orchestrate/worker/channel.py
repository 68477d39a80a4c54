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

import json
import os
import select
import socket
import threading
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
        self._watch: threading.Thread | None = None
        self._armed = threading.Event()  # the watch reads the socket only once set
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
        self.sock.sendall(handshake.ours().line())
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

    def start_watch(self) -> None:
        """Start the hang-up watch's thread now, idle until `watch_for_hangup` arms it.

        A spare worker does this while it waits for a run: starting a thread
        waits for it to be scheduled, which on a loaded machine took longer
        than the rest of a warm start.
        """
        if self._watch is None:
            self._watch = threading.Thread(
                target=self._watch_run, name="orc-hangup-watch", daemon=True
            )
            self._watch.start()

    def watch_for_hangup(self, on_hangup: Callable[[], None]) -> threading.Thread:
        """Call `on_hangup` (in a daemon thread) when the supervisor's end closes.

        The thread waits without the read lock and reads only what is there,
        under it, so a `stop` notice is either still in the socket or already
        in `_pending` when the SIGTERM handler asks for it, never in between.
        It reads nothing before this is called, so the hello and the spec are
        the main thread's to read.
        """
        self._on_hangup = on_hangup
        self.start_watch()
        self._armed.set()
        assert self._watch is not None
        return self._watch

    def _watch_run(self) -> None:
        self._armed.wait()
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while True:
            poller.poll()
            with self._reading:
                try:
                    chunk = self.sock.recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue  # `stop_reason` took it first
                except ConnectionError:  # reset: it died with our records unread
                    chunk = b""
                except OSError:
                    return  # our own end closed: the worker is finishing
                if chunk:
                    self._pending += chunk
                    self._scan_resumes()
                    continue
            if self._on_hangup is not None:
                self._on_hangup()
            return

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


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


__all__ = ["RECORDS", "RESUME", "RUN", "STOP", "Channel", "ChannelError", "notification"]
