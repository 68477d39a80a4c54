"""Backpressure while the store is degraded: when the daemon stops reading its workers, and
that what they sent meanwhile still arrives, once, when it reads again or when they end."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import pytest

from orchestrate.core.record_codec import encode_records
from orchestrate.core.records import LogRecord, Record
from orchestrate.daemon.read_pause import PAUSE_AT, PAUSE_BYTES, Pressure, ReadPause, should_pause
from orchestrate.daemon.worker_pipes import WorkerPipes

# -- the decision ---------------------------------------------------------------------------


def test_a_working_store_never_pauses_whatever_waits() -> None:
    assert not should_pause(Pressure(False, PAUSE_AT * 10, PAUSE_BYTES * 10), None)
    assert not should_pause(Pressure(False, PAUSE_AT * 10, 0), paused_with=PAUSE_AT)


def test_a_degraded_store_pauses_past_its_count_or_its_bytes_and_not_before() -> None:
    assert not should_pause(Pressure(True, PAUSE_AT - 1, PAUSE_BYTES - 1), None)
    assert should_pause(Pressure(True, PAUSE_AT, 0), None)
    assert should_pause(Pressure(True, 10, PAUSE_BYTES), None)  # a few very long lines


def test_a_pause_lasts_until_half_of_what_waited_is_written() -> None:
    """No flapping at the bound, nor after a pause for bytes with few records waiting."""
    assert should_pause(Pressure(True, PAUSE_AT, 0), paused_with=PAUSE_AT)
    assert should_pause(Pressure(True, 20, 0), paused_with=30)
    assert not should_pause(Pressure(True, PAUSE_AT // 2, 0), paused_with=PAUSE_AT)


# -- the pause over its workers --------------------------------------------------------------


class Worker:
    """A stand-in for a worker's channels: whether they are read now."""

    def __init__(self) -> None:
        self.read = True

    def hold(self) -> None:
        self.read = False

    def release(self) -> None:
        self.read = True


def _pause(waiting: list[int]) -> ReadPause:
    return ReadPause(lambda: waiting[0])


def test_workers_stop_being_read_past_the_bound_and_go_on_when_the_store_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waiting = [10]
    pause = _pause(waiting)
    first, second = Worker(), Worker()
    pause.join(first)
    pause.join(second)
    pause.store_changed(degraded=True)
    assert (first.read, second.read, pause.report()) == (True, True, None)
    waiting[0] = PAUSE_AT
    pause.took(100)
    assert (first.read, second.read) == (False, False)
    assert (report := pause.report()) and report.startswith("2 worker(s) waiting for the store")
    late = Worker()
    pause.join(late)  # started while paused (its journal could still be written)
    assert not late.read
    pause.store_changed(degraded=False)
    assert (first.read, second.read, late.read, pause.report()) == (True, True, True, None)
    said = [r.getMessage() for r in caplog.records if r.name == "orc.daemon"]
    assert len([m for m in said if "no longer read" in m]) == 1, said
    assert len([m for m in said if "read again" in m]) == 1, said


def test_bytes_read_while_degraded_pause_even_with_few_records_waiting() -> None:
    pause = _pause([5])
    worker = Worker()
    pause.join(worker)
    pause.store_changed(degraded=True)
    pause.took(PAUSE_BYTES - 1)
    assert worker.read
    pause.took(1)
    assert not worker.read


def test_a_worker_that_stops_or_exits_is_read_to_its_end_during_a_pause() -> None:
    pause = _pause([PAUSE_AT])
    ending, running = Worker(), Worker()
    pause.join(ending)
    pause.join(running)
    pause.store_changed(degraded=True)
    assert not ending.read and not running.read
    pause.leave(ending)
    assert ending.read and not running.read
    assert (report := pause.report()) and report.startswith("1 worker(s)")


# -- real sockets and pipes ------------------------------------------------------------------


def _records_line(messages: list[str]) -> bytes:
    records = [LogRecord("run-1", None, 1.0, 20, "flow", m) for m in messages]
    body = {"jsonrpc": "2.0", "method": "records", "params": {"records": encode_records(records)}}
    return json.dumps(body).encode() + b"\n"


class Far:
    """The worker's ends of a socket and two pipes, written without blocking."""

    def __init__(self) -> None:
        self.ours, self.sock = socket.socketpair()
        self.out_r, self.out = os.pipe()
        self.err_r, self.err = os.pipe()
        self.sock.setblocking(False)
        os.set_blocking(self.out, False)
        self.rest = b""

    def fill_socket(self, line: bytes) -> int:
        """Send `line` until the socket takes no more; how many lines were begun (the rest of
        the last one is in `rest`, for once the socket is read again)."""
        begun = 0
        while True:
            try:
                sent = self.sock.send(line)
            except BlockingIOError:
                return begun
            begun += 1
            if sent < len(line):
                self.rest = line[sent:]
                return begun

    def finish_line(self) -> None:
        self.sock.setblocking(True)
        self.sock.sendall(self.rest)

    def close(self) -> None:
        self.sock.close()
        for fd in (self.out, self.err):
            os.close(fd)


async def _open(far: Far, pause: ReadPause, got: list[Record]) -> tuple[WorkerPipes, list]:
    pipes = WorkerPipes("run-1", got.extend, got.extend, pause)
    return pipes, await pipes.open(far.ours, far.out_r, far.err_r)


async def _turns(count: int = 20) -> None:
    """Let the loop poll its readers `count` times (each turn reads what a reader is set for)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_paused_worker_blocks_on_its_writes_and_everything_arrives_once_on_resume() -> None:
    pause = ReadPause(lambda: PAUSE_AT)
    far, got = Far(), []
    pipes, pumps = await _open(far, pause, got)
    pause.store_changed(degraded=True)
    assert pause.paused
    line = _records_line([f"line {i}" for i in range(50)])
    begun = far.fill_socket(line)
    os.write(far.out, b"printed while paused\n")
    await _turns()
    assert got == []
    pause.store_changed(degraded=False)
    await asyncio.get_running_loop().run_in_executor(None, far.finish_line)
    far.close()
    await pipes.finish(pumps)
    messages = [r.message for r in got if isinstance(r, LogRecord)]
    assert messages.count("printed while paused") == 1
    lines = [m for m in messages if m.startswith("line ")]
    assert begun > 10 and lines == [f"line {i}" for i in range(50)] * begun


async def test_a_worker_that_exits_while_paused_is_read_to_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its last records (its final state) are in its socket: the pause must not leave them
    unread past `IO_GRACE`, nor the run be taken for crashed."""
    monkeypatch.setattr("orchestrate.daemon.worker_pipes.IO_GRACE", 0.5)
    pause = ReadPause(lambda: PAUSE_AT)
    far, got = Far(), []
    pipes, pumps = await _open(far, pause, got)
    pause.store_changed(degraded=True)
    far.sock.sendall(_records_line(["the last line"]))
    os.write(far.out, b"the last print\n")
    far.close()  # the worker exited
    await pipes.finish(pumps)
    messages = [r.message for r in got if isinstance(r, LogRecord)]
    assert messages.count("the last line") == 1 and messages.count("the last print") == 1
    assert pause.paused  # the others stay held


def test_a_pause_and_its_end_are_told_to_whoever_shows_the_status() -> None:
    """Nothing else announces them (no event): the dashboard hears through a status push."""
    waiting, told = [PAUSE_AT], list[bool]()
    pause = _pause(waiting)
    pause.on_change = lambda: told.append(pause.paused)
    pause.join(Worker())
    pause.store_changed(degraded=True)
    pause.took(1)  # already past the bound: paused once, told once
    pause.store_changed(degraded=False)
    assert told == [True, False]
