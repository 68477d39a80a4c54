"""The daemon's control socket: JSON-RPC 2.0, one JSON object per line, on `.orc/orc.sock`.

The daemon plugs its methods in as handlers; this module owns the socket and
the wire. A connection says `hello` first. Requests run as tasks, so a slow
one does not hold up the next; notifications (a worker's `records`) run in
order in the read loop, so a flooding worker is slowed down rather than
buffered. `publish` pushes changes to subscribers without ever waiting: what
a connection is sent is written once per loop turn, and a subscriber that
stops reading is dropped when its backlog passes a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from orchestrate._version import __version__
from orchestrate.client import protocol, unix
from orchestrate.core.errors import DaemonAlreadyRunning, DaemonError

log = logging.getLogger("orc.daemon.server")

Handler = Callable[[dict[str, Any], "Connection"], Awaitable[Any]]

TOPICS = frozenset(get_args(protocol.Topic))
#: The detail of a run with thousands of task runs is one line.
LINE_LIMIT = 64 * 2**20
#: Unread bytes a subscriber may fall behind by before it is dropped.
BACKLOG_LIMIT = 16 * 2**20
#: Requests one connection may have running at once; past it, its reading waits.
IN_FLIGHT_LIMIT = 64

_NOTIFY = b'{"jsonrpc":"2.0","method":"notify","params":{"subscription":%d,"topic":%b,"data":%b}}\n'


class RpcError(Exception):
    """Raised by a handler to answer with a JSON-RPC error (codes in `orchestrate.client.protocol`)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _jsonable(value: Any) -> Any:
    """What `json.dumps` cannot write by itself: pydantic models, dataclasses, sets."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(value: Any) -> str:
    """`value` as JSON; models are written by pydantic's own (compiled) serializer."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        return "[" + ",".join(v.model_dump_json() for v in value) + "]"
    return json.dumps(value, separators=(",", ":"), default=_jsonable)


def _result_line(request_id: Any, result: Any) -> bytes:
    return f'{{"jsonrpc":"2.0","id":{json.dumps(request_id)},"result":{_json(result)}}}\n'.encode()


def _error(request_id: Any, code: int, message: str, data: Any = None) -> bytes:
    """An error reply line; `data` that is not JSON is left out rather than lose the reply."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    try:
        return _line({"jsonrpc": "2.0", "id": request_id, "error": error})
    except (TypeError, ValueError):
        log.exception("the data of error %s is not JSON; sent without it", code)
        return _error(request_id, code, message)


def _line(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=_jsonable).encode() + b"\n"


@dataclass(eq=False)
class Subscription:
    """What one connection asked to be pushed: topics, and optionally one run or an event glob."""

    id: int
    connection: Connection
    topics: frozenset[str]
    flow_run_id: str | None = None
    event: str | None = None

    def wants(self, flow_run_id: str | None, event: str | None) -> bool:
        if self.flow_run_id is not None and flow_run_id != self.flow_run_id:
            return False
        return self.event is None or (event is not None and fnmatchcase(event, self.event))


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
        return self.push(_line({"jsonrpc": "2.0", "method": method, "params": params}))

    def push(self, line: bytes) -> bool:
        """Queue a pushed line, unless the backlog would pass the limit: then drop the client."""
        if self.closed:
            return False
        if self.backlog + len(line) > self._backlog_limit:
            self.abort(f"it has {self.backlog} bytes unread (limit {self._backlog_limit})")
            return False
        self.send(line)
        return True

    def send(self, line: bytes) -> None:
        """Queue a line; all lines queued in one loop turn go out in one write."""
        if self.closed:
            return
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

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
        """Let the requests in flight finish and their replies go out."""
        while self._tasks:
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
        self._handlers = dict(handlers)
        self._builtin: dict[str, Handler] = {
            protocol.Method.SUBSCRIBE: self._subscribe,
            protocol.Method.UNSUBSCRIBE: self._unsubscribe,
        }
        self._hello = hello
        self._backlog_limit = backlog_limit
        self._line_limit = line_limit
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._socket: tuple[Path, int] | None = None  # path and inode, to remove only our own
        self._connections: dict[int, Connection] = {}
        self._serving: set[asyncio.Task[Any]] = set()
        self._by_topic: dict[str, dict[int, Subscription]] = {topic: {} for topic in TOPICS}
        self._numbers = itertools.count(1)
        self._subscription_ids = itertools.count(1)

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
        encoded: tuple[bytes, bytes] | None = None
        sent = 0
        for subscription in self._by_topic.get(topic, {}).values():
            if not subscription.wants(flow_run_id, event):
                continue
            if encoded is None:
                try:
                    encoded = (json.dumps(topic).encode(), _json(data).encode())
                except (TypeError, ValueError):
                    log.exception("cannot publish %s: its data is not JSON", topic)
                    return 0
            line = _NOTIFY % (subscription.id, *encoded)
            sent += subscription.connection.push(line)
        return sent

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
                connection.send(_error(None, protocol.PARSE_ERROR, message))
                return
            except ConnectionError:
                return
            if not line:
                return
            if not line.isspace():
                await self._receive(connection, line)
            await connection.drain()

    async def _receive(self, connection: Connection, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, RecursionError) as error:
            connection.send(_error(None, protocol.PARSE_ERROR, _not_json(error)))
            return
        if isinstance(message, list):
            await connection.run(self._batch(connection, message))
        elif isinstance(message, dict) and "id" not in message:
            await self._notified(connection, message)
        elif isinstance(message, dict):
            await connection.run(self._reply(connection, message))
        else:
            reply = _error(None, protocol.INVALID_REQUEST, "a message must be a JSON object")
            connection.send(reply)

    async def _reply(self, connection: Connection, message: dict[str, Any]) -> None:
        connection.send(await self._answer(connection, message))

    async def _batch(self, connection: Connection, messages: list[Any]) -> None:
        """A JSON-RPC batch: the members run together, the replies go back as one array."""
        if not messages:
            connection.send(_error(None, protocol.INVALID_REQUEST, "an empty batch"))
            return
        replies = []
        for message in messages:
            if isinstance(message, dict) and "id" not in message:
                await self._notified(connection, message)
            elif isinstance(message, dict):
                replies.append(self._answer(connection, message))
            else:
                invalid = _error(None, protocol.INVALID_REQUEST, "a message must be a JSON object")
                replies.append(_ready(invalid))
        lines = await asyncio.gather(*replies)
        if lines:
            connection.send(b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]\n")

    async def _answer(self, connection: Connection, message: dict[str, Any]) -> bytes:
        """The reply line to one request: its result, or its error."""
        request_id = message.get("id")
        method = message.get("method")
        problem = _envelope_problem(message)
        if problem is not None:
            return _error(_valid_id(request_id), protocol.INVALID_REQUEST, problem)
        try:
            return _result_line(request_id, await self._call(connection, method, message))
        except RpcError as error:
            return _error(request_id, error.code, error.message, error.data)
        except ValidationError as error:
            text = f"bad params for `{method}`: {_first_problem(error)}"
            return _error(request_id, protocol.INVALID_PARAMS, text)
        except Exception as error:
            log.exception("`%s` from %r failed", method, connection)
            text = f"`{method}` failed inside the daemon ({type(error).__name__}: {_first_line(error)}); see the daemon's log"
            return _error(request_id, protocol.INTERNAL_ERROR, text)

    async def _call(self, connection: Connection, method: Any, message: dict[str, Any]) -> Any:
        params = message.get("params")
        if not isinstance(method, str):
            raise RpcError(protocol.INVALID_REQUEST, "a request needs a `method` string")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise RpcError(protocol.INVALID_PARAMS, f"`{method}` takes params by name (an object)")
        if method == protocol.Method.HELLO:
            return self._greet(connection, params)
        if not connection.handshaken:
            raise RpcError(
                protocol.NOT_HANDSHAKEN,
                f"{_quoted(method)} before `hello`: a connection starts with `hello` "
                f"(protocol {protocol.PROTOCOL_VERSION})",
            )
        handler = self._builtin.get(method) or self._handlers.get(method)
        if handler is None:
            known = ", ".join(sorted({"hello", *self._builtin, *self._handlers}))
            raise RpcError(
                protocol.METHOD_NOT_FOUND,
                f"this orc daemon has no method {_quoted(method)} (it has: {known})",
            )
        return await handler(protocol.checked_params(method, params), connection)

    def _greet(self, connection: Connection, params: dict[str, Any]) -> protocol.Hello:
        params = protocol.checked_params(protocol.Method.HELLO, params)
        theirs = params.get("protocol")
        ours = protocol.PROTOCOL_VERSION
        if theirs != ours:
            raise RpcError(
                protocol.VERSION_MISMATCH,
                f"this orc daemon (orc {__version__}) speaks protocol {ours} and the client "
                f"speaks {theirs}; run the same orc version on both sides: upgrade the older "
                "one, then restart the daemon (`orc up`) if it was the daemon",
                {"daemon": ours, "client": theirs},
            )
        connection.handshaken = True
        connection.client = str(params.get("client") or "") or None
        return self._hello()

    async def _notified(self, connection: Connection, message: dict[str, Any]) -> None:
        """A notification: handled in order, answered never, its failures only logged."""
        method = message.get("method")
        handler = self._handlers.get(method) if isinstance(method, str) else None
        params = message.get("params")
        if message.get("jsonrpc") != "2.0":
            log.warning("ignored a notification from %r: it does not say jsonrpc 2.0", connection)
            return
        if handler is None or not connection.handshaken or not isinstance(params, dict):
            log.warning(
                "ignored notification %s from %r (unknown, bad params, or before hello)",
                _short(method),
                connection,
            )
            return
        assert isinstance(method, str)  # a handler was found by it
        try:
            params = protocol.checked_params(method, params)
        except ValidationError as error:
            log.warning(
                "ignored notification `%s` from %r: %s", method, connection, _first_problem(error)
            )
            return
        try:
            await handler(params, connection)
        except RpcError as error:  # a refusal, as a request would have been told
            log.warning("notification `%s` from %r refused: %s", method, connection, error.message)
        except Exception:
            log.exception("notification `%s` from %r failed", method, connection)

    async def _subscribe(self, params: dict[str, Any], connection: Connection) -> dict[str, int]:
        """Params checked by `protocol.SubscribeParams` before this is called."""
        number = next(self._subscription_ids)
        subscription = Subscription(
            number,
            connection,
            frozenset(params["topics"]),
            params.get("flow_run_id"),
            params.get("event"),
        )
        connection.subscriptions[number] = subscription
        for topic in subscription.topics:
            self._by_topic[topic][number] = subscription
        return {"subscription": number}

    async def _unsubscribe(self, params: dict[str, Any], connection: Connection) -> dict[str, Any]:
        subscription = connection.subscriptions.pop(params["subscription"], None)
        if subscription is None:
            raise RpcError(
                protocol.NOT_FOUND, f"no subscription {params.get('subscription')!r} here"
            )
        for topic in subscription.topics:
            self._by_topic[topic].pop(subscription.id, None)
        return {}

    def _forget(self, connection: Connection) -> None:
        """Take a connection that ended out of every index."""
        self._connections.pop(connection.id, None)
        for subscription in connection.subscriptions.values():
            for topic in subscription.topics:
                self._by_topic[topic].pop(subscription.id, None)
        connection.subscriptions.clear()


async def _ready(line: bytes) -> bytes:
    return line


def _first_problem(error: ValidationError) -> str:
    """`days: Input should be a valid integer` (and how many more), not pydantic's whole report."""
    problems = error.errors()
    if not problems:
        return _first_line(error)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "params"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = first["msg"].removeprefix("Value error, ")
    got = "" if first["type"] == "missing" else f"; got {_short(first.get('input'))}"
    return f"{where}: {message}{got}{more}"


def _short(value: Any, limit: int = 80) -> str:
    """`value` as JSON (its repr if it is not JSON), cut to `limit` characters."""
    try:
        text = json.dumps(value, default=repr)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(name: Any) -> str:
    """A method name in backticks, or as short JSON when it is long or not a string."""
    if isinstance(name, str) and len(name) <= 80 and name.isprintable():
        return f"`{name}`"
    return _short(name)


def _not_json(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "not JSON this daemon can read: nested too deeply"
    if isinstance(error, UnicodeDecodeError):
        return f"not JSON: not UTF-8 text (byte {error.start})"
    return f"not JSON: {_first_line(error)}"


def _envelope_problem(message: dict[str, Any]) -> str | None:
    """What makes `message` not a JSON-RPC 2.0 request, if anything."""
    if message.get("jsonrpc") != "2.0":
        return f'a request must say "jsonrpc": "2.0"; got {_short(message.get("jsonrpc"))}'
    if _valid_id(message.get("id")) is None and message.get("id") is not None:
        return f"a request id must be a string or an integer; got {_short(message.get('id'))}"
    return None


def _valid_id(request_id: Any) -> str | int | None:
    """The id to echo in a reply: JSON-RPC allows strings and numbers (orc: integers)."""
    if isinstance(request_id, str) or (
        isinstance(request_id, int) and not isinstance(request_id, bool)
    ):
        return request_id
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
