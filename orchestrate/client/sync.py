"""`Client`: the blocking client, for CLI commands, worker threads and scripts."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from orchestrate.client import calls, wire
from orchestrate.client.address import Address, handshake_timeout, resolve
from orchestrate.client.calls import Calls, check_hello, client_name
from orchestrate.client.channels import Channel, open_channel
from orchestrate.client.protocol import Hello, Notification, Topic
from orchestrate.client.rpc import Call, timed_out

T = TypeVar("T")


class _ClosedOnExit:
    """`with x:` closes `x` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Client(Calls, _ClosedOnExit):
    """A blocking connection to one orc daemon.

    Open one with `connect()`; close it with `close()` or a `with` block. Each
    method sends one request and waits for its reply at most `timeout` seconds
    (the methods are declared once, in `orchestrate.client.calls`).
    Safe to share between threads (requests take turns).
    """

    def __init__(self, channel: Channel, address: Address, timeout: float | None) -> None:
        self.address = address
        self.timeout = timeout
        self._channel = channel
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server: Hello | None = None  # the daemon's hello, once connected

    @classmethod
    def connect(
        cls,
        project_root: Path | None = None,
        *,
        host: str | None = None,
        timeout: float | None = 5.0,
        name: str | None = None,
    ) -> Client:
        """Connect and shake hands with the daemon of a project.

        Args:
            project_root: the project folder (default: `$ORC_HOME`, or the nearest
                folder up with a flows.toml). With `host`, the folder on that server.
            host: `ssh://[user@]server[:port][/path/to/project]` to reach a daemon
                on another machine through `ssh … orc dial-stdio`.
            timeout: seconds to wait for each reply (None waits for ever).
            name: how this client introduces itself (shown in the daemon's log).

        Raises:
            DaemonNotRunning: no daemon listens for that project.
            ProtocolMismatch: the daemon runs another version of orc.
            SshError: ssh failed, or orc is not installed on the server.
        """
        return cls.open(resolve(project_root, host), timeout, name)

    @classmethod
    def open(cls, address: Address, timeout: float | None = 5.0, name: str | None = None) -> Client:
        """Connect and shake hands with the daemon at an already resolved address."""
        client = cls(open_channel(address, timeout), address, timeout)
        try:
            hello = client._run(
                calls.handshake(name or client_name()), handshake_timeout(address, timeout)
            )
            client.server = check_hello(hello, address)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        """Close the connection (for ssh: end the ssh process)."""
        self._channel.close()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a notification: no reply, no waiting (workers ship `records` this way)."""
        with self._lock:
            self._send(wire.notification(method, params), method, self.timeout)

    def send_lines(self, data: bytes) -> None:
        """Send already encoded notification lines (a record sink's batches) as they are."""
        with self._lock:
            self._send(data, "records", self.timeout)

    def _run(self, call: Call[T], timeout: float | None = None) -> T:
        return call.read(
            self._request(call.method, call.params, timeout or self.timeout), self.address
        )

    def _request(self, method: str, params: dict[str, Any], timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            request_id = next(self._ids)
            self._send(wire.request(request_id, method, params), method, timeout)
            while True:  # replies to requests that timed out earlier are skipped
                reply = wire.decode(self._readline(deadline, method, timeout))
                if reply.get("id") == request_id:
                    return wire.result(reply)

    def _send(self, line: bytes, method: str, timeout: float | None) -> None:
        try:
            self._channel.send(line)
        except TimeoutError as error:
            raise timed_out(self.address, method, timeout) from error

    def _readline(self, deadline: float | None, method: str, timeout: float | None) -> bytes:
        try:
            line = self._channel.lines.readline(deadline)
        except TimeoutError as error:
            raise timed_out(self.address, method, timeout) from error
        if line is None:
            raise self._channel.failure()
        return line

    def subscribe(
        self, topics: Sequence[Topic], flow_run_id: str | None = None, event: str | None = None
    ) -> Subscription:
        """Changes pushed by the daemon, on a connection of their own, as an iterator.

        Args:
            topics: what to follow: "flow_run", "task_run", "log", "event", …
            flow_run_id: only changes of this flow run.
            event: only events whose name matches this glob (`orc.flow-run.*`).

        The subscription is active when this returns; close it to stop.
        """
        own = Client.open(self.address, self.timeout)
        try:
            subscription = own._run(calls.subscribe(topics, flow_run_id, event))
        except BaseException:
            own.close()
            raise
        return Subscription(own, subscription)


class Subscription(Iterator[Notification], _ClosedOnExit):
    """The notifications of one subscription; iterating blocks until the next one arrives.

    Iteration raises `ConnectionLost` when the daemon goes away (it ends the
    connection of a subscriber that falls too far behind).
    """

    def __init__(self, client: Client, subscription: int) -> None:
        self.id = subscription
        self._client = client

    def __next__(self) -> Notification:
        return self.get()

    def get(self, timeout: float | None = None) -> Notification:
        """The next notification; `DaemonTimeout` if none comes within `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = wire.decode(self._client._readline(deadline, "notify", timeout))
            if message.get("method") == "notify":
                return Notification.model_validate(message["params"])

    def close(self) -> None:
        self._client.close()


def connect(
    project_root: Path | None = None,
    *,
    host: str | None = None,
    timeout: float | None = 5.0,
    name: str | None = None,
) -> Client:
    """`Client.connect`: a blocking client of a project's daemon (see there)."""
    return Client.connect(project_root, host=host, timeout=timeout, name=name)
