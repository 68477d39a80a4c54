"""`PlainClient`: a blocking client that hands results back as JSON, read with the stdlib alone.

A quick read command (`orc status`, `orc runs ls`, …) is mostly interpreter
start-up and imports; validating a few replies through pydantic models costs
more than the command's own work. This client speaks the same lines as
`Client` over the local socket, and returns each result as the daemon sent it,
every object an `Attrs` (a dict whose keys read as attributes too, so code
written against the wire models reads it unchanged). A missing key reads as
None, the default of the models' optional fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from orchestrate.client import wire
from orchestrate.client.address import LocalAddress
from orchestrate.client.channels import SocketChannel
from orchestrate.client.codes import PROTOCOL_VERSION, check_protocol
from orchestrate.client.unix import local_socket
from orchestrate.core.causes import chain_from_env


class Attrs(dict[str, Any]):
    """A JSON object whose keys read as attributes (a missing one as None)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)


class PlainClient:
    """A connection to the project's daemon on this machine; results are `Attrs`."""

    def __init__(self, root: Path, timeout: float = 5.0) -> None:
        self.root = root
        self.address = LocalAddress(root)
        self.timeout = timeout
        self._channel = SocketChannel(local_socket(self.address, timeout), self.address)
        self._id = 0
        try:
            from orchestrate._version import __version__

            hello = self.request("hello", protocol=PROTOCOL_VERSION, client=f"orc/{__version__}")
            check_protocol(hello.get("protocol"), self.address)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def request(self, method: str, **params: Any) -> Any:
        """Send one request and wait for its result (a daemon error raised as in `Client`)."""
        self._id += 1
        deadline = time.monotonic() + self.timeout
        self._channel.send(wire.request(self._id, method, params))
        while True:
            reply = self._read(deadline, method, self.timeout)
            if isinstance(reply, dict) and reply.get("id") == self._id:
                return wire.result(reply)

    def _read(self, deadline: float | None, method: str, timeout: float | None) -> Any:
        """The next message from the daemon, read as `Attrs`."""
        try:
            line = self._channel.lines.readline(deadline)
        except TimeoutError as error:
            raise wire.timed_out(self.address, method, timeout) from error
        if line is None:
            raise self._channel.failure()
        return json.loads(line, object_hook=Attrs)

    def subscribe(
        self, topics: Sequence[str], flow_run_id: str | None = None, event: str | None = None
    ) -> PlainSubscription:
        """Changes pushed by the daemon, on a connection of their own, as `Client.subscribe`."""
        own = PlainClient(self.root, self.timeout)
        try:
            own.request(
                "subscribe", **wire.given(topics=topics, flow_run_id=flow_run_id, event=event)
            )
        except BaseException:
            own.close()
            raise
        return PlainSubscription(own)

    # The reads of `orchestrate.client.calls`, with the same params.

    def status(self) -> Any:
        return self.request("status")

    def runs(self, limit: int = 50, **filters: Any) -> list[Any]:
        states = filters.pop("states", None)
        params = wire.given(limit=limit, states=list(states) if states else None, **filters)
        return list(
            self.request("runs.list", **{k: v for k, v in params.items() if v is not False})
        )

    def create_run(
        self,
        deployment: str,
        parameters: dict[str, Any] | None = None,
        texts: dict[str, str] | None = None,
    ) -> Any:
        return self.request(
            "runs.create",
            **wire.given(
                deployment=deployment,
                parameters=parameters,
                texts=texts or None,
                caused_by=list(chain_from_env()) or None,  # started by an automation's command
            ),
        )

    def run(self, id: str) -> Any:
        return self.request("runs.get", id=id)

    def logs(self, id: str, after: float | None = None) -> list[Any]:
        return list(self.request("runs.logs", **wire.given(id=id, after=after)))

    def log_page(self, id: str, after: Any = None, size: int = 5000) -> Any:
        after = list(after) if after is not None else None
        return self.request("runs.log_page", **wire.given(id=id, after=after, size=size))

    def events(
        self, name: str | None = None, resource: str | None = None, limit: int = 100
    ) -> list[Any]:
        return list(
            self.request("events.list", **wire.given(name=name, resource=resource, limit=limit))
        )

    def deployments(self) -> list[Any]:
        return list(self.request("deployments.list"))

    def sql_query(self, sql: str, limit: int | None = None, timeout: float = 30.0) -> Any:
        return self.request("sql.query", **wire.given(sql=sql, limit=limit, timeout=timeout))

    def sql_spool(self, sql: str, timeout: float = 30.0) -> Any:
        return self.request("sql.spool", **wire.given(sql=sql, timeout=timeout))

    def sql_copy(self, sql: str, path: str, format: str, timeout: float = 30.0) -> Any:
        params = wire.given(sql=sql, path=path, format=format, timeout=timeout)
        return self.request("sql.copy", **params)

    def sql_schema(self) -> list[Any]:
        return list(self.request("sql.schema"))

    def backup_store(self, path: str) -> Any:
        return self.request("store.backup", path=path)


class PlainSubscription(Iterator[Any]):
    """The notifications of one subscription (`subscription`, `topic`, `data`), as they come."""

    def __init__(self, client: PlainClient) -> None:
        self._client = client

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __next__(self) -> Any:
        return self.get()

    def get(self, timeout: float | None = None) -> Any:
        """The next notification; `DaemonTimeout` if none comes within `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self._client._read(deadline, "notify", timeout)
            if isinstance(message, dict) and message.get("method") == "notify":
                return message["params"]

    def close(self) -> None:
        self._client.close()
