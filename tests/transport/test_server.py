"""The JSON-RPC server: handshake, requests, errors, notifications, the socket file itself."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate.client import Client, RemoteError, connect, protocol
from orchestrate.core.errors import DaemonAlreadyRunning
from orchestrate.daemon.server import RpcServer

from .conftest import WAIT, FakeDaemon, RawClient


def test_hello_answers_with_the_daemons_identity(
    daemon: FakeDaemon, raw: Callable[[], RawClient]
) -> None:
    reply = raw().hello()

    hello = protocol.Hello.model_validate(reply["result"])
    assert (hello.protocol, hello.pid, hello.project_root) == (
        protocol.PROTOCOL_VERSION, os.getpid(), str(daemon.root),
    )  # fmt: skip


def test_another_protocol_version_is_refused_naming_both(raw: Callable[[], RawClient]) -> None:
    reply = raw().ask("hello", {"protocol": 99, "client": "future-orc"})

    error = reply["error"]
    assert error["code"] == protocol.VERSION_MISMATCH
    assert f"speaks protocol {protocol.PROTOCOL_VERSION}" in error["message"]
    assert "client speaks 99" in error["message"]
    assert "same orc version on both sides" in error["message"]


def test_a_request_before_hello_is_refused(raw: Callable[[], RawClient]) -> None:
    reply = raw().ask("echo", {"x": 1})

    assert reply["error"]["code"] == protocol.NOT_HANDSHAKEN
    assert "starts with `hello`" in reply["error"]["message"]


def test_a_request_gets_its_handlers_result_with_who_asked(daemon: FakeDaemon) -> None:
    with connect(daemon.root, name="test-cli") as client:
        answer = client.call("echo", a=1, b=[1, 2])

    assert answer == {
        "params": {"a": 1, "b": [1, 2]},
        "client": "test-cli",
        "peer_pid": os.getpid(),
    }


def test_an_unknown_method_says_which_exist(raw: Callable[[], RawClient]) -> None:
    client = raw()
    client.hello()

    error = client.ask("runs.frobnicate")["error"]

    assert error["code"] == protocol.METHOD_NOT_FOUND
    assert "no method `runs.frobnicate`" in error["message"]
    assert "runs.get" in error["message"]


def test_a_failing_handler_answers_internal_error_and_the_server_stays_up(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    with connect(daemon.root) as client:
        with pytest.raises(RemoteError) as failed:
            client.call("boom")
        after = client.call("echo", still="here")

    assert failed.value.code == protocol.INTERNAL_ERROR
    assert "RuntimeError: kaboom" in str(failed.value)
    assert "second line" not in str(failed.value)
    assert after["params"] == {"still": "here"}
    assert any("`boom`" in r.getMessage() and r.exc_info for r in caplog.records)


def test_garbage_and_bad_params_get_json_rpc_errors(raw: Callable[[], RawClient]) -> None:
    client = raw()
    client.hello()

    client.send(b"{not json\n")
    garbage = client.receive()
    positional = client.ask("echo", [1, 2])  # type: ignore[arg-type]
    client.send(b"42\n")
    not_an_object = client.receive()

    assert garbage["error"]["code"] == protocol.PARSE_ERROR
    assert positional["error"]["code"] == protocol.INVALID_PARAMS
    assert not_an_object["error"]["code"] == protocol.INVALID_REQUEST
    assert client.ask("echo", {"ok": True})["result"]["params"] == {"ok": True}


def test_a_batch_gets_one_array_of_replies_and_runs_its_notifications(
    daemon: FakeDaemon, raw: Callable[[], RawClient]
) -> None:
    client = raw()
    client.hello("batcher")

    client.send(
        [
            {"jsonrpc": "2.0", "id": 7, "method": "echo", "params": {"n": 7}},
            {"jsonrpc": "2.0", "method": "records", "params": {"records": []}},
            {"jsonrpc": "2.0", "id": 8, "method": "runs.get", "params": {"id": "zzz"}},
        ]
    )
    replies = client.receive()

    assert [r["id"] for r in replies] == [7, 8]
    assert replies[0]["result"]["params"] == {"n": 7}
    assert replies[1]["error"]["code"] == protocol.NOT_FOUND
    assert daemon.wait_for_records(1)[0][0] == "batcher"


def test_notifications_reach_their_handler_in_order_with_no_reply(daemon: FakeDaemon) -> None:
    with connect(daemon.root, name="worker abc") as client:
        for batch in range(50):
            client.notify("records", {"records": [["log", {"n": batch}]]})
        assert client.call("echo") is not None  # the only line that comes back

        received = daemon.wait_for_records(50)

    assert [params["records"][0][1]["n"] for _, _, params in received] == list(range(50))
    assert {(name, pid) for name, pid, _ in received} == {("worker abc", os.getpid())}


def test_large_lines_travel_both_ways(daemon: FakeDaemon) -> None:
    big = [["log", {"message": "x" * 1000, "n": i}] for i in range(5000)]  # ~5 MB
    with connect(daemon.root) as client:
        client.notify("records", {"records": big})
        detail = client.call("runs.get", id="abc", task_runs=2000)

        assert len(daemon.wait_for_records(1)[0][2]["records"]) == 5000
    assert len(detail["task_runs"]) == 2000


def test_a_line_over_the_limit_closes_that_connection_only(
    serve: Callable[..., FakeDaemon],
) -> None:
    daemon = serve(line_limit=64 * 1024)
    client = RawClient(daemon.socket)
    client.hello()

    client.send(
        b'{"jsonrpc":"2.0","id":2,"method":"echo","params":{"x":"' + b"y" * 200_000 + b'"}}\n'
    )
    reply = client.receive()

    assert reply["error"]["code"] == protocol.PARSE_ERROR
    assert client.reader.readline() == b""  # closed
    client.close()
    with connect(daemon.root) as other:
        assert other.call("echo", ok=1)["params"] == {"ok": 1}


def test_a_client_vanishing_mid_request_leaves_the_server_serving(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    client = RawClient(daemon.socket)
    client.hello()
    client.send({"jsonrpc": "2.0", "id": 2, "method": "slow", "params": {}})
    client.sock.shutdown(socket.SHUT_RDWR)
    client.close()

    daemon.release()
    with connect(daemon.root) as other:
        assert other.call("slow") == "done"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_socket_is_0600_in_a_0700_folder(
    tmp_path: Path, serve: Callable[..., FakeDaemon]
) -> None:
    (tmp_path / ".orc").mkdir(mode=0o755)
    os.chmod(tmp_path / ".orc", 0o755)

    daemon = serve()

    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(daemon.socket.stat().st_mode)
    assert stat.S_IMODE(daemon.socket.parent.stat().st_mode) == 0o700


def test_a_stale_socket_file_is_replaced(tmp_path: Path, serve: Callable[..., FakeDaemon]) -> None:
    path = tmp_path / ".orc" / "orc.sock"
    path.parent.mkdir()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))  # a daemon killed with -9 leaves this behind
    leftover.close()

    daemon = serve()

    with connect(daemon.root) as client:
        assert client.server is not None and client.server.pid == os.getpid()


async def test_a_live_socket_is_refused_naming_the_pid(daemon: FakeDaemon) -> None:
    second = RpcServer({}, daemon.hello)

    with pytest.raises(DaemonAlreadyRunning, match=rf"\(pid {os.getpid()}\) already listens on"):
        await second.start(daemon.socket)

    with connect(daemon.root) as client:  # the first one is untouched
        assert client.call("echo") is not None


async def test_close_removes_the_socket_and_ends_connections(tmp_path: Path) -> None:
    path = tmp_path / ".orc" / "orc.sock"
    server = RpcServer({}, FakeDaemon(tmp_path).hello)
    await server.start(path)
    reader, writer = await asyncio.open_unix_connection(str(path))

    await server.close()

    assert not path.exists()
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    await writer.wait_closed()


def test_a_project_deeper_than_a_socket_address_allows_still_works(
    tmp_path: Path, serve: Callable[..., FakeDaemon]
) -> None:
    root = tmp_path / ("deep-" * 12) / ("deeper-" * 12)
    root.mkdir(parents=True)
    assert len(str(root / ".orc" / "orc.sock")) > 108

    daemon = serve(root)

    with Client.connect(root) as client:
        assert client.status().project_root == str(daemon.root)


def test_frames_that_are_not_json_rpc_2_get_errors_and_the_connection_goes_on(
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.hello()
    frames = [
        b"[" * 100_000 + b"\n",  # nested deeper than any parser should follow
        b"\xff\xfe\x00garbage\n",
        b'{"jsonrpc":"1.0","id":3,"method":"echo"}\n',
        b'{"id":4,"method":"echo"}\n',
        b'{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}\n',
        b'{"jsonrpc":"2.0","id":true,"method":"echo"}\n',
        b'{"jsonrpc":"2.0","id":6,"method":7}\n',
    ]
    replies = []
    for frame in frames:
        client.send(frame)
        replies.append(client.receive())

    codes = [r["error"]["code"] for r in replies]
    assert codes == [protocol.PARSE_ERROR] * 2 + [protocol.INVALID_REQUEST] * 5
    assert "nested too deeply" in replies[0]["error"]["message"]
    assert 'say "jsonrpc": "2.0"' in replies[2]["error"]["message"]
    assert replies[4]["id"] is None and "string or an integer" in replies[4]["error"]["message"]
    assert client.ask("echo", {"still": 1}, id=9)["result"]["params"] == {"still": 1}


def test_params_of_a_protocol_method_are_checked_before_its_handler_runs(
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.hello()

    reply = client.ask("runs.get", {"id": 5})

    assert reply["error"]["code"] == protocol.INVALID_PARAMS
    assert (
        reply["error"]["message"]
        == "bad params for `runs.get`: id: Input should be a valid string; got 5"
    )


def test_a_notification_with_bad_params_is_dropped_with_one_log_line(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    with connect(daemon.root, name="worker") as client:
        client.notify("records", {"records": 5})
        client.notify("records", {"records": [["log", {"n": 1}]]})

        received = daemon.wait_for_records(1)

    assert [params for _, _, params in received] == [{"records": [("log", {"n": 1})]}]
    dropped = [r for r in caplog.records if "ignored notification `records`" in r.getMessage()]
    assert dropped and "records: Input should be a valid list" in dropped[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def test_a_flood_of_requests_and_a_client_cut_mid_frame_leave_others_answered(
    daemon: FakeDaemon, raw: Callable[[], RawClient]
) -> None:
    flooder = raw()
    flooder.hello()
    count = 3000
    flooder.send(b"".join(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "echo", "params": {"n": i}}).encode() + b"\n"
        for i in range(count)
    ))  # fmt: skip
    cut = RawClient(daemon.socket)
    cut.send(b'{"jsonrpc":"2.0","id":1,"method":"hel')
    cut.close()

    with connect(daemon.root) as other:
        assert other.call("echo", ok=1)["params"] == {"ok": 1}
    assert sorted(flooder.receive()["id"] for _ in range(count)) == list(range(count))
