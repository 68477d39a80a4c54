"""A real `RpcServer` on a real socket in `tmp_path`, run on an event loop in its own thread.

Its handlers are small stand-ins for the daemon's (which live in
`orchestrate.daemon` and are tested there): enough to exercise every path of
the transport with the blocking client, the asyncio client and raw sockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from orchestrate.client import protocol
from orchestrate.core.project import socket_path
from orchestrate.daemon.rpc_connection import Connection
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.daemon.server import RpcServer

T = TypeVar("T")
WAIT = 10.0  # seconds any test waits for something that should happen at once


class Limit(BaseModel):
    limit: int


def run_detail(task_runs: int) -> protocol.RunDetail:
    state = protocol.StateInfo(type="COMPLETED", name="Completed", timestamp=1.0)
    run = protocol.FlowRunInfo(
        id="abc", name="brave-fox", flow_name="etl", state=state, created=1.0
    )
    tasks = [
        protocol.TaskRunInfo(
            id=f"t{i}",
            flow_run_id="abc",
            name=f"load-{i}",
            task_key="load",
            dynamic_key=i,
            state=state,
            created=1.0,
        )
        for i in range(task_runs)
    ]
    return protocol.RunDetail(run=run, task_runs=tasks)


class FakeDaemon:
    """The server plus the handlers a test drives, with thread-safe ways to reach its loop."""

    def __init__(self, root: Path, **options: Any) -> None:
        self.root = root
        self.socket = socket_path(root)
        self.options = options
        self.records: list[tuple[str | None, int | None, dict[str, Any]]] = []
        self.seen = threading.Condition()
        self.gate: asyncio.Event | None = None
        self.server: RpcServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None

    def hello(self) -> protocol.Hello:
        return protocol.Hello(
            protocol=protocol.PROTOCOL_VERSION, version="test", pid=os.getpid(), project="demo",
            project_root=str(self.root), started_at=time.time(),
        )  # fmt: skip

    def handlers(self) -> dict[str, Any]:
        async def echo(params: dict[str, Any], connection: Connection) -> dict[str, Any]:
            return {"params": params, "client": connection.client, "peer_pid": connection.peer_pid}

        async def status(params: dict[str, Any], connection: Connection) -> protocol.Status:
            hello = self.hello()
            return protocol.Status(**hello.model_dump(exclude={"protocol"}), uptime_seconds=1.5)

        async def get_run(params: dict[str, Any], connection: Connection) -> protocol.RunDetail:
            if params["id"] != "abc":
                raise RpcError(protocol.NOT_FOUND, f"no flow run matches {params['id']!r}")
            return run_detail(int(params.get("task_runs", 3)))

        async def create_run(params: dict[str, Any], connection: Connection) -> None:
            raise RpcError(
                protocol.BAD_INPUT, "parameter days: not a valid integer", {"field": "days"}
            )

        async def cancel_run(params: dict[str, Any], connection: Connection) -> None:
            raise RpcError(protocol.CONFLICT, "flow run abc already finished (Completed)")

        async def boom(params: dict[str, Any], connection: Connection) -> None:
            raise RuntimeError("kaboom\nand a second line nobody should see")

        async def slow(params: dict[str, Any], connection: Connection) -> str:
            assert self.gate is not None
            await self.gate.wait()
            return "done"

        async def typed(params: dict[str, Any], connection: Connection) -> int:
            return Limit.model_validate(params).limit

        async def events(params: dict[str, Any], connection: Connection) -> list[dict[str, Any]]:
            good = {
                "id": "e1",
                "occurred": 1.0,
                "event": "acme.fine",
                "resource": {"orc.resource.id": "r"},
            }
            return [good, {**good, "id": "e2", "payload": [1], "related": [1, 2]}]

        async def deployment(params: dict[str, Any], connection: Connection) -> dict[str, Any]:
            return {"name": 5, "entrypoint": "etl.py:nightly"}  # what no daemon should answer

        async def records(params: dict[str, Any], connection: Connection) -> None:
            with self.seen:
                self.records.append((connection.client, connection.peer_pid, params))
                self.seen.notify_all()

        return {
            "echo": echo, "status": status, "runs.get": get_run, "runs.create": create_run,
            "runs.cancel": cancel_run, "boom": boom, "slow": slow, "records": records,
            "typed": typed, "events.list": events, "deployments.get": deployment,
        }  # fmt: skip

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.gate = asyncio.Event()
        self._stop = asyncio.Event()
        self.server = RpcServer(self.handlers(), self.hello, **self.options)
        try:
            await self.server.start(self.socket)
        except BaseException as error:
            self._failed = error
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.server.close()

    def start(self) -> FakeDaemon:
        self._thread.start()
        assert self._ready.wait(WAIT), "the server did not start"
        if self._failed is not None:
            raise self._failed
        return self

    def stop(self) -> None:
        if self._thread.is_alive() and self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the server did not stop"

    def run(self, function: Callable[[], T]) -> T:
        """Call `function` on the server's loop and return what it returns."""
        assert self.loop is not None
        done: Future[T] = Future()

        def call() -> None:
            try:
                done.set_result(function())
            except BaseException as error:
                done.set_exception(error)

        self.loop.call_soon_threadsafe(call)
        return done.result(WAIT)

    def publish(self, topic: str, data: dict[str, Any], **filters: Any) -> int:
        assert self.server is not None
        server = self.server
        return self.run(lambda: server.publish(topic, data, **filters))

    def release(self) -> None:
        """Let every `slow` request finish."""
        assert self.gate is not None
        gate = self.gate
        self.run(gate.set)

    def wait_for_records(self, count: int) -> list[tuple[str | None, int | None, dict[str, Any]]]:
        with self.seen:
            assert self.seen.wait_for(lambda: len(self.records) >= count, WAIT), self.records
            return list(self.records)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., FakeDaemon]]:
    """`serve(**options)` starts a fake daemon for the project `tmp_path`; stopped after the test."""
    started: list[FakeDaemon] = []

    def start(root: Path = tmp_path, **options: Any) -> FakeDaemon:
        daemon = FakeDaemon(root, **options)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def daemon(serve: Callable[..., FakeDaemon]) -> FakeDaemon:
    return serve()


class RawClient:
    """A bare socket speaking lines, for what the real clients never send."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def send(self, message: Any) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        self.sock.sendall(data)

    def receive(self) -> Any:
        line = self.reader.readline()
        assert line, "the server closed the connection"
        return json.loads(line)

    def ask(self, method: str, params: dict[str, Any] | None = None, id: int = 1) -> Any:
        self.send({"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}})
        return self.receive()

    def hello(self, name: str = "raw") -> Any:
        return self.ask("hello", {"protocol": protocol.PROTOCOL_VERSION, "client": name})

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def raw(daemon: FakeDaemon) -> Iterator[Callable[[], RawClient]]:
    opened: list[RawClient] = []

    def open_one() -> RawClient:
        opened.append(RawClient(daemon.socket))
        return opened[-1]

    yield open_one
    for client in opened:
        client.close()
