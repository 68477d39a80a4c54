"""A worker's stdout or stderr, read by the daemon's loop as the lines of its run's logs.

A line past `MAX_LOG_LINE` is cut into pieces and only the first
`MAX_OUTPUT_LINE` bytes of it are kept, so what is held stays bounded however
long a line a flow prints.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

#: A stdout or stderr line longer than this is cut into several log lines.
MAX_LOG_LINE = 64 * 1024
#: Of one stdout or stderr line, this much is kept (as MAX_LOG_LINE pieces); the rest is
#: dropped and a line saying so follows: a run that prints 50 MB at once stores 1 MB of it.
MAX_OUTPUT_LINE = 1024 * 1024


class OutputPipe:
    """One output pipe, read whenever it is readable; `done` once it is closed at the far end.

    Each read gives the lines it completes, a long one in `MAX_LOG_LINE` parts and only its
    first `MAX_OUTPUT_LINE` bytes, then a line naming its full size: what is held stays
    bounded however long a line is.
    """

    def __init__(self, fd: int, on_lines: Callable[[list[bytes]], None]) -> None:
        self.fd: int | None = fd
        self.on_lines = on_lines
        self.cap = LineCap(MAX_LOG_LINE, MAX_OUTPUT_LINE)
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        os.set_blocking(fd, False)
        self.loop.add_reader(fd, self._readable)
        self._reading = True

    def hold(self) -> None:
        """Stop reading for now: the worker's writes block once the pipe's buffer is full."""
        if self._reading and self.fd is not None:
            self.loop.remove_reader(self.fd)
            self._reading = False

    def release(self) -> None:
        """Read again, unless the pipe has been closed meanwhile."""
        if not self._reading and self.fd is not None:
            self.loop.add_reader(self.fd, self._readable)
            self._reading = True

    def _readable(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, MAX_LOG_LINE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # the pipe broke: as good as closed
        lines = self.cap.feed(data) if data else self.cap.close()
        try:
            if lines:
                self.on_lines(lines)
        finally:
            if not data:
                self.close()

    def close(self) -> None:
        """Stop reading and close our end (at its end, or given up on after `worker_pipes.IO_GRACE`)."""
        if self.fd is not None:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = None
            self._reading = False
        if not self.done.done():
            self.done.set_result(None)


class LineCap:
    """Splits a byte stream into lines, cutting and capping long ones (see `OutputPipe`)."""

    def __init__(self, piece: int, keep: int) -> None:
        self.piece, self.keep = piece, keep
        self.pending = bytearray()  # kept bytes of the current line not yet given out
        self.size = 0  # bytes of the current line so far, kept or not

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        *ended, tail = data.split(b"\n")
        for part in ended:
            self._add(part, out)
            self._end(out)
        self._add(tail, out)
        return out

    def close(self) -> list[bytes]:
        out: list[bytes] = []
        if self.pending or self.size:
            self._end(out)
        return out

    def _add(self, part: bytes, out: list[bytes]) -> None:
        room = self.keep - self.size
        if room > 0:
            self.pending += part[:room]
            while len(self.pending) >= self.piece:
                out.append(bytes(self.pending[: self.piece]))
                del self.pending[: self.piece]
        self.size += len(part)

    def _end(self, out: list[bytes]) -> None:
        if self.pending or self.size == 0:
            out.append(bytes(self.pending))
        if self.size > self.keep:
            cut = f"[line cut by orc: {self.size:,} bytes, the first {self.keep:,} kept]"
            out.append(cut.encode())
        self.pending, self.size = bytearray(), 0


__all__ = ["MAX_LOG_LINE", "MAX_OUTPUT_LINE", "LineCap", "OutputPipe"]
