"""The daemon's ends of one worker's channels: its records in, a stop out, its output as logs.

A worker sends its records as `records` notifications over its socket; its
stdout and stderr become the run's logs, line by line (`worker_output`).
Neither may hurt the daemon: a line past its limit is cut, a line that is not
a records notification is reported (a few times) and skipped, and after the
worker exits its pipes are read for at most `IO_GRACE` seconds, since a
process it left behind may hold them open.

While the store cannot be written, reading may be held (`read_pause`): the
worker's writes then block and its flow waits. A worker being stopped or that
has exited is read to its end regardless, so its final state is never left
unread.

The socket and the output pipes are read by reader callbacks of the loop, not
a stream and a task each: most workers write nothing to their pipes, and a
stream's transport, protocol and task cost ~15 callbacks of the loop a run for
the two of them; for the socket, 8 of the 18 a forked run costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable

from orchestrate.core import secrets
from orchestrate.core.record_codec import decode_records
from orchestrate.core.records import LogRecord, Record
from orchestrate.daemon.read_pause import ReadPause
from orchestrate.daemon.worker_output import MAX_LOG_LINE, MAX_OUTPUT_LINE, OutputPipe
from orchestrate.daemon.worker_records import note
from orchestrate.worker import handshake
from orchestrate.worker.channel import RECORDS

#: After the worker exits, how long its pipes may stay open (a process it left behind holds them).
IO_GRACE = 2.0
#: A records line longer than this is not a worker's: it is dropped as garbage.
MAX_RECORDS_LINE = 256 * 1024 * 1024
#: The most one read of the worker's socket takes (as asyncio's streams).
READ_CHUNK = 256 * 1024
#: How many stderr lines a Crashed state quotes.
STDERR_TAIL = 10
#: How many garbage lines are reported in the run's logs (the rest are only counted).
GARBAGE_REPORTS = 5


class WorkerPipes:
    """Reads one worker's socket and output pipes, and writes to its socket.

    Args:
        flow_run_id: the run whose logs the output lines become.
        on_records: called with each batch of records the worker sent.
        deliver: called with each batch of log lines (the worker's output, garbage reports).
        pause: holds the reading of every worker while the store cannot take more records.
    """

    def __init__(
        self,
        flow_run_id: str,
        on_records: Callable[[list[Record]], None],
        deliver: Callable[[list[Record]], None],
        pause: ReadPause | None = None,
    ) -> None:
        self.flow_run_id = flow_run_id
        self.on_records = on_records
        self.deliver = deliver
        self.pause = pause or ReadPause()
        self._to_the_end = False  # stopping or exited: never held again
        #: The last lines the worker wrote to stderr, for a Crashed state to quote.
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self._garbage = 0
        self._channel: _Channel | None = None
        self._outputs: list[OutputPipe] = []

    async def open(self, sock: socket.socket, out: int, err: int) -> list[asyncio.Future[None]]:
        """Start reading the socket and both pipes; the futures end when their ends close."""
        self._channel = _Channel(sock, self._records)
        self._outputs = [
            OutputPipe(out, lambda lines: self._output(lines, "stdout", logging.INFO)),
            OutputPipe(err, lambda lines: self._output(lines, "stderr", logging.WARNING)),
        ]
        if not self._to_the_end:
            self.pause.join(self)
        return [self._channel.done] + [o.done for o in self._outputs]

    def hold(self) -> None:
        """Stop reading the socket and the pipes (the store cannot take more records)."""
        for reader in self._readers():
            reader.hold()

    def release(self) -> None:
        """Read the socket and the pipes again, as far as they are still open."""
        for reader in self._readers():
            reader.release()

    def read_to_the_end(self) -> None:
        """Read this worker whatever the store does from now on: it is stopping or has exited."""
        self._to_the_end = True
        self.pause.leave(self)

    def _readers(self) -> list[_Channel | OutputPipe]:
        return [*([self._channel] if self._channel is not None else []), *self._outputs]

    def send(self, line: bytes) -> None:
        """Write `line` to the worker's socket, if it is still open."""
        if self._channel is not None:
            self._channel.send(line)

    async def tell(self, line: bytes) -> None:
        """Send `line` and give it up to a second to leave, as before a signal."""
        self.send(line)
        if self._channel is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._channel.drained()

    async def finish(self, pumps: list[asyncio.Future[None]]) -> None:
        """Read what the worker left in its pipes; give up after `IO_GRACE` if someone holds them open."""
        self.read_to_the_end()
        open_ = [pump for pump in pumps if not pump.done()]  # often none by the worker's exit
        if open_:
            _, late = await asyncio.wait(open_, timeout=IO_GRACE)
            for pump in late:
                pump.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for pump in pumps:
            if not pump.cancelled():
                pump.exception()  # retrieved and dropped: a broken channel ends its pump quietly
        if self._channel is not None:
            self._channel.close()
        for output in self._outputs:
            output.close()

    def _records(self, lines: list[bytes]) -> None:
        records: list[Record] = []
        masker = secrets.current()  # a worker masks its lines; an older one may not have
        for line in lines:
            records.extend(self._decode(masker.line(line) if masker else line))
        if records:
            self.on_records(records)
        if self.pause.degraded:
            self.pause.took(sum(map(len, lines)))

    def _output(self, lines: list[bytes], name: str, level: int) -> None:
        """Lines the worker wrote to stdout or stderr, as the run's logs."""
        flow_run_id = self.flow_run_id
        now = time.time()
        masker = secrets.current()
        texts = [masker.text(line.decode(errors="replace").rstrip("\r")) for line in lines]
        if name == "stderr":
            self.stderr_tail.extend(texts)
        self.deliver([LogRecord(flow_run_id, None, now, level, name, t) for t in texts])
        if self.pause.degraded:
            self.pause.took(sum(map(len, lines)))

    def _hello(self, line: bytes) -> list[Record]:
        problem = _hello_problem(line)
        return [note(self.flow_run_id, logging.WARNING, problem)] if problem else []

    def _decode(self, line: bytes) -> list[Record]:
        """The records of one `records` line; anything else is reported (a few times) and skipped."""
        if not line.strip():
            return []
        try:
            message = json.loads(line)
            if message.get("method") == handshake.HELLO:  # a forked worker's, not awaited
                return self._hello(line)
            if message.get("method") != RECORDS:
                raise ValueError(f"method {message.get('method')!r}, expected {RECORDS!r}")
            return decode_records(message["params"]["records"])
        except Exception as exc:
            self._garbage += 1
            if self._garbage > GARBAGE_REPORTS:
                return []
            text = f"The worker sent a line that is not a records notification ({exc}); it was skipped: {line[:120]!r}"
            return [note(self.flow_run_id, logging.WARNING, text)]


def _hello_problem(line: bytes) -> str | None:
    theirs = handshake.parse(line)
    if theirs is None or theirs.protocol != handshake.PROTOCOL:
        return f"The worker said {line[:200]!r} where a hello of protocol v{handshake.PROTOCOL} was due."
    return None


class _Channel:
    """The worker's socket: read whenever it is readable, its records in lines; written
    without waiting, what the socket does not take at once kept and written when it can.
    `done` once the worker's end has closed (or taking its lines failed: that error)."""

    def __init__(self, sock: socket.socket, on_lines: Callable[[list[bytes]], None]) -> None:
        self.sock: socket.socket | None = sock
        self.on_lines = on_lines
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.fd = sock.fileno()
        self._pieces: list[bytes] = []  # the start of a line not yet complete
        self._size = 0
        self._out = bytearray()  # written when the socket takes it
        self._drained: list[asyncio.Future[None]] = []
        sock.setblocking(False)
        self.loop.add_reader(self.fd, self._readable)
        self._reading = True

    def hold(self) -> None:
        """Stop reading for now: the worker's writes block once the socket's buffer is full."""
        if self._reading:
            self.loop.remove_reader(self.fd)
            self._reading = False

    def release(self) -> None:
        """Read again, unless the worker's end has closed meanwhile."""
        if not self._reading and self.sock is not None and not self.done.done():
            self.loop.add_reader(self.fd, self._readable)
            self._reading = True

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # the connection broke: as good as closed
        try:
            lines = self._lines(data)
            if lines:
                self.on_lines(lines)
        except Exception as exc:  # a broken reader ends, as a stream's pump did
            self._stop_reading(exc)
            return
        if not data:
            self._stop_reading(None)

    def _lines(self, data: bytes) -> list[bytes]:
        """The lines `data` completes, without their newline; a line past `MAX_RECORDS_LINE`
        is cut there, and what is left at the end is a last line."""
        if not data:
            return [b"".join(self._pieces)] if self._pieces else []
        if b"\n" not in data:
            self._pieces.append(data)
            self._size += len(data)
            if self._size < MAX_RECORDS_LINE:
                return []
            line, self._pieces, self._size = b"".join(self._pieces), [], 0
            return [line]
        first, *rest = data.split(b"\n")
        lines = [b"".join([*self._pieces, first]) if self._pieces else first, *rest[:-1]]
        self._pieces = [rest[-1]] if rest[-1] else []
        self._size = len(rest[-1])
        return lines

    def _stop_reading(self, error: Exception | None) -> None:
        # Even once `done` is settled (or cancelled, given up on after `IO_GRACE`): a reader
        # left on a closed fd would hold its number, and the next socket on it go unread.
        if self.sock is not None:
            self.loop.remove_reader(self.fd)
        self._reading = False
        if self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)

    def send(self, data: bytes) -> None:
        """Write `data` now, or as soon as the socket takes it; dropped once it is closed."""
        if self.sock is None:
            return
        if not self._out:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return  # the worker is gone: its exit says how the run ended
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(self.fd, self._writable)
        self._out += data

    def _writable(self) -> None:
        assert self.sock is not None
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            sent = len(self._out)  # the worker is gone: what it did not take is dropped
        del self._out[:sent]
        if not self._out:
            self.loop.remove_writer(self.fd)
            self._wake_drained()

    async def drained(self) -> None:
        """Return once everything sent has been written to the socket (or it closed)."""
        if self._out and self.sock is not None:
            waiter = self.loop.create_future()
            self._drained.append(waiter)
            await waiter

    def _wake_drained(self) -> None:
        for waiter in self._drained:
            if not waiter.done():
                waiter.set_result(None)
        self._drained.clear()

    def close(self) -> None:
        """Stop reading and writing, and close the socket."""
        if self.sock is None:
            return
        self._stop_reading(None)  # as at the worker's end: what was read is all there is
        if self._out:
            self.loop.remove_writer(self.fd)
            self._out.clear()
        self._wake_drained()
        self.sock.close()
        self.sock = None


__all__ = [
    "GARBAGE_REPORTS",
    "IO_GRACE",
    "MAX_LOG_LINE",
    "MAX_OUTPUT_LINE",
    "MAX_RECORDS_LINE",
    "WorkerPipes",
]
