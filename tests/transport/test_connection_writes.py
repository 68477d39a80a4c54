"""How a connection's lines reach the socket: pushes a few loop turns apart share one write,
a reply goes at the end of its turn and takes the pushes waiting before it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest

from orchestrate.daemon import rpc_connection
from orchestrate.daemon.rpc_connection import Connection

from .conftest import WAIT

#: Long enough that nothing pushed goes out by the interval while a test looks.
HELD = 30.0


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Connection, socket.socket]]:
    ours, theirs = socket.socketpair()
    _, writer = await asyncio.open_unix_connection(sock=ours)
    theirs.settimeout(WAIT)
    yield Connection(1, writer, backlog_limit=1 << 20), theirs
    writer.close()
    theirs.close()


def _unread(client: socket.socket) -> bytes:
    """What the daemon has written and the client has not read yet (without waiting)."""
    client.settimeout(0)
    try:
        return client.recv(1 << 16)
    except BlockingIOError:
        return b""
    finally:
        client.settimeout(WAIT)


async def _turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_pushes_loop_turns_apart_wait_to_share_one_write(
    pair: tuple[Connection, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rpc_connection, "PUSH_EVERY", HELD)
    connection, client = pair
    for n in range(3):
        connection.notify("flow_run", {"n": n})
        await _turns()  # the next change comes a few turns of the loop later
        assert _unread(client) == b"", "a push went out in a write of its own"
    connection.send(b'{"jsonrpc":"2.0","id":7,"result":{}}\n')
    await _turns()
    lines = _unread(client).splitlines()
    assert [json.loads(line)["params"]["n"] for line in lines[:3]] == [0, 1, 2]
    assert json.loads(lines[3])["id"] == 7


async def test_a_push_alone_goes_out_after_the_interval(
    pair: tuple[Connection, socket.socket],
) -> None:
    connection, client = pair
    connection.notify("flow_run", {"n": 1})
    line = await asyncio.to_thread(client.recv, 1 << 16)
    assert json.loads(line)["params"] == {"n": 1}
