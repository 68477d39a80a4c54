"""A worker's socket and pipes, read by the daemon's loop: given up on, they leave nothing behind."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from orchestrate.core.records import Record
from orchestrate.daemon import worker_pipes
from orchestrate.daemon.worker_pipes import WorkerPipes

WAIT = 10.0


async def test_a_socket_given_up_on_leaves_the_loop_free_for_the_next_worker_on_its_fd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process the flow left behind may hold the worker's socket open past its exit. The
    daemon gives up after `IO_GRACE`; the next worker's socket, on the same fd number, must
    still be read (a reader left on the old fd kept the new one from ever being watched)."""
    monkeypatch.setattr(worker_pipes, "IO_GRACE", 0.05)
    ours, held = socket.socketpair()  # `held`: the end a left-behind process keeps open
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.close(out_w)
    os.close(err_w)
    first = WorkerPipes("run-1", lambda records: None, lambda records: None)
    fd = ours.fileno()
    await first.finish(await first.open(ours, out_r, err_r))

    got: asyncio.Queue[list[Record]] = asyncio.Queue()
    again, worker = socket.socketpair()
    if again.fileno() != fd:  # the lowest free fd is taken first; see that the case arises
        again_fd = os.dup2(again.fileno(), fd)
        again.close()
        again = socket.socket(fileno=again_fd)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    second = WorkerPipes("run-2", got.put_nowait, lambda records: None)
    pumps = await second.open(again, out_r, err_r)
    try:
        worker.sendall(b"not a records line\n")
        records = await asyncio.wait_for(got.get(), WAIT)
        assert "not a records notification" in str(records[0])
    finally:
        worker.close()
        os.close(out_w)
        os.close(err_w)
        await second.finish(pumps)
        held.close()
