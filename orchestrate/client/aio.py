"""`AsyncClient`: the asyncio client, for the TUI and anything else that lives in an event loop.

One connection carries any number of concurrent requests and subscriptions:
a reader task matches replies to requests by id and routes pushed
notifications to their subscription's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from orchestrate.client import calls, wire
from orchestrate.client.address import (
    Address,
    SshAddress,
    StoreAddress,
    handshake_timeout,
    parse_ssh,
    resolve,
    ssh_failure,
)
from orchestrate.client.calls import Calls, check_hello, client_name
from orchestrate.client.protocol import Hello, Notification, Topic
from orchestrate.client.rpc import Call, timed_out
from orchestrate.client.unix import local_socket
from orchestrate.core.errors import ClientError, ConnectionLost, SshError

T = TypeVar("T")
Bind = Callable[[Any], None]


@dataclass
class _Stream:
    """The two ends of a connection, and the ssh process behind them when there is one."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: Address | StoreAddress
    process: asyncio.subprocess.Process | None = None
    stderr: str | None = None

    async def failure(self) -> ClientError:
        """Why the connection ended: ssh's exit and stderr, or the daemon closing it."""
        if self.process is None:
            return ConnectionLost(f"the orc daemon for {self.address} closed the connection")
        said = await self._finish()
        if isinstance(self.address, StoreAddress) and self.address.ssh is not None:
            return ssh_failure(self.address.ssh, self.process.returncode, said, "store-stdio")
        if isinstance(self.address, StoreAddress):
            return ConnectionLost(
                f"the read-only view of {self.address.root} ended: {said.strip() or 'no message'}"
            )  # first: ssh's exit code is known only once it has exited
        assert isinstance(self.address, SshAddress)
        return ssh_failure(self.address, self.process.returncode, said)

    async def close(self) -> None:
        if self.process is not None:
            await self._finish()
            return
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def _finish(self) -> str:
        """Close ssh's stdin, let it exit (or kill it), and keep what it said on stderr.

        Cancelled while it waits, ssh is killed first: a wait cut short must not
        leave an ssh behind that nothing will kill.
        """
        if self.stderr is None and self.process is not None:
            self.writer.close()  # asyncio's communicate() leaves stdin open
            try:
                _out, err = await asyncio.wait_for(self.process.communicate(), 5)
            except TimeoutError:
                self.kill()
                _out, err = await self.process.communicate()
            except asyncio.CancelledError:
                self.kill()
                raise
            self.stderr = err.decode(errors="replace")
        return self.stderr or ""

    def kill(self) -> None:
        """Kill ssh now, if it still runs (its exit is reaped by asyncio's child watcher)."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


async def _open(address: Address | StoreAddress, timeout: float | None) -> _Stream:
    if not isinstance(address, SshAddress | StoreAddress):
        sock = local_socket(address, timeout)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=wire.LINE_LIMIT)
        return _Stream(reader, writer, address)
    argv = address.argv()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=wire.LINE_LIMIT,
        )
    except OSError as error:
        raise SshError(
            f"cannot run {argv[0]!r} to reach {address}: {error.strerror}; "
            "install an ssh client or set ORC_SSH to one"
        ) from error
    assert process.stdout and process.stdin
    return _Stream(process.stdout, process.stdin, address, process)


class AsyncClient(Calls):
    """A connection to one orc daemon for asyncio code; the same methods as `Client`, awaited.

    Open one with `await AsyncClient.connect(...)`; close it with `await
    close()` or `async with`. Requests may run concurrently.
    """

    def __init__(self, stream: _Stream, timeout: float | None) -> None:
        self.address = stream.address
        self.timeout = timeout
        self.server: Hello | None = None  # the daemon's hello, once connected
        self._stream = stream
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[dict[str, Any]], Bind | None]] = {}
        self._subscriptions: dict[int, AsyncSubscription] = {}
        self._lost: ClientError | None = None
        self._reading = asyncio.create_task(self._read(), name=f"orc client {self.address}")

    @classmethod
    async def connect(
        cls,
        project_root: Path | None = None,
        *,
        host: str | None = None,
        timeout: float | None = 5.0,
        name: str | None = None,
    ) -> AsyncClient:
        """Connect and shake hands with the daemon of a project (arguments as `Client.connect`)."""
        return await cls._connect(resolve(project_root, host), timeout, name)

    @classmethod
    async def _connect(
        cls, address: Address | StoreAddress, timeout: float | None, name: str | None
    ) -> AsyncClient:
        client = cls(await _open(address, timeout), timeout)
        try:
            wait = handshake_timeout(address, timeout)
            hello = await client._run(calls.handshake(name or client_name()), timeout=wait)
            client.server = check_hello(hello, address)
        except BaseException:
            # An attempt given up (cancelled, or no hello in time) may have an ssh still
            # logging in: it is killed, not waited for, and never outlives the attempt.
            client._stream.kill()
            await client.close()
            raise
        return client

    async def close(self) -> None:
        """Close the connection; requests still waiting raise `ConnectionLost`."""
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        self._lose(
            self._lost or ConnectionLost(f"the client closed its connection to {self.address}")
        )
        await self._stream.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _read(self) -> None:
        """Route every line from the daemon until the connection ends, then fail what waits."""
        try:
            while line := await self._stream.reader.readline():
                self._receive(wire.decode(line))
        except ConnectionError:
            pass  # reset: the same end as a closed stream
        except ValueError as error:  # a line over the limit, or not JSON
            self._lose(ConnectionLost(f"the orc daemon at {self.address} sent a bad line: {error}"))
            return
        self._lose(await self._stream.failure())

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("method") == "notify":
            params = message.get("params") or {}
            subscription = self._subscriptions.get(params.get("subscription", 0))
            if subscription is not None:
                subscription._queue.put_nowait(Notification.model_validate(params))
            return
        waiting = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if waiting is None:
            return  # the reply to a request that timed out
        future, bind = waiting
        if bind is not None and "result" in message:
            bind(message["result"])  # before any notification that follows this reply
        if not future.done():
            future.set_result(message)

    def _lose(self, error: ClientError) -> None:
        self._lost = self._lost or error
        for future, _bind in self._pending.values():
            if not future.done():
                future.set_exception(self._lost)
        self._pending.clear()
        for subscription in self._subscriptions.values():
            subscription._queue.put_nowait(self._lost)
        self._subscriptions.clear()

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a notification: no reply (workers ship `records` this way)."""
        await self._write(wire.notification(method, params))

    async def _run(
        self, call: Call[T], *, timeout: float | None = None, bind: Bind | None = None
    ) -> T:
        return call.read(await self._request(call.method, call.params, timeout, bind), self.address)

    async def _request(
        self,
        method: str,
        params: dict[str, Any],
        timeout: float | None = None,
        bind: Bind | None = None,
    ) -> Any:
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, bind)
        wait = timeout or self.timeout
        try:
            await self._write(wire.request(request_id, method, params))
            async with asyncio.timeout(wait):
                reply = await future
        except ClientError:
            if future.done() and not future.cancelled():
                future.exception()  # raised here instead; not "never retrieved"
            raise
        except TimeoutError:
            raise timed_out(self.address, method, wait) from None
        finally:
            self._pending.pop(request_id, None)
        return wire.result(reply)

    async def _write(self, line: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        try:
            self._stream.writer.write(line)
            await self._stream.writer.drain()
        except ConnectionError:
            await asyncio.wait({self._reading}, timeout=self.timeout)  # let it say why
            raise self._lost or ConnectionLost(f"lost the orc daemon at {self.address}") from None

    def subscribe(
        self, topics: Sequence[Topic], flow_run_id: str | None = None, event: str | None = None
    ) -> AsyncSubscription:
        """Changes pushed by the daemon, as an async iterator (arguments as `Client.subscribe`).

        `await` it to know the subscription is active before going on;
        `async for` alone subscribes on the first step.
        """
        return AsyncSubscription(self, calls.subscribe(topics, flow_run_id, event))

    async def _subscribe(self, subscription: AsyncSubscription, call: Call[int]) -> int:
        def bind(result: Any) -> None:
            self._subscriptions[int(result["subscription"])] = subscription

        return await self._run(call, bind=bind)

    async def _unsubscribe(self, subscription: int) -> None:
        if self._subscriptions.pop(subscription, None) is not None and self._lost is None:
            with contextlib.suppress(ClientError):
                await self._run(calls.unsubscribe(subscription))


class AsyncSubscription:
    """The notifications of one subscription on an `AsyncClient`, as an async iterator.

    Iteration raises `ConnectionLost` when the daemon goes away; `aclose()`
    (or leaving `async with`) unsubscribes and ends it.
    """

    def __init__(self, client: AsyncClient, call: Call[int]) -> None:
        self.id: int | None = None
        self._client = client
        self._call = call
        self._queue: asyncio.Queue[Notification | ClientError | None] = asyncio.Queue()
        self._closed = False

    async def start(self) -> AsyncSubscription:
        """Subscribe now, if not yet done; the daemon pushes from the moment this returns."""
        if self.id is None:
            self.id = await self._client._subscribe(self, self._call)
        return self

    def __await__(self) -> Generator[Any, None, AsyncSubscription]:
        return self.start().__await__()

    def __aiter__(self) -> AsyncSubscription:
        return self

    async def __anext__(self) -> Notification:
        await self.start()
        item = await self._queue.get()
        if item is None or isinstance(item, ClientError):
            self._queue.put_nowait(item)  # every later step ends the same way
        if item is None:
            raise StopAsyncIteration
        if isinstance(item, ClientError):
            raise item
        return item

    async def get(self, timeout: float | None = None) -> Notification:
        """The next notification; `TimeoutError` if none comes within `timeout` seconds."""
        async with asyncio.timeout(timeout):
            return await self.__anext__()

    async def aclose(self) -> None:
        """Unsubscribe; iteration ends after what already arrived."""
        if not self._closed:
            self._closed = True
            if self.id is not None:
                await self._client._unsubscribe(self.id)
            self._queue.put_nowait(None)

    async def __aenter__(self) -> AsyncSubscription:
        return await self.start()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def connect_store(
    project_root: Path | None, *, timeout: float | None = 10.0, host: str | None = None
) -> AsyncClient:
    """A read-only client of a project's store, for when no daemon runs (`orc store-stdio`).

    It answers the daemon's read methods from the file; every change is refused.
    With `host` (`ssh://…`, as for `connect`), the command runs on that server.
    """
    address = (
        StoreAddress(None, parse_ssh(host, project_root)) if host else StoreAddress(project_root)
    )
    return await AsyncClient._connect(address, timeout, None)
