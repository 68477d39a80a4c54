"""One client on the daemon's socket: its outgoing lines, its requests in flight, its end.

The server owns the socket and the dispatch; this is the per-client side of
it. A reply is written at the end of its loop turn; pushed lines wait up to
`PUSH_EVERY` for others to share their write (a run's changes come a few
turns apart: one write each woke the client, and cost the daemon a syscall
and a callback, several times a run). Lines go out in the order they were
queued. A subscriber that falls too far behind is dropped, and a connection
runs at most `IN_FLIGHT_LIMIT` requests at once so a client cannot flood the
daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from orchestrate.client import unix
from orchestrate.daemon.rpc_wire import message_line

if TYPE_CHECKING:
    from orchestrate.daemon.rpc_subscriptions import Subscription

log = logging.getLogger("orc.daemon.server")

#: Requests one connection may have running at once; past it, its reading waits.
IN_FLIGHT_LIMIT = 64
#: Seconds a pushed line waits for more to go out with it (a reply takes them at once).
PUSH_EVERY = 0.005
#: Seconds between looks at whether a client that stopped sending still lives.
PEER_CHECK_EVERY = 0.5


class Connection:
    """One client on the socket: who it is, what it subscribed to, and its outgoing lines."""

    def __init__(self, number: int, writer: asyncio.StreamWriter, backlog_limit: int) -> None:
        self.id = number
        self.peer_pid = unix.peer_pid(writer.get_extra_info("socket"))
        self.client: str | None = None  # the name it gave in `hello`
        self.handshaken = False
        self.closed = False
        self.subscriptions: dict[int, Subscription] = {}
        self._writer = writer
        self._transport = writer.transport
        self._backlog_limit = backlog_limit
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._flush_handle: asyncio.Handle | None = None
        self._flush_soon = False  # whether `_flush_handle` runs this turn, not `PUSH_EVERY` later
        self._tasks: set[asyncio.Task[None]] = set()
        self._close_callbacks: list[Callable[[Connection], None]] = []

    def __repr__(self) -> str:
        return f"<connection {self.id} pid={self.peer_pid} client={self.client!r}>"

    @property
    def backlog(self) -> int:
        """Bytes written to this connection that its client has not read yet."""
        return self._pending_bytes + self._transport.get_write_buffer_size()

    def notify(self, method: str, params: Any) -> bool:
        """Push a notification; False when the client is gone or too far behind (then dropped)."""
        return self.push(message_line({"jsonrpc": "2.0", "method": method, "params": params}))

    def push(self, line: bytes) -> bool:
        """Queue a pushed line, unless the backlog would pass the limit: then drop the client."""
        if self.closed:
            return False
        if self.backlog + len(line) > self._backlog_limit:
            self.abort(f"it has {self.backlog} bytes unread (limit {self._backlog_limit})")
            return False
        self._queue(line, soon=False)
        return True

    def send(self, line: bytes) -> None:
        """Queue a reply: it goes out at the end of this loop turn, with every line queued."""
        if not self.closed:
            self._queue(line, soon=True)

    def _queue(self, line: bytes, soon: bool) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._flush_handle is not None and (self._flush_soon or not soon):
            return
        if self._flush_handle is not None:
            self._flush_handle.cancel()  # a push waiting: it goes with this reply
        loop = asyncio.get_running_loop()
        if soon:
            self._flush_handle = loop.call_soon(self._flush)
        else:
            self._flush_handle = loop.call_later(PUSH_EVERY, self._flush)
        self._flush_soon = soon

    def _flush(self) -> None:
        self._flush_handle = None
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_bytes = 0

    def on_close(self, callback: Callable[[Connection], None]) -> None:
        """Call `callback(connection)` once, when this connection ends."""
        self._close_callbacks.append(callback)

    def abort(self, reason: str) -> None:
        """Drop the client now, discarding what it has not read."""
        if not self.closed:
            log.warning("dropped %r: %s", self, reason)
            self.closed = True
            self._transport.abort()

    async def drain(self) -> None:
        """Wait while the client has much unread: a client that does not read is not read either."""
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task of this connection, waiting first while too many are running."""
        while len(self._tasks) >= IN_FLIGHT_LIMIT:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Let the requests in flight finish and their replies go out, unless the client's
        process is gone: then its requests are given up (a killed `orc sql` held a query
        thread for its whole timeout). A client that only closed its sending end waits."""
        while self._tasks:
            await asyncio.wait(set(self._tasks), timeout=PEER_CHECK_EVERY)
            if self._tasks and self.peer_pid is not None and not _alive(self.peer_pid):
                log.info("%r: its process is gone; its requests in flight are given up", self)
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel what still runs, send what is queued, close, and tell the callbacks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        self.closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        for callback in self._close_callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("a close callback of %r failed", self)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        return True  # cannot tell: keep serving it
