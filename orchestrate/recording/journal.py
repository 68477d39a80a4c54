"""A flow run attempt's journal: what its worker recorded, on disk before anyone else hears it.

The daemon creates the journal (one header line naming the run and the
attempt) before it starts the worker, so an attempt is on disk before
anything of it runs. The worker appends every `records` line it ships,
before it ships it, and a last `exit` line. A daemon killed at any moment
loses nothing of a run: the next `orc up` reads the journal, stores what its
predecessor never stored, and knows whether the body finished, so a finished
body is never run again and every task execution keeps its row.

The lines are the channel's own (`orchestrate.worker.channel`), so one codec
reads both. A line cut short by a kill is the last one and is skipped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _text
from pathlib import Path
from typing import Any

from orchestrate.core.record_codec import decode_records, encode_records
from orchestrate.core.records import FlowRunRecord, Record, TaskRunRecord
from orchestrate.core.states import State, StateType

HEADER = "orc.journal"
EXIT = "exit"
STARTED = "started"
SUFFIX = ".journal"
#: While a run is busy, at most this long passes between two fsyncs of its journal.
SYNC_INTERVAL = 0.5


def started_line(run: TaskRunRecord) -> bytes:
    """A task run that starts its body now, in a line cheap enough for every task (~1 µs)."""
    return (
        f'{{"{STARTED}":["{run.id}","{run.flow_run_id}",{_text(run.name)},{_text(run.task_key)},'
        f'{run.dynamic_key},{run.state.ts!r},"{run.kind}",{run.run_count}]}}\n'
    ).encode()


def _started(fields: list[Any]) -> TaskRunRecord:
    run_id, flow_run_id, name, task_key, dynamic_key, ts, kind, run_count = fields
    state = State(StateType.RUNNING, "Running" if run_count <= 1 else "Retrying", timestamp=ts)
    state.run_id = run_id
    return TaskRunRecord(
        id=run_id,
        flow_run_id=flow_run_id,
        name=name,
        task_key=task_key,
        dynamic_key=int(dynamic_key),
        state=state,
        created=ts,
        kind=kind,
        start_time=ts,
        run_count=int(run_count),
    )


def journal_path(folder: Path, flow_run_id: str, attempt: int) -> Path:
    return folder / f"{flow_run_id}.{attempt}{SUFFIX}"


def create(path: Path, run: FlowRunRecord, slot: tuple[str, str, float] | None = None) -> None:
    """Write the header of a new attempt's journal (fails if it exists).

    The header holds the run itself (and its schedule slot), so a run whose rows
    never reached the store is still known, with its slot, after a kill. Once
    written it survives a kill of any process; the worker's fsyncs (while its run
    is busy) make it survive a crash of the machine too. An fsync here would cost
    every dispatch ~4 ms on the daemon's loop.
    """
    header = header_line(run, slot)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    try:
        if os.write(fd, header) < len(header):  # a full disk may take part of it
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)  # no half journal: this attempt never began
        raise
    os.close(fd)


def header_line(run: FlowRunRecord, slot: tuple[str, str, float] | None = None) -> bytes:
    """The first line of a new attempt's journal (see `create`)."""
    header = {
        HEADER: 1,
        "flow_run_id": run.id,
        "attempt": run.run_count,
        "dispatched": time.time(),
        "run": encode_records([run])[0],
        "slot": list(slot) if slot else None,
    }
    return json.dumps(header, default=str).encode() + b"\n"


class JournalWriter:
    """The worker's end: append lines; while a run is busy, fsync every `SYNC_INTERVAL`.

    A write is in the kernel at once, so it survives a kill of any process;
    the fsyncs bound what a crash of the machine could take.

    A write that fails (a full disk) is reported once on stderr and the run
    goes on: the records still reach the daemon over the channel.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._synced = time.monotonic()
        self.failed: OSError | None = None

    def write(self, line: bytes, sync: bool = True) -> None:
        """Append one line (safe from several threads: O_APPEND writes do not interleave);
        `sync=False` never waits for the disk (a task thread's write)."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, line)
            if sync and time.monotonic() - self._synced >= SYNC_INTERVAL:
                self.sync()
        except OSError as exc:
            self._fail(exc)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            self._synced = time.monotonic()

    def exit(self, code: int) -> None:
        """The last line: the worker's exit code (see `orchestrate.worker.__main__`)."""
        self.write(json.dumps({EXIT: code}).encode() + b"\n")

    def close(self, sync: bool = True) -> None:
        """Close the file; `sync=False` where the daemon has had every record already (it
        stores them within a flush), so the fsync would only delay the worker's exit."""
        if self._fd is None:
            return
        try:
            if sync:
                self.sync()
        except OSError as exc:
            self._fail(exc)
        finally:
            os.close(self._fd)
            self._fd = None

    def _fail(self, exc: OSError) -> None:
        import sys

        if self.failed is None:
            self.failed = exc
            print(f"orc: the run's journal {self.path} cannot be written ({exc})", file=sys.stderr)


@dataclass
class Journal:
    """One attempt's journal as read back: its records in order, and how the worker ended."""

    flow_run_id: str
    attempt: int
    dispatched: float
    #: the run as the daemon dispatched it, and its schedule slot (key, schedule id, time)
    run: FlowRunRecord | None = None
    slot: tuple[str, str, float] | None = None
    records: list[Record] = field(default_factory=list)
    #: the worker's exit code, if it got as far as writing it
    exit_code: int | None = None
    #: lines that could not be read (a torn last line, or damage)
    unreadable: int = 0


def read(path: Path) -> Journal | None:
    """The journal at `path`; None if it has no readable header."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return None
    header = _parse(lines[0]) if lines else None
    if header is None or header.get(HEADER) != 1:
        return None
    try:
        journal = Journal(
            str(header["flow_run_id"]), int(header["attempt"]), float(header["dispatched"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
        run = decode_records([header["run"]])[0]
        journal.run = run if isinstance(run, FlowRunRecord) else None
    slot = header.get("slot")
    if isinstance(slot, list) and len(slot) == 3:
        journal.slot = (str(slot[0]), str(slot[1]), float(slot[2]))
    for line in lines[1:]:
        if not line.strip():
            continue
        message = _parse(line)
        try:
            if message is None:
                raise ValueError("not a JSON object")
            if STARTED in message:
                journal.records.append(_started(message[STARTED]))
            elif EXIT in message:
                journal.exit_code = int(message[EXIT])
            else:
                journal.records.extend(decode_records(message["params"]["records"]))
        except (KeyError, TypeError, ValueError):
            journal.unreadable += 1
    return journal


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


__all__ = ["EXIT", "HEADER", "Journal", "JournalWriter", "create", "journal_path", "read"]
