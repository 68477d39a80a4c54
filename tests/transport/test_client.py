"""The client as its callers see it: typed results, errors that say what to do, no heavy imports."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.client import (
    AsyncClient,
    BadInput,
    Conflict,
    DaemonNotRunning,
    DaemonTimeout,
    NotFound,
    ProtocolMismatch,
    RemoteError,
    connect,
    protocol,
)
from orchestrate.client import calls as client_calls
from orchestrate.client.address import LocalAddress, SshAddress, StoreAddress, parse_ssh
from orchestrate.core.errors import ClientError

from .conftest import FakeDaemon


def test_typed_methods_return_protocol_models(daemon: FakeDaemon) -> None:
    with connect(daemon.root) as client:
        status = client.status()
        detail = client.run("abc")

    assert isinstance(status, protocol.Status) and status.uptime_seconds == 1.5
    assert isinstance(detail, protocol.RunDetail)
    assert [t.name for t in detail.task_runs] == ["load-0", "load-1", "load-2"]


@pytest.mark.parametrize(
    ("method", "error", "text"),
    [
        (lambda c: c.run("nope"), NotFound, "no flow run matches 'nope'"),
        (lambda c: c.create_run("etl", {"days": "x"}), BadInput, "not a valid integer"),
        (lambda c: c.cancel_run("abc"), Conflict, "already finished"),
        (lambda c: c.call("unknown.method"), RemoteError, "no method `unknown.method`"),
        (lambda c: c.call("typed", limit="many"), BadInput, "limit: Input should be a valid int"),
    ],
    ids=["not-found", "bad-input", "conflict", "unknown-method", "params-that-do-not-validate"],
)
def test_daemon_errors_become_exceptions_per_code(
    daemon: FakeDaemon, method: object, error: type[RemoteError], text: str
) -> None:
    with connect(daemon.root) as client, pytest.raises(error, match=text) as raised:
        method(client)  # type: ignore[operator]

    assert isinstance(raised.value, ClientError)


def test_bad_input_carries_the_daemons_data(daemon: FakeDaemon) -> None:
    with connect(daemon.root) as client, pytest.raises(BadInput) as raised:
        client.create_run("etl", {"days": "x"})

    assert (raised.value.code, raised.value.data) == (protocol.BAD_INPUT, {"field": "days"})


def test_no_daemon_says_so_and_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunning) as raised:
        connect(tmp_path)

    assert str(raised.value) == f"no orc daemon is running for {tmp_path}; start it with `orc up`"


def test_a_dead_daemons_socket_reads_as_no_daemon(tmp_path: Path) -> None:
    path = tmp_path / ".orc" / "orc.sock"
    path.parent.mkdir()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()

    with pytest.raises(DaemonNotRunning, match="start it with `orc up`"):
        connect(tmp_path)


async def test_the_async_client_says_the_same(tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunning, match="no orc daemon is running for"):
        await AsyncClient.connect(tmp_path)


def test_a_client_of_another_protocol_version_is_told_to_match(
    daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_calls, "PROTOCOL_VERSION", protocol.PROTOCOL_VERSION + 1)

    with pytest.raises(ProtocolMismatch, match="same orc version on both sides"):
        connect(daemon.root)


def test_a_slow_answer_times_out_and_the_client_stays_usable(daemon: FakeDaemon) -> None:
    with connect(daemon.root, timeout=0.2) as client:
        with pytest.raises(DaemonTimeout, match=r"did not answer `slow` within 0\.2 s"):
            client.call("slow")
        daemon.release()  # its late reply arrives now and must be skipped

        assert client.call("echo", n=1)["params"] == {"n": 1}


async def test_the_async_client_times_out_too(daemon: FakeDaemon) -> None:
    async with await AsyncClient.connect(daemon.root, timeout=0.2) as client:
        with pytest.raises(DaemonTimeout):
            await client.call("slow")
        daemon.release()
        assert (await client.call("echo", n=2))["params"] == {"n": 2}
        assert (await client.status()).project == "demo"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("ssh://ops@box", SshAddress("ops@box")),
        ("ssh://ops@box:2222/srv/etl", SshAddress("ops@box", 2222, "/srv/etl")),
        ("ssh://box/srv/my etl", SshAddress("box", None, "/srv/my etl")),
        ("ops@box", SshAddress("ops@box")),
    ],
)
def test_ssh_hosts_parse(host: str, expected: SshAddress) -> None:
    assert parse_ssh(host) == expected


def test_the_ssh_command_quotes_the_remote_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORC_SSH", "ssh -F /etc/orc-ssh.conf")

    argv = SshAddress("ops@box", 2222, "/srv/my etl").argv()

    assert argv == [
        "ssh", "-F", "/etc/orc-ssh.conf", "-T", "-o", "BatchMode=yes", "-p", "2222", "--", "ops@box",
        "orc dial-stdio --project '/srv/my etl'",
    ]  # fmt: skip


@pytest.mark.parametrize("host", ["http://box", "ssh://", "ssh://box:notaport"])
def test_a_bad_host_says_what_it_expected(host: str) -> None:
    with pytest.raises(ClientError, match=r"expected ssh://\[user@\]server"):
        connect(host=host)


def test_importing_the_client_loads_no_event_loop_store_or_ui() -> None:
    code = (
        "import sys, json\n"
        "from orchestrate.client import Client, connect\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}

    assert not loaded & {"asyncio", "duckdb", "textual", "typer", "rich"}


def test_the_plain_client_loads_no_dataclasses_or_inspect() -> None:
    """`dataclasses` pulls in inspect, ast, dis and tokenize: ~5 ms of a quick `orc status`."""
    code = (
        "import sys, json\n"
        "from orchestrate.client.plain import PlainClient\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}

    assert not loaded & {"dataclasses", "inspect", "ast", "dis", "tokenize"}


def test_addresses_compare_hash_and_print_as_frozen_values(tmp_path: Path) -> None:
    local = LocalAddress(tmp_path)
    assert local == LocalAddress(tmp_path)
    assert local != StoreAddress(tmp_path)  # same field, another kind of address
    assert len({local, LocalAddress(tmp_path), SshAddress("ops@box")}) == 2
    assert (
        repr(SshAddress("ops@box", 22))
        == "SshAddress(destination='ops@box', port=22, project=None)"
    )
    assert str(local) == str(tmp_path)
    with pytest.raises(AttributeError, match="frozen"):
        local.root = Path("/elsewhere")  # type: ignore[misc]


def test_a_listing_item_that_does_not_fit_is_kept_and_marked_malformed(daemon: FakeDaemon) -> None:
    with connect(daemon.root) as client:
        found = client.events()

    assert [e.id for e in found] == ["e1", "e2"]
    assert found[0].malformed is None
    assert found[1].payload == {} and found[1].related == []
    assert found[1].malformed is not None
    assert "payload: Input should be a valid dictionary ([1])" in found[1].malformed
    assert "related" in found[1].malformed


def test_a_result_that_does_not_fit_is_a_client_error_naming_method_and_field(
    daemon: FakeDaemon,
) -> None:
    with connect(daemon.root) as client, pytest.raises(ClientError) as raised:
        client.deployment("etl")

    assert "`deployments.get`" in str(raised.value)
    assert "name: Input should be a valid string" in str(raised.value)
    assert "same orc version" in str(raised.value)
