"""The worker's end of its channel hears a `resume` notice while the run waits in a pause,
whether it arrives alone, in pieces, or after a `stop` notice was looked for."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator

import pytest

from orchestrate.recording.stream import StreamSink
from orchestrate.worker.channel import RESUME, STOP, Channel, notification


@pytest.fixture
def pair() -> Iterator[tuple[Channel, socket.socket]]:
    worker_end, daemon_end = socket.socketpair()
    channel = Channel(worker_end)
    sink = StreamSink(
        io.BytesIO(), wake=channel.wake
    )  # its thread reads the channel, as a worker's
    channel.watch_for_hangup(lambda: None)
    yield channel, daemon_end
    sink.close()
    daemon_end.close()
    channel.close()


def test_a_resume_notice_wakes_the_pause_with_its_input(
    pair: tuple[Channel, socket.socket],
) -> None:
    channel, daemon_end = pair
    woke: list[object] = []
    waiting = threading.Thread(target=lambda: woke.append(channel.wait_for_resume("1", 10)))
    waiting.start()
    daemon_end.sendall(notification(RESUME, {"key": "1", "run_input": {"ok": True}}))
    waiting.join(10)
    assert woke == [{"key": "1", "run_input": {"ok": True}}]


def test_a_notice_in_pieces_and_for_another_pause_are_told_apart(
    pair: tuple[Channel, socket.socket],
) -> None:
    channel, daemon_end = pair
    line = notification(RESUME, {"key": "2", "run_input": None})
    daemon_end.sendall(notification(RESUME, {"key": "1", "run_input": 5}) + line[:10])
    assert channel.wait_for_resume("1", 10) == {"key": "1", "run_input": 5}
    assert channel.wait_for_resume("2", 0.05) is None  # half a line is no notice yet
    daemon_end.sendall(line[10:])
    assert channel.wait_for_resume("2", 10) == {"key": "2", "run_input": None}


def test_a_stop_notice_is_still_found_after_resumes(pair: tuple[Channel, socket.socket]) -> None:
    channel, daemon_end = pair
    daemon_end.sendall(notification(RESUME, {"key": "1"}))
    assert channel.wait_for_resume("1", 10) is not None
    daemon_end.sendall(notification(STOP, {"state": "Cancelled", "message": "by request"}))
    # sent is in the socket or already in the watch's buffer: either way it is found
    assert channel.stop_reason() == ("Cancelled", "by request")


def test_without_a_notice_the_wait_ends_at_its_timeout(
    pair: tuple[Channel, socket.socket],
) -> None:
    channel, _ = pair
    assert channel.wait_for_resume("1", 0.05) is None
