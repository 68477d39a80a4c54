"""`Client`: the blocking client, for CLI commands, worker threads and scripts."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from orchestrate.client import calls, wire
from orchestrate.client.address import Address, handshake_timeout, resolve
from orchestrate.client.calls import Call, check_hello, client_name
from orchestrate.client.channels import Channel, open_channel
from orchestrate.errors import DaemonTimeout
from orchestrate.protocol import (
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    Hello,
    LogInfo,
    Notification,
    RunDetail,
    Status,
    Topic,
)

T = TypeVar("T")


class Client:
    """A blocking connection to one orc daemon.

    Open one with `connect()`; close it with `close()` or a `with` block. Each
    method sends one request and waits for its reply at most `timeout` seconds.
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
                calls.hello(name or client_name()), handshake_timeout(address, timeout)
            )
            client.server = check_hello(hello, address)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        """Close the connection (for ssh: end the ssh process)."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> Any:
        """Send any request and return its raw (JSON) result."""
        return self._request(method, params, self.timeout)

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
            raise self._timed_out(method, timeout) from error

    def _readline(self, deadline: float | None, method: str, timeout: float | None) -> bytes:
        try:
            line = self._channel.lines.readline(deadline)
        except TimeoutError as error:
            raise self._timed_out(method, timeout) from error
        if line is None:
            raise self._channel.failure()
        return line

    def _timed_out(self, method: str, timeout: float | None) -> DaemonTimeout:
        return DaemonTimeout(
            f"the orc daemon at {self.address} did not answer `{method}` within {timeout:g} s; "
            "it may be busy or stuck (see its log), or wait longer (a larger timeout)"
        )

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

    def hello(self) -> Hello:
        """The daemon's identity: version, pid, project and start time."""
        return self._run(calls.hello(client_name()))

    def status(self) -> Status:
        """What the daemon is doing: running runs, the queue, what is due next."""
        return self._run(calls.status())

    def deployments(self) -> list[DeploymentInfo]:
        """Every deployment, with its schedules, next run and latest runs."""
        return self._run(calls.deployments())

    def deployment(self, name: str) -> DeploymentDetail:
        """One deployment, with its next scheduled times."""
        return self._run(calls.deployment(name))

    def pause_deployment(self, name: str) -> DeploymentInfo:
        """Stop scheduling runs of a deployment (runs already started go on)."""
        return self._run(calls.pause_deployment(name))

    def resume_deployment(self, name: str) -> DeploymentInfo:
        """Schedule runs of a paused deployment again."""
        return self._run(calls.resume_deployment(name))

    def runs(
        self,
        limit: int = 50,
        state: str | None = None,
        deployment: str | None = None,
        since: float | None = None,
    ) -> list[FlowRunInfo]:
        """Flow runs, newest first, filtered by state (type or name), deployment and start."""
        return self._run(calls.runs(limit, state, deployment, since))

    def run(self, id: str) -> RunDetail:
        """One flow run (full id or unique prefix) with its task runs and state history."""
        return self._run(calls.run(id))

    def logs(
        self,
        id: str,
        after: float | None = None,
        limit: int | None = None,
        level: int | None = None,
    ) -> list[LogInfo]:
        """The log lines of a flow run, after a timestamp and at or above a level."""
        return self._run(calls.logs(id, after, limit, level))

    def create_run(self, deployment: str, parameters: dict[str, Any] | None = None) -> FlowRunInfo:
        """Start a run of a deployment now (it is Scheduled, due at once)."""
        return self._run(calls.create_run(deployment, parameters))

    def cancel_run(self, id: str) -> FlowRunInfo:
        """Cancel a scheduled or running flow run."""
        return self._run(calls.cancel_run(id))

    def retry_run(self, id: str) -> FlowRunInfo:
        """Run a finished flow run again with the same parameters; returns the new run."""
        return self._run(calls.retry_run(id))

    def events(
        self,
        name: str | None = None,
        resource: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[EventInfo]:
        """Events, newest first, by name glob, resource id glob and time."""
        return self._run(calls.events(name, resource, since, limit))

    def emit_event(
        self,
        event: str,
        resource: dict[str, str],
        payload: dict[str, Any] | None = None,
        related: list[dict[str, str]] | None = None,
    ) -> EventInfo:
        """Record an event (automations see it like any other)."""
        return self._run(calls.emit_event(event, resource, payload, related))

    def automations(self) -> list[AutomationInfo]:
        """Every automation, with its trigger and actions in words."""
        return self._run(calls.automations())

    def automation(self, name: str) -> AutomationInfo:
        """One automation."""
        return self._run(calls.automation(name))

    def pause_automation(self, name: str) -> AutomationInfo:
        """Stop an automation from firing."""
        return self._run(calls.pause_automation(name))

    def resume_automation(self, name: str) -> AutomationInfo:
        """Let a paused automation fire again."""
        return self._run(calls.resume_automation(name))


class Subscription(Iterator[Notification]):
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

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    project_root: Path | None = None,
    *,
    host: str | None = None,
    timeout: float | None = 5.0,
    name: str | None = None,
) -> Client:
    """`Client.connect`: a blocking client of a project's daemon (see there)."""
    return Client.connect(project_root, host=host, timeout=timeout, name=name)
