"""The daemon's control socket: JSON-RPC 2.0, one JSON object per line, on `.orc/orc.sock`.

The daemon plugs its methods in as handlers; this module owns the socket: it
listens, serves each connection in a task of its own, reads its lines and
hands them to the dispatch (`rpc_dispatch`), and ends it. The parts it
orchestrates live beside it: a client's side of the wire (`rpc_connection`),
what clients subscribed to and the pushes to them (`rpc_subscriptions`), and
the lines themselves (`rpc_wire`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from orchestrate.client import protocol, unix
from orchestrate.core.errors import DaemonAlreadyRunning, DaemonError
from orchestrate.daemon.rpc_connection import Connection
from orchestrate.daemon.rpc_dispatch import Dispatcher, Handler
from orchestrate.daemon.rpc_subscriptions import Subscriptions
from orchestrate.daemon.rpc_wire import error_line

log = logging.getLogger("orc.daemon.server")

#: The detail of a run with thousands of task runs is one line.
LINE_LIMIT = 64 * 2**20
#: Unread bytes a subscriber may fall behind by before it is dropped.
BACKLOG_LIMIT = 16 * 2**20


class RpcServer:
    """JSON-RPC 2.0 over a Unix socket, with the daemon's methods plugged in as handlers.

    Args:
        handlers: method name -> `async handler(params, connection)`. A request's
            result is what the handler returns (pydantic models welcome); raise
            `RpcError` to answer with an error. Handlers of notifications
            (`records`) return nothing.
        hello: builds the `protocol.Hello` a new connection is greeted with.
        backlog_limit: unread bytes after which a subscriber is dropped.
        line_limit: the longest line a client may send.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        hello: Callable[[], protocol.Hello],
        *,
        backlog_limit: int = BACKLOG_LIMIT,
        line_limit: int = LINE_LIMIT,
    ) -> None:
        self._subscriptions = Subscriptions()
        builtin: dict[str, Handler] = {
            protocol.Method.SUBSCRIBE: self._subscriptions.subscribe,
            protocol.Method.UNSUBSCRIBE: self._subscriptions.unsubscribe,
        }
        self._dispatcher = Dispatcher(handlers, builtin, hello)
        self._backlog_limit = backlog_limit
        self._line_limit = line_limit
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._socket: tuple[Path, int] | None = None  # path and inode, to remove only our own
        self._connections: dict[int, Connection] = {}
        self._serving: set[asyncio.Task[Any]] = set()
        self._numbers = itertools.count(1)

    @property
    def connections(self) -> list[Connection]:
        return list(self._connections.values())

    async def start(self, socket_path: Path) -> None:
        """Listen on `socket_path` (0600) in its folder (made 0700; it is orc's own).

        Raises:
            DaemonAlreadyRunning: a live server answers on that path already.
        """
        folder = socket_path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            os.chmod(folder, 0o700)
        _claim(socket_path)
        try:
            sock = unix.bind(socket_path)
        except OSError as error:  # another daemon bound it between the check and here
            raise DaemonAlreadyRunning(f"{socket_path} is taken: {error.strerror}") from error
        self._socket = (socket_path, socket_path.stat().st_ino)
        sock.listen(128)
        sock.setblocking(False)
        self._listener = sock
        self._accepting = asyncio.create_task(self._accept(sock), name="orc socket")
        log.info("listening on %s", socket_path)

    async def close(self) -> None:
        """Stop listening, end every connection, and remove the socket file."""
        if self._accepting is None or self._listener is None:
            return
        self._accepting.cancel()
        await asyncio.gather(self._accepting, return_exceptions=True)
        self._listener.close()  # clients still in its queue are refused
        self._accepting = self._listener = None
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        if self._socket is not None:
            path, inode = self._socket
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino == inode:
                    path.unlink()

    def publish(
        self, topic: str, data: Any, *, flow_run_id: str | None = None, event: str | None = None
    ) -> int:
        """Push `data` as a `notify` to every subscription that wants it; returns how many.

        Never waits: call it from the loop's thread for every change. `data`
        is encoded once, and only when someone listens.
        """
        return self._subscriptions.publish(topic, data, flow_run_id=flow_run_id, event=event)

    def listening(self, topic: str) -> bool:
        """Whether any connection subscribes to `topic` now."""
        return self._subscriptions.listening(topic)

    async def _accept(self, listener: socket.socket) -> None:
        """Serve each new connection in a task of its own, known at once so `close` can end it."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError as error:  # out of file descriptors, say: wait, then try again
                log.error("cannot accept a connection on the socket: %s", error)
                await asyncio.sleep(1.0)
                continue
            task = asyncio.create_task(self._serve(sock))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve(self, sock: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(sock=sock, limit=self._line_limit)
        except BaseException:
            sock.close()
            raise
        connection = Connection(next(self._numbers), writer, self._backlog_limit)
        self._connections[connection.id] = connection
        log.debug("%r connected", connection)
        try:
            await self._read(connection, reader)
            await connection.settle()
        finally:
            self._forget(connection)
            await connection.close()
            log.debug("%r closed", connection)

    async def _read(self, connection: Connection, reader: asyncio.StreamReader) -> None:
        """Handle lines until the client closes its end, vanishes, or is dropped."""
        while not connection.closed:
            try:
                line = await reader.readline()
            except ValueError:  # asyncio's LimitOverrunError: no newline within the limit
                message = f"a line over {self._line_limit} bytes; the connection is closed"
                connection.send(error_line(None, protocol.PARSE_ERROR, message))
                return
            except ConnectionError:
                return
            if not line:
                return
            if not line.isspace():
                await self._dispatcher.receive(connection, line)
            await connection.drain()

    def _forget(self, connection: Connection) -> None:
        """Take a connection that ended out of every index."""
        self._connections.pop(connection.id, None)
        self._subscriptions.forget(connection)


def _claim(path: Path) -> None:
    """Make `path` free to bind: remove a stale socket, refuse a live one or a non-socket."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise DaemonError(f"{path} exists and is not a socket; move it away, then start again")
    try:
        sock = unix.connect(path, timeout=2.0)
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("removed the stale socket %s", path)
        path.unlink(missing_ok=True)
        return
    with sock:
        pid = unix.peer_pid(sock)
    holder = f" (pid {pid})" if pid else ""
    raise DaemonAlreadyRunning(
        f"an orc daemon{holder} already listens on {path}; stop it first"
        f"{f' (kill {pid})' if pid else ''}, or use it: `orc status`"
    )
