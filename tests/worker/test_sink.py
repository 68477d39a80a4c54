"""The stream sink ships every record as `records` notifications, batched, and loses none at close."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import traceback
from typing import Any

from orchestrate.core.record_codec import decode_records
from orchestrate.core.records import LogRecord, StateRecord
from orchestrate.recording.stream import StreamSink
from orchestrate.states import Completed, Running


class Pipe:
    """A real OS pipe; the read end is drained by a thread into `lines`."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.writer = os.fdopen(write, "wb")
        self.lines: list[dict[str, Any]] = []
        self._reader = threading.Thread(
            target=self._read, args=(os.fdopen(read, "rb"),), daemon=True
        )
        self._reader.start()

    def _read(self, stream: Any) -> None:
        with stream:
            for line in stream:
                self.lines.append(json.loads(line))

    def closed_lines(self) -> list[dict[str, Any]]:
        """Every line, once the writer's end is closed."""
        self._reader.join(10)
        return self.lines

    def records(self) -> list[Any]:
        return [
            r for line in self.closed_lines() for r in decode_records(line["params"]["records"])
        ]


def log(i: int) -> LogRecord:
    return LogRecord("f1", None, float(i), 20, "orc.flow_runs", f"line {i}")


def test_every_record_arrives_in_order_as_records_notifications() -> None:
    pipe = Pipe()
    sink = StreamSink(pipe.writer)
    for i in range(5000):
        sink.put(log(i))
    sink.close()
    lines = pipe.closed_lines()
    assert all(line["jsonrpc"] == "2.0" and line["method"] == "records" for line in lines)
    assert [r.message for r in pipe.records()] == [f"line {i}" for i in range(5000)]
    assert max(len(line["params"]["records"]) for line in lines) <= 2000


def test_flush_sends_at_once_what_was_put_without_waiting_for_the_batch_interval() -> None:
    read, write = os.pipe()
    sink = StreamSink(os.fdopen(write, "wb"), interval=60.0)
    sink.put(log(1))
    sink.put(log(2))
    assert sink.flush(5)
    sent = os.read(read, 1 << 20).splitlines()
    records = [r for line in sent for r in decode_records(json.loads(line)["params"]["records"])]
    assert [r.message for r in records] == ["line 1", "line 2"]
    sink.close()
    os.close(read)


def test_a_snapshot_put_again_in_one_batch_is_sent_once_at_its_last_place(build: Any) -> None:
    pipe = Pipe()
    sink = StreamSink(pipe.writer, interval=10.0)
    run = build.flow_run("f1", Running())
    sink.put(StateRecord("f1", "f1", False, run.state))
    sink.put(run)
    run.state = Completed()
    sink.put(StateRecord("f1", "f1", False, run.state))
    sink.put(run)
    sink.close()
    kinds = [type(r).__name__ for r in pipe.records()]
    assert kinds == ["StateRecord", "StateRecord", "FlowRunRecord"]
    assert pipe.records()[-1].state.name == "Completed"


def test_a_closed_reader_never_hangs_the_run() -> None:
    read, write = os.pipe()
    os.close(read)
    sink = StreamSink(os.fdopen(write, "wb"))
    sink.put(log(1))
    assert sink.flush(5) is False
    sink.put(log(2))
    sink.close(timeout=5)
    assert isinstance(sink.broken, BrokenPipeError)


class Unread:
    """A socket whose far end is read only once `read_from_now` is called, into `lines`."""

    def __init__(self) -> None:
        self.ours, self.far = socket.socketpair()
        self.lines: list[bytes] = []
        self._go = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def read_from_now(self) -> None:
        self._go.set()

    def _read(self) -> None:
        self._go.wait()
        with self.far, self.far.makefile("rb") as stream:
            self.lines.extend(stream)

    def records(self) -> list[Any]:
        """What the far end read, once the sink is closed: our end closes, so its read ends."""
        self.ours.close()
        self._reader.join(30)
        assert not self._reader.is_alive(), "the far end never read to its end"
        return [
            r for line in self.lines for r in decode_records(json.loads(line)["params"]["records"])
        ]


def _stack_of(thread: threading.Thread) -> list[str]:
    frame = sys._current_frames().get(thread.ident or 0)
    return [f.f_code.co_name for f, _ in traceback.walk_stack(frame)] if frame else []


def test_a_sink_whose_socket_is_not_read_stalls_its_flow_instead_of_queueing_without_bound() -> (
    None
):
    """While its daemon does not read (its store cannot be written), a worker's flow waits in
    `put`: the queue stays near `PACE_AT` however much the flow would record."""
    unread = Unread()
    sink = StreamSink(unread.ours.makefile("wb"), pace_at=2_000)
    count = 100_000
    flow = threading.Thread(target=lambda: [sink.put(log(i)) for i in range(count)])
    flow.start()
    deadline = time.monotonic() + 30
    while "_keep_pace" not in _stack_of(flow):  # a condition: the flow waits in a paced put
        assert flow.is_alive(), "the flow put everything: nothing held it back"
        assert time.monotonic() < deadline, "the flow never waited in a paced put"
        time.sleep(0.01)
    assert len(sink._queue) < 2_000 + 10
    unread.read_from_now()
    flow.join(60)
    sink.close()
    assert [r.message for r in unread.records()] == [f"line {i}" for i in range(count)]
