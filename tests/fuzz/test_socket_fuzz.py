"""Fuzzing a real daemon's socket: every frame ends in a JSON-RPC reply or is dropped.

Short by default (a few hundred frames, a fixed seed, part of the suite). The
long form is one command:

    ORC_FUZZ_LONG=1 .venv/bin/pytest tests/fuzz/test_socket_fuzz.py

`ORC_FUZZ_INPUTS` and `ORC_FUZZ_SEED` override the count and the seed; the
figures go to `ORC_FUZZ_RESULT` (default: orc-fuzz/socket.json in the temp
folder): inputs by kind, replies by code, internal errors, tracebacks, hangs,
and whether the daemon still answered afterwards.
"""

from __future__ import annotations

import json
import os
import random
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrate.client import protocol
from tests.daemon.conftest import FLOWS, Project, with_suppress
from tests.fuzz.socket_frames import VALID, Frame, Frames

LONG = os.environ.get("ORC_FUZZ_LONG") == "1"
INPUTS = int(os.environ.get("ORC_FUZZ_INPUTS") or (50_000 if LONG else 500))
SEED = int(os.environ.get("ORC_FUZZ_SEED") or (random.randrange(2**32) if LONG else 13))
RESULT = Path(
    os.environ.get("ORC_FUZZ_RESULT") or Path(tempfile.gettempdir()) / "orc-fuzz" / "socket.json"
)
REPLY_WAIT = 30.0  # seconds a reply may take before the daemon counts as not answering
TRACEBACK = "Traceback (most recent call last)"

FLOWS_TOML = """
    [project]
    name = "fuzz"

    [[deployments]]
    name = "tiny"
    entrypoint = "flows.py:tiny"

    [[automations]]
    name = "watch"
    trigger = { event = "never.happens" }
    actions = [{ type = "emit-event", event = "fuzz.seen", resource = { "orc.resource.id" = "fuzz" } }]
"""


class Hang(Exception):
    """The daemon did not answer within REPLY_WAIT."""


class Session:
    """A raw connection that sends a frame, then a `status` ping, and reads up to the ping's reply."""

    def __init__(self, path: Path, handshake: bool) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(REPLY_WAIT)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")
        self.pings = 0
        if handshake:
            self.exchange(
                json.dumps({"jsonrpc": "2.0", "id": "hello", "method": "hello",
                            "params": VALID["hello"]}).encode() + b"\n"
            )  # fmt: skip

    def exchange(self, data: bytes) -> list[bytes] | None:
        """Send `data` and a ping; the lines that came back, or None if the daemon hung up."""
        self.pings += 1
        ping = f"ping-{self.pings}"
        message = {"jsonrpc": "2.0", "id": ping, "method": "status", "params": {}}
        try:
            self.sock.sendall(data + json.dumps(message).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            return None
        return self._until(ping)

    def _until(self, ping: str) -> list[bytes] | None:
        lines: list[bytes] = []
        while True:
            try:
                line = self.reader.readline()
            except TimeoutError as error:
                raise Hang(f"no reply to {ping} within {REPLY_WAIT} s") from error
            except ConnectionResetError:
                return None
            if not line:
                return None
            lines.append(line)
            if b'"id":"' + ping.encode() + b'"' in line.replace(b" ", b""):
                return lines

    def close(self) -> None:
        with_suppress(self.reader.close)
        with_suppress(self.sock.close)


@dataclass
class Tally:
    """What a fuzz run saw; written as the result file."""

    seed: int
    sent: dict[Any, str] = field(default_factory=dict)  # request id -> kind of frame
    inputs: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    internal_errors: list[str] = field(default_factory=list)
    tracebacks_in_replies: list[str] = field(default_factory=list)
    unreadable_replies: list[str] = field(default_factory=list)
    connections_dropped: int = 0
    hangs: list[str] = field(default_factory=list)

    def reply(self, line: bytes) -> None:
        """Count one line from the daemon; replies are matched to their frame by request id."""
        try:
            message = json.loads(line)
        except ValueError:
            self.unreadable_replies.append(repr(line[:200]))
            return
        for one in message if isinstance(message, list) else [message]:
            self._one(one, line)

    def _one(self, message: Any, line: bytes) -> None:
        request_id = message.get("id") if isinstance(message, dict) else None
        kind = self.sent.get(request_id, "?") if isinstance(request_id, int) else "?"
        error = message.get("error") if isinstance(message, dict) else None
        if isinstance(error, dict):
            self.replies[f"error {error.get('code')}"] += 1
            if error.get("code") == protocol.INTERNAL_ERROR:
                self.internal_errors.append(f"{kind}: {error.get('message')}")
        elif isinstance(message, dict) and message.get("method") == "notify":
            self.replies["notify"] += 1
        else:
            self.replies["result"] += 1
        if TRACEBACK.encode() in line:
            self.tracebacks_in_replies.append(f"{kind}: {line[:300]!r}")


def fuzz(project: Project, frames: Frames, count: int, tally: Tally) -> None:
    """Send `count` frames, a few hundred per connection, checking every line that comes back."""
    session: Session | None = None
    try:
        for number in range(count):
            frame = frames.next()
            tally.inputs[frame.kind.split(":")[0]] += 1
            tally.sent[frame.request_id] = frame.kind
            if frame.kind == "cut-connection":
                _cut(project, frame)
                continue
            if session is None or number % 200 == 0:
                if session is not None:
                    session.close()
                session = Session(project.root / ".orc" / "orc.sock", frames.random.random() < 0.9)
            try:
                lines = session.exchange(frame.data)
            except Hang as hang:
                tally.hangs.append(f"{frame.kind}: {hang}")
                session.close()
                session = None
                continue
            for line in lines or []:
                tally.reply(line)
            if lines is None:
                tally.connections_dropped += 1
                session.close()
                session = None
    finally:
        if session is not None:
            session.close()


def _cut(project: Project, frame: Frame) -> None:
    """A client that sends part of a frame and vanishes."""
    session = Session(project.root / ".orc" / "orc.sock", handshake=True)
    with_suppress(lambda: session.sock.sendall(frame.data))
    session.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Project]:
    project = Project(tmp_path)
    project.write("flows.py", FLOWS)
    project.write("flows.toml", FLOWS_TOML)
    project.up()
    yield project
    for proc in project.processes:
        if proc.poll() is None:
            project.stop(proc)


@pytest.mark.timeout(7200 if LONG else 120)
def test_no_frame_gets_a_traceback_or_stops_the_daemon_answering(live: Project) -> None:
    tally = Tally(SEED)
    started = time.monotonic()

    fuzz(live, Frames(SEED), INPUTS, tally)

    with live.client() as client:
        answers_status = client.status().project == "fuzz"
    status = live.orc("status")
    daemon_log = live.daemon_log()
    _write_result(tally, time.monotonic() - started, answers_status and status.returncode == 0,
                  daemon_log.count(TRACEBACK))  # fmt: skip
    assert sum(tally.inputs.values()) == INPUTS
    assert tally.internal_errors == []
    assert tally.tracebacks_in_replies == []
    assert tally.unreadable_replies == []
    assert tally.hangs == []
    assert answers_status
    assert status.returncode == 0, status.stderr
    assert TRACEBACK not in daemon_log, daemon_log[daemon_log.index(TRACEBACK) - 300 :][:3000]
    assert tally.replies[f"error {protocol.INVALID_PARAMS}"] > INPUTS // 10


def _write_result(tally: Tally, seconds: float, answering: bool, log_tracebacks: int) -> None:
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "fuzzer": "socket", "seed": tally.seed, "inputs": sum(tally.inputs.values()),
        "inputs_by_kind": dict(sorted(tally.inputs.items())),
        "replies_by_kind": dict(sorted(tally.replies.items())),
        "internal_errors": len(tally.internal_errors),
        "tracebacks_in_replies": len(tally.tracebacks_in_replies),
        "tracebacks_in_daemon_log": log_tracebacks,
        "unreadable_replies": len(tally.unreadable_replies), "hangs": len(tally.hangs),
        "connections_dropped": tally.connections_dropped,
        "daemon_still_answering": answering, "seconds": round(seconds, 1),
        "examples": (tally.internal_errors + tally.tracebacks_in_replies + tally.hangs)[:20],
    }  # fmt: skip
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
